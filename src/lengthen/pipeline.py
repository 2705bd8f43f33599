"""Orchestration: plan -> decode -> identify -> generate -> rerank -> seam -> encode.

The CLI (``extend``, ``timeline``, ``demo``), the panel and any farm executor call the same two
functions: :func:`render_shot` for one :class:`~lengthen.shots.ShotSpec` and :func:`render_shots`
for many (one failed shot is recorded and the others go on). Everything here works on plain
values; engines only see context frames, banks and settings.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import __version__
from .config import DEFAULT_CONTEXT_FRAMES, ExtendRequest
from .engines.base import GenerateRequest, engine_limits, get_engine
from .errors import Cancelled, EngineError, LengthenError, MediaError, MissingDependency, UsageError, from_os_error
from .executor import Executor, ShotJob
from .fsutil import makedirs
from .metrics import source_motion
from .progress import SilentProgress
from .shots import GeneratedMedia, ShotOutcome, ShotSpec  # noqa: F401 (the outcome values, re-exported)
from .timecode import offset_timecode


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str):
        timer = self

        class _Ctx:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                timer.seconds[stage] = round(timer.seconds.get(stage, 0.0) + time.perf_counter() - self.t, 3)

        return _Ctx()


def _safe_name(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:48] or "clip"


def _face_backend(request: ExtendRequest):
    from .faces.backends.registry import get_backend

    return get_backend(request.face_backend)


def identity_banks(spec: ShotSpec, request: ExtendRequest, backend, progress, detections: dict | None = None) -> list:
    """The banks for a shot: loaded from ``banks_dir``, or scanned from the shot itself; then
    reference photos given by hand are added to the character of that name (or a new one).
    ``detections`` (a dict) receives the scan's faces per (media, frame), for reuse."""
    from .faces.bank import load_banks
    from .faces.scan import ScanSettings, add_reference_photo, scan_shot

    banks: list = []
    if request.banks_dir is not None:
        banks = list(load_banks(request.banks_dir))
    elif request.scan_faces:
        result = scan_shot(
            spec.media,
            spec.first,
            spec.last,
            ScanSettings(backend=request.face_backend),
            backend=backend,
            progress=progress,
        )
        banks = list(result.banks)
        if detections is not None:
            detections.update(result.detections)
    for name, photo in request.refs:
        banks = add_reference_photo(banks, name, photo, backend)
    return banks


def _read_context(spec: ShotSpec, direction: str, frames: int, progress) -> tuple[np.ndarray, int]:
    from .media.cuts import trim_to_last_shot
    from .media.reader import read_frames

    first, last = spec.context_range(direction, frames)
    context = read_frames(spec.media, first, last - first + 1, progress=progress)
    context, dropped = trim_to_last_shot(context, direction)
    return context, dropped


@dataclass
class Candidate:
    """One best-of-N sample of a direction, with what the reranker reads."""

    seed: int
    frames: np.ndarray  # uint8 (N, H, W, 3), seam colour-matched
    info: dict  # the engine's GenerateResult.info
    scores: dict  # identity per character (rerank.identity_scores)
    figures: dict  # seam_jump, motion_energy, ...
    score: float  # what the best is chosen by
    correction: list  # the seam colour correction applied


def _candidate(engine, req: GenerateRequest, backend, banks, timer, progress, clip: str, motion=None) -> Candidate:
    """Generate one candidate (its sampling seed is ``req.seed``), match its seam and score it
    (``motion``: the source's median frame change, measured once for all candidates)."""
    from .engines.rerank import candidate_score, identity_scores
    from .media.color import match_seam
    from .metrics import seam_and_motion

    context, n = req.context, req.frames
    with timer("generate"):
        result = engine.generate(req, progress)
    frames = result.frames
    if frames.shape != (n,) + context.shape[1:] or frames.dtype != np.uint8:
        raise LengthenError(
            f"engine {engine.name!r} returned {frames.dtype} {frames.shape}, expected {(n,) + context.shape[1:]}",
            clip=clip,
        )
    with timer("seam"):
        edge = context[-1] if req.direction == "tail" else context[0]
        frames, correction = match_seam(frames, edge, req.direction)
        figures = seam_and_motion(context, frames, req.direction, motion)
    scores = {}
    if backend is not None and banks:
        found = result.faces  # faces the engine already found in its frames: not looked for again
        if found is not None and (found.backend_name != backend.name or len(found.frames) != n):
            found = None
        with timer("score"):
            faces = found.recolored(frames) if found is not None else None
            scores = identity_scores(frames, banks, backend, faces=faces, progress=progress)
    score = candidate_score(scores, figures["seam_jump"])
    return Candidate(req.seed, frames, result.info, scores, figures, score, correction.tolist())


def _check_shot(spec: ShotSpec, request: ExtendRequest):
    """``(media info, engine, limits, context frames wanted)``, after every check that can be made
    before work: the media's format and rate, the shot's range, what the engine can make."""
    from .media.probe import probe
    from .media.writer import check_format

    info = probe(spec.media)
    if info.vfr_refusal:
        raise MediaError(vfr_refusal_line(info), path=spec.media, clip=spec.clip)
    check_format(request.codec, info.width, info.height, spec.media)
    if info.rate != spec.rate:
        raise UsageError(
            f"clip rate {spec.rate} does not match its media's rate {info.fps}", clip=spec.clip, path=spec.media
        )
    if spec.last >= info.frames:
        raise MediaError(
            f"shot ends at frame {spec.last} but the media has {info.frames} frames",
            path=spec.media,
            clip=spec.clip,
            frame=spec.last,
        )
    engine = get_engine(request.engine, request.settings)
    limits = engine_limits(engine, spec.rate, DEFAULT_CONTEXT_FRAMES)  # clip-rate frames
    if spec.length < limits.min_context:
        raise UsageError(
            f"the shot has {spec.length} frames; engine {engine.name!r} needs at least {limits.min_context}",
            clip=spec.clip,
        )
    for direction in spec.directions:  # before any work (decoding included): what the engine cannot make
        if direction not in limits.directions:
            raise UsageError(limits.refusal or f"engine {engine.name!r} cannot make a {direction}", clip=spec.clip)
        need = limits.min_context_for(direction)
        if spec.length < need:
            raise UsageError(
                f"the shot has {spec.length} frames; engine {engine.name!r} needs at least {need} for a {direction}",
                clip=spec.clip,
            )
        n = spec.frames_for(direction)
        if limits.max_frames is not None and n > limits.max_frames:
            raise UsageError(
                f"{n} {direction} frames asked; engine {engine.name!r} makes at most {limits.max_frames}",
                clip=spec.clip,
            )
    need = max((limits.min_context_for(d) for d in spec.directions), default=limits.min_context)
    want_context = max(need, request.context_frames or limits.context)
    return info, engine, limits, want_context


def _context_faces(spec: ShotSpec, direction: str, context, dropped: int, want_context: int, banks, backend, scanned):
    """``(FrameFaces, source identity scores)``: the context's faces, found once. The source scores
    here, the engine's face supervision and rigid faces (``GenerateRequest.context_faces``) read the
    same detections; frames the shot scan already looked at (``scanned``) are not looked at again."""
    from .engines.rerank import identity_scores, scoring_settings
    from .faces.detections import FrameFaces

    settings = scoring_settings(banks)
    first = spec.context_range(direction, want_context)[0] + (dropped if direction == "tail" else 0)
    media = os.path.abspath(spec.media)
    known = {  # context frames the shot scan already looked at: their faces
        k: [f for f in scanned[(media, first + k)] if f.height >= settings.min_face_px]
        for k in range(len(context))
        if (media, first + k) in scanned
    }
    context_faces = FrameFaces(context, backend, settings, known=known)
    edge = len(context) - 1 if direction == "tail" else 0
    picks = range(edge, -1, -8) if direction == "tail" else range(0, len(context), 8)
    picks = sorted({*picks, *known})  # frames the scan looked at are scored for free
    return context_faces, identity_scores(context, banks, backend, faces=context_faces, picks=picks)


def _direction_report(n, path, start_tc, context, dropped, context_faces, source_scores, best, candidates) -> dict:
    """What report.json says about one generated direction."""
    from .timeline.metadata import jsonable

    return {
        "frames_generated": n,
        "media": str(path),
        "timecode": start_tc,
        "context_frames": int(len(context)),
        # context frames whose faces were found (once, for the scores and the engine alike)
        "context_frames_face_scanned": context_faces.detected if context_faces is not None else 0,
        "context_frames_from_scan": len(context_faces.reused) if context_faces is not None else 0,
        "context_dropped_at_cut": int(dropped),
        "seed": best.seed,
        "identity": {
            "source": _strip(source_scores),
            "generated": _strip(best.scores),
            # faces below the same-person threshold for every character read as unknown
            "threshold": getattr(best.scores, "threshold", None),
            "unknown": {
                "source": getattr(source_scores, "unknown", None),
                "generated": getattr(best.scores, "unknown", None),
            },
        },
        **best.figures,
        "candidates": [{"seed": c.seed, "score": round(c.score, 4), **c.figures} for c in candidates],
        # engines that adapt to the shot (builtin) do it once for all candidates
        "adaptations": sum(c.info.get("adapt_cached") is False for c in candidates),
        "engine_info": jsonable(best.info),
    }


def render_shot(spec: ShotSpec, request: ExtendRequest, progress=None) -> ShotOutcome:
    """Generate, rerank, colour-match and encode every direction a shot asks for."""
    from .media.writer import VideoWriter, versioned_path
    from .timeline.reels import unique_reel

    progress = progress or SilentProgress()
    timer = _Timer()
    if not spec.directions:
        return ShotOutcome(spec=spec, report={"frames_generated": 0, "clip": spec.clip})
    with timer("probe"):
        info, engine, limits, want_context = _check_shot(spec, request)
    output_dir = Path(request.output_dir or Path(spec.media).parent / "lengthen_out")
    makedirs(output_dir)

    backend, scanned = None, {}  # scanned: the shot scan's faces per (media, frame), reused below
    if request.scan_faces or request.banks_dir is not None or request.refs:
        with timer("faces"):
            backend = _face_backend(request)
            banks = identity_banks(spec, request, backend, progress, scanned)
    else:
        banks = []
    report: dict = {
        "lengthen_version": __version__,
        "clip": spec.clip,
        "media": str(spec.media),
        "engine": engine.name,
        "settings": dict(request.settings.__dict__),
        "characters": [{"id": b.id, "name": b.name} for b in banks],
        "directions": {},
        "source_notes": info.notes(),  # VFR conform, HDR
    }
    outcome = ShotOutcome(spec=spec, report=report)
    signer, report["credentials"] = credentials_signer(request)
    sound = None
    if request.audio and info.has_audio:
        with timer("audio"):
            from .audio.shot import ShotSound

            sound = ShotSound.load(spec.media, spec.first, spec.last, spec.rate, spec.directions)
    report["audio"] = (
        "generated" if sound is not None else ("off (--no-audio)" if not request.audio else "none in source")
    )
    references = ()
    if banks and getattr(engine, "reference_faces", 0):  # engines never read media: the faces are cut here
        from .faces.references import reference_crops

        references = reference_crops(banks, engine.reference_faces)
    for direction in spec.directions:
        n = spec.frames_for(direction)
        progress.check()
        with timer("decode"):
            context, dropped = _read_context(spec, direction, want_context, progress)
        if len(context) < limits.min_context_for(direction):
            raise UsageError(
                f"only {len(context)} context frames before a cut; engine {engine.name!r} needs "
                f"{limits.min_context_for(direction)} for a {direction}",
                clip=spec.clip,
            )
        source_scores, context_faces = {}, None
        if backend is not None and banks:
            with timer("score"):
                context_faces, source_scores = _context_faces(
                    spec, direction, context, dropped, want_context, banks, backend, scanned
                )
        shared = GenerateRequest(
            context=context,
            direction=direction,
            frames=n,
            rate=spec.rate,
            banks=tuple(banks),
            settings=request.settings,
            # one adaptation per shot and base seed: best-of-N candidates share it, and only the length may change
            cache_key=f"{Path(spec.media).resolve()}|{spec.first}|{spec.last}|{direction}|{engine.name}|{request.settings.seed}",
            pixel_aspect=_sar(info.sar),
            prompt=spec.prompt,
            references=references,
            context_faces=context_faces,
        )
        with timer("seam"):
            motion = source_motion(context if direction == "tail" else context[::-1])
        candidates = [
            _candidate(engine, replace(shared, candidate=c), backend, banks, timer, progress, spec.clip, motion)
            for c in range(request.settings.candidates)
        ]
        best = max(candidates, key=lambda c: c.score)
        first_frame = spec.generated_first_frame(direction)
        start_tc = spec.generated_timecode(direction)
        path = versioned_path(output_dir, f"{_safe_name(spec.clip)}_{direction}")
        # a farm run renders each shot in a staging folder: it reserved the reel in the final folder for us
        reel = (spec.metadata.get("reels") or {}).get(direction) or unique_reel(output_dir, spec.clip, direction)
        sound_out = sound.extend(direction, first_frame, n, best.seed) if sound is not None else None
        with timer("encode"):
            with VideoWriter(
                path,
                rate=spec.rate,
                width=info.width,
                height=info.height,
                codec=request.codec,
                start_timecode=start_tc,
                reel=reel,
                sar=info.sar,
                **media_format(info),
                protect=(spec.media, *request.protect),
                metadata={"comment": f"lengthen {__version__} generated {direction} frames ({engine.name})"},
                audio=sound_out.stream if sound_out is not None else None,
            ) as writer:
                if sound_out is not None:
                    writer.write_audio(sound_out.samples)
                for i in range(0, n, 16):
                    progress.check()
                    writer.write(best.frames[i : i + 16])
        meta = {
            "engine": engine.name,
            "model": best.info.get("model", engine.name),
            "seed": best.seed,
            "candidates": len(candidates),
            "banks": [{"id": b.id, "name": b.name} for b in banks],
            "source_clip": spec.clip,
            "source_media": str(spec.media),
            "direction": direction,
            "frames_generated": n,
            "source_first_frame": first_frame,
            "timecode": start_tc,
            "reel": reel,
            "source_reel": info.reel or Path(spec.media).stem,
            "scores": {"identity": best.scores, **best.figures},
        }
        if sound_out is not None:
            meta["audio"] = sound_out.describe()
        if signer is not None:
            with timer("credentials"):
                meta["credentials"] = sign_media(path, spec, meta, best.info, request, signer)
        outcome.generated.append(GeneratedMedia(direction, path, n, first_frame, start_tc, meta))
        report["directions"][direction] = _direction_report(
            n, path, start_tc, context, dropped, context_faces, source_scores, best, candidates
        )
        for key in ("audio", "credentials"):
            if key in meta:
                report["directions"][direction][key] = meta[key]
    report["frames_generated"] = sum(g.frames for g in outcome.generated)
    report["seconds"] = timer.seconds
    return outcome


def credentials_signer(request: ExtendRequest):
    """(signer or None, what report.json says): the user's certificate, else the local test
    identity; without the ``credentials`` extra, media are written unsigned with a warning
    unless a certificate was asked for (then MissingDependency, before any work)."""
    if not request.credentials:
        return None, {"written": False, "reason": "turned off"}
    try:
        from .credentials import resolve_signer

        signer = resolve_signer(request.c2pa_cert, request.c2pa_key)
    except MissingDependency as exc:
        if request.c2pa_cert or request.c2pa_key:
            raise
        return None, {"written": False, "reason": str(exc)}
    return (
        signer,
        {
            "written": True,
            "signer": signer.source,
            "trusted_identity": signer.trusted_identity,  # False: local test identity; None: trust list decides
            "note": signer.note(),
        },
    )


def sign_media(path: Path, spec: ShotSpec, meta: dict, engine_info: dict, request: ExtendRequest, signer) -> dict:
    """Embed the C2PA manifest of one generated file; a failure removes the file."""
    from .credentials import sign_generated

    first = meta["source_first_frame"]
    generation = {
        "lengthen_version": __version__,
        "engine": meta["engine"],
        "model": meta["model"],
        "weights": engine_info.get("weights") or engine_info.get("model_dir") or request.settings.model_path,
        "seed": meta["seed"],
        "identity_banks": meta["banks"],
        "source_clip": spec.clip,
        "source_media": Path(spec.media).name,
        "direction": meta["direction"],
        "frames_generated": meta["frames_generated"],
        # ranges as {first, last}: C2PA's CBOR turns short integer lists into byte strings
        "source_frame_range": {"first": first, "last": first + meta["frames_generated"] - 1},
        "timecode_in": meta["timecode"],
        "timecode_out": offset_timecode(meta["timecode"], meta["frames_generated"] - 1, spec.rate),
        "rate": str(spec.rate),
        "sound": {k: meta["audio"][k] for k in ("method", "sample_rate", "samples")} if "audio" in meta else None,
    }
    try:
        return sign_generated(path, spec.media, generation, signer)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise


def _sar(text: str) -> Fraction:
    """Probe's sample aspect ratio ("1:1", "4:3") as a Fraction; 1 when unknown."""
    num, _, den = str(text).partition(":")
    try:
        value = Fraction(int(num), int(den or 1))
    except (ValueError, ZeroDivisionError):
        return Fraction(1)
    return value if value > 0 else Fraction(1)


# -- a render request, before any frame is generated (guards' checks over probed media) ----------

# Peak bytes per generated pixel: the RGB frames (3 bytes) held about 14 times over while they are
# colour-matched, measured and scored (400 frames at 1280x720 peaked at 15 GB with the freeze
# engine), plus one copy per best-of-N candidate.
_PEAK_COPIES = 14
# Bytes per pixel of generated media on disk (ProRes 422 HQ is about 0.45 at 1080p; with margin).
_DISK_BYTES_PER_PIXEL = {"prores": 0.75, "dnxhr": 0.75, "h264": 0.15}


def check_render(specs, request, *, splice: bool = False) -> None:
    """Before generating: the media folder is usable, the memory of the largest shot is within
    :func:`memory_limit`, and the free disk holds the estimated media. Raises one error naming the
    folder or the clip."""
    from .guards import check_disk, check_memory, check_output_dir
    from .media.probe import probe

    folder = request.output_dir
    if folder is not None:
        check_output_dir(folder, "media folder")
    copies = _PEAK_COPIES + request.settings.candidates  # EngineSettings keeps candidates >= 1
    disk, frames = 0.0, 0
    for spec in specs:
        if not spec.directions:
            continue
        info = probe(spec.media)
        pixels = info.width * info.height
        n = max(spec.frames_for(d) for d in spec.directions)
        check_memory(n * pixels * 3 * copies, f"generating {n} frames at {info.width}x{info.height}", clip=spec.clip)
        made = sum(spec.frames_for(d) for d in spec.directions)
        frames += made
        disk += (made + (made + spec.length if splice else 0)) * pixels * _DISK_BYTES_PER_PIXEL.get(request.codec, 1.0)
    if folder is not None and frames:
        check_disk(folder, int(disk), f"the generated media ({frames} frames)")


def _strip(scores: dict) -> dict:
    return {k: {kk: vv for kk, vv in v.items() if kk not in ("per_frame", "frames")} for k, v in scores.items()}


def run_shot(job: ShotJob, progress=None) -> ShotOutcome:
    """Render one job and never raise for its failure: a :class:`~lengthen.errors.LengthenError`
    or any crash becomes ``outcome.error`` naming the clip (a crash as an
    :class:`~lengthen.errors.EngineError` with the exception's class). Only
    :class:`~lengthen.errors.Cancelled` propagates. Every executor renders through this, so one
    failure is isolated the same way in the CLI, the panel and on a farm."""
    progress = progress or SilentProgress()
    spec, request = job.spec, job.request
    try:
        if job.banks and request.banks_dir is not None and not (Path(request.banks_dir) / "characters.json").is_file():
            from .faces.bank import save_banks

            save_banks(list(job.banks), request.banks_dir)
        return render_shot(spec, request, progress)
    except Cancelled:
        raise
    except LengthenError as exc:
        if exc.clip is None:
            exc.clip = spec.clip
            exc.args = (exc.describe(),)
        return ShotOutcome(spec=spec, error=exc)
    except OSError as exc:  # disk full, permission denied: this shot fails with one clear line, the run goes on
        error = from_os_error(exc)
        error.clip = spec.clip
        error.exit_code = 1
        error.args = (error.describe(),)
        return ShotOutcome(spec=spec, error=error)
    except Exception as exc:  # a crash in one shot is that shot's error (a bug: its traceback logged); the run goes on
        from .paths import write_crash_log

        log = write_crash_log(f"shot {spec.clip}", None, exc)
        where = f"a bug in lengthen, the traceback is in {log}" if log else "a bug in lengthen"
        return ShotOutcome(spec=spec, error=EngineError(f"{exc.__class__.__name__}: {exc} ({where})", clip=spec.clip))


def render_shots(
    specs: Sequence[ShotSpec | ShotJob],
    request: ExtendRequest | None = None,
    progress=None,
    *,
    executor: Executor | None = None,
    on_event=None,
) -> list[ShotOutcome]:
    """Render every shot through ``executor`` (default :class:`~lengthen.executor.LocalExecutor`);
    a shot that fails is recorded with its error and the others go on. Returns the outcomes in
    the order of ``specs``. ``specs`` are ShotSpecs sharing ``request``, or :class:`ShotJob` s
    with their own. ``on_event(kind, index, *data)``: see :class:`~lengthen.executor.RunMonitor`;
    without it, each shot's stage reports go to ``progress``. Cancellation stops the whole run
    (and leaves no partial file behind)."""
    from .executor import LocalExecutor, RunMonitor

    progress = progress or SilentProgress()
    jobs = [s if isinstance(s, ShotJob) else ShotJob(s, request) for s in specs]
    if any(j.request is None for j in jobs):
        raise UsageError("render_shots needs a request for every shot")
    if on_event is None:

        def on_event(kind, index, *data):
            if kind == "progress":
                progress.report(*data)

    monitor = RunMonitor(progress, on_event, run_shot=run_shot)
    outcomes: list[ShotOutcome | None] = [None] * len(jobs)
    progress.report("shots", 0, len(jobs), jobs[0].spec.clip if jobs else "")
    for done, (i, outcome) in enumerate((executor or LocalExecutor()).run(jobs, monitor), start=1):
        outcomes[i] = outcome
        on_event("done" if outcome.error is None else "failed", i, outcome)
        progress.report("shots", done, len(jobs), jobs[i].spec.clip)
    missing = [jobs[i].spec.clip for i, o in enumerate(outcomes) if o is None]
    if missing:
        raise EngineError(f"the executor returned no result for {', '.join(missing)}")
    return outcomes


def splice_media(
    spec: ShotSpec, outcome: ShotOutcome, output_dir, codec: str = "prores", progress=None, request=None
) -> Path:
    """One media file: generated head + source frames [first..last] + generated tail, with the
    timecode of its first frame continuous with the source; with the sound of each part when the
    generated media have sound, and Content Credentials listing the generated frame ranges."""
    from .media.probe import probe
    from .media.reader import file_tags, iter_av_frames
    from .media.writer import VideoWriter, versioned_path
    from .timeline.reels import unique_reel

    info = probe(spec.media)
    by_dir = {g.direction: g for g in outcome.generated}
    start_tc = (
        by_dir["head"].start_timecode
        if "head" in by_dir
        else offset_timecode(spec.start_timecode, spec.first, spec.rate)
    )
    path = versioned_path(Path(output_dir), f"{_safe_name(spec.clip)}_spliced")
    sound = _splice_sound(spec, by_dir) if all("audio" in g.metadata for g in outcome.generated) else None
    signer = credentials_signer(request)[0] if request is not None else None
    with VideoWriter(
        path,
        rate=spec.rate,
        width=info.width,
        height=info.height,
        codec=codec,
        start_timecode=start_tc,
        reel=unique_reel(output_dir, spec.clip, "splice"),
        sar=info.sar,
        **media_format(info),
        protect=(spec.media,),
        audio=sound[0] if sound else None,
    ) as writer:
        if sound:
            for part in sound[1]:
                writer.write_audio(part)
        # every frame is copied as stored, at full bit depth (no 8-bit RGB step, no re-rotation): the
        # generated files share the source's raster, rotation and colour tags
        parts = [(spec.media, range(spec.first, spec.last + 1))]
        if "head" in by_dir:
            parts.insert(0, (by_dir["head"].path, range(by_dir["head"].frames)))
        if "tail" in by_dir:
            parts.append((by_dir["tail"].path, range(by_dir["tail"].frames)))
        for media, frames in parts:
            tags = None
            for _, frame in iter_av_frames(media, frames, progress=progress if media == spec.media else None):
                tags = tags or file_tags(frame, media)
                writer.write_source(frame, tags)
    if signer is not None:
        from .credentials import sign_spliced

        head = by_dir["head"].frames if "head" in by_dir else 0
        ranges = []
        for g in outcome.generated:
            at = 0 if g.direction == "head" else head + spec.length
            ranges.append(
                {
                    "direction": g.direction,
                    "frames": {"first": at, "last": at + g.frames - 1},  # frames of this file, 0-based
                    "timecode_in": g.start_timecode,
                    "timecode_out": offset_timecode(g.start_timecode, g.frames - 1, spec.rate),
                    "engine": g.metadata.get("engine"),
                    "seed": g.metadata.get("seed"),
                    "sound": g.metadata.get("audio", {}).get("method"),
                }
            )
        splice = {
            "lengthen_version": __version__,
            "source_clip": spec.clip,
            "source_media": Path(spec.media).name,
            "source_frames": {"first": head, "last": head + spec.length - 1},
            "source_frame_range": {"first": spec.first, "last": spec.last},
            "generated_ranges": ranges,
            "rate": str(spec.rate),
        }
        try:
            sign_spliced(path, spec.media, [g.path for g in outcome.generated], splice, signer)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return path


def _splice_sound(spec: ShotSpec, by_dir: dict):
    """((sample rate, layout), [head samples, source samples, tail samples]) or None."""
    from .audio.source import read_audio

    src = read_audio(spec.media, spec.first, spec.last, spec.rate)
    if src is None:
        return None
    parts = []
    for direction in ("head", None, "tail"):
        if direction is None:
            parts.append(src.slice(src.frame_sample(spec.first), src.frame_sample(spec.last + 1)))
        elif direction in by_dir:
            g = by_dir[direction]
            made = read_audio(g.path, 0, g.frames - 1, spec.rate, margin_s=0.1)
            parts.append(made.slice(0, int(g.metadata["audio"]["samples"])))
    return (src.sample_rate, src.layout), parts


def media_format(info) -> dict:
    """The VideoWriter arguments that make generated media match its source: orientation, colour, fields."""
    return {
        "rotation": info.rotation,
        "color": info.color_tags,
        "field_order": info.field_order if info.field_order != "unknown" else None,
    }


def vfr_refusal_line(info) -> str:
    """One line: why a variable-rate source cannot be conformed, and the command that fixes it."""
    rate = info.fps
    return (
        f"variable frame rate too irregular to conform ({info.vfr_refusal}); transcode to a constant rate first, "
        f"e.g. ffmpeg -i IN -vf fps={rate} -c:v prores_ks -profile:v 3 -c:a copy OUT.mov"
    )
