"""The library calls every front end makes: the CLI commands, the panel's jobs, the tests and a
farm are thin skins over these (as OTIO's console tools are over its library).

- :func:`open_plan` / :func:`plan_timeline`: read a timeline and plan the frames each clip needs.
- :func:`build_request`: the one way to make an :class:`~lengthen.config.ExtendRequest`.
- :func:`extend_timeline`: render a plan (through an executor) and write the result timeline;
  :func:`write_extended_timeline` writes it from outcomes already rendered (the panel's export).
- :func:`characters_of`: the characters of clips, photos and timelines, in one joint scan.

Nothing here prints or exits; errors are :class:`~lengthen.errors.LengthenError` s naming the file.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from .config import DEFAULT_CODEC, ExtendRequest, build_request  # noqa: F401 (part of this API)
from .errors import Cancelled, LengthenError, TimelineError, UsageError
from .timeline import plan_timeline  # noqa: F401 (part of this API)

TIMELINE_SUFFIXES = {".otio", ".otioz", ".otiod"}


# -- timelines ---------------------------------------------------------------------------------
def open_plan(
    path,
    *,
    handles=None,
    head=None,
    tail=None,
    spec=None,
    rate=None,
    allow_media_outside: bool = False,
    extract_dir=None,
    cuts: bool = True,
):
    """``(TimelineDoc, Plan)`` for a timeline file; ``spec`` is a path or a parsed SpecFile.
    Without head/tail/spec the plan is ``handles`` (default :data:`~lengthen.config.DEFAULT_HANDLES`).
    ``cuts``: look for cuts inside the media near each clip's edges (see :mod:`lengthen.timeline.plan`).
    The caller closes the doc (``with doc:``)."""
    from .timecode import parse_rate
    from .timeline import SpecFile, load_spec, read_timeline

    if handles is not None and (head is not None or tail is not None):
        raise UsageError("give either --handles or --head/--tail, not both")
    rate = parse_rate(rate) if isinstance(rate, str) else rate
    if spec is not None and not isinstance(spec, SpecFile):
        spec = load_spec(spec)
    doc = read_timeline(path, allow_media_outside=allow_media_outside, rate=rate, extract_dir=extract_dir)
    try:
        return doc, plan_timeline(doc, head=head, tail=tail, handles=handles, spec=spec, cuts=cuts)
    except BaseException:
        doc.close()
        raise


def media_dir_for(out) -> Path:
    """Where the media of a result timeline go: ``<out stem>_media/`` beside it."""
    out = Path(out)
    return out.with_name(f"{out.name.split('.')[0] or 'lengthen'}_media")


def check_output(out, source) -> None:
    """Refuse, before any work, an unknown format, then what :func:`~lengthen.guards.check_output_file`
    refuses (in its words): the input itself, an existing file or folder, an unusable place."""
    from .guards import check_output_file
    from .timeline.read import adapter_for

    adapter_for(Path(out))
    check_output_file(out, "output timeline", protect=[source])


@dataclass
class TimelineExport:
    timeline: Path
    media_dir: Path
    outcomes: list  # ShotOutcome per rendered shot (a failed splice sets its error)
    media: list[str] = field(default_factory=list)  # generated media the timeline references
    spliced: dict = field(default_factory=dict)  # clip_id -> joined media (splice mode)
    warnings: list[str] = field(default_factory=list)  # what the output format loses

    @property
    def failed(self) -> list:
        return [o for o in self.outcomes if o.error is not None]

    def to_dict(self) -> dict:
        return {"timeline": str(self.timeline), "media": list(self.media), "warnings": list(self.warnings)}


def write_extended_timeline(
    doc,
    plan,
    outcomes: list,
    out,
    *,
    splice: bool = False,
    codec: str | None = None,
    protect=(),
    progress=None,
    request: ExtendRequest | None = None,
) -> TimelineExport:
    """Write the result timeline for rendered ``outcomes`` (the input untouched). Generated media
    not already in ``<out stem>_media/`` are copied there (not for .otioz, which bundles them);
    with ``splice`` each clip is relinked to media joined from its source and generated frames,
    written there too (signed as ``request`` asks, when given). A failed splice is that shot's
    error; the others are written."""
    from .timeline.edit import build_result, write_timeline
    from .timeline.interchange import remove_outputs
    from .timeline.read import adapter_for
    from .timeline.verify import range_problems

    out = Path(out)
    check_output(out, doc.path)
    adapter = adapter_for(out)
    media_dir = media_dir_for(out.absolute())
    protect = (str(doc.path), *(str(p) for p in protect))
    outcomes = [replace(o) for o in outcomes]  # a failed splice must not change the caller's outcomes
    export = TimelineExport(out, media_dir, outcomes)
    done = [o for o in outcomes if o.error is None and o.generated]
    made: list = []  # what this export wrote, removed again if it fails
    try:
        _gather_media(export, done, adapter, splice, codec, made, progress, request)
        result = build_result(doc, plan, outcomes, spliced=export.spliced if splice else None)
        export.warnings = write_timeline(result, out, base_dir=doc.base_dir, protect=protect)
        export.warnings += range_problems(result)
    except BaseException:
        remove_outputs([], {str(i): p for i, p in enumerate(made)}, media_dir, False)
        raise
    if progress is not None:
        progress.report("export", 1, 1, out.name)
    return export


def _gather_media(export, done, adapter, splice, codec, made, progress, request) -> None:
    """Copy the generated media into the export's media folder; splice (see write_extended_timeline)."""
    from .fsutil import atomic_path
    from .pipeline import splice_media

    media_dir = export.media_dir
    if adapter != "otioz" or splice:  # a bundle carries the generated media itself
        gens = [g for o in done for g in o.generated]
        copied = []
        for i, g in enumerate(gens):
            if progress is not None:
                progress.check()
                progress.report("export media", i, len(gens), g.path.name)
            target = media_dir / g.path.name
            if os.path.abspath(target) != os.path.abspath(g.path) and not target.exists():
                with atomic_path(target) as tmp:  # makes (and records) the folder; a cancelled copy leaves nothing
                    shutil.copyfile(g.path, tmp)
                made.append(target)
            copied.append(target)
        moved = dict(zip((g.path for g in gens), copied))
        for o in done:
            o.generated = [
                replace(g, path=moved[g.path], metadata=_repath(g.metadata, str(g.path), str(moved[g.path])))
                for g in o.generated
            ]
    if splice:
        for i, o in enumerate(done):
            if progress is not None:
                progress.check()
                progress.report("splice", i, len(done), o.spec.clip)
            try:
                export.spliced[o.spec.clip_id] = splice_media(
                    o.spec, o, media_dir, codec=codec or DEFAULT_CODEC, progress=progress, request=request
                )
                made.append(export.spliced[o.spec.clip_id])
            except Cancelled:
                raise
            except LengthenError as exc:  # one failed splice is one failed shot
                o.error = exc
        export.media = [str(p) for p in export.spliced.values()]
    else:
        export.media = [str(g.path) for o in done for g in o.generated]


def extend_timeline(
    doc,
    plan,
    request: ExtendRequest,
    out,
    *,
    splice: bool = False,
    executor=None,
    progress=None,
    on_event=None,
    media_dir_created: bool | None = None,
) -> TimelineExport:
    """Render every shot of ``plan`` that needs frames (``request.output_dir`` defaults to
    ``<out stem>_media/``) through ``executor`` and write the result timeline: what
    ``lengthen timeline`` does, as a call. One failed shot is recorded in its outcome. Before any
    media is made the planned result is written through the output's adapter in memory
    (:func:`~lengthen.timeline.interchange.preflight`); a refused, cancelled or failed write
    removes the media this run made (and the media folder if it made it:
    ``media_dir_created``, default: whether it is absent now)."""
    from .pipeline import render_shots
    from .timeline.interchange import preflight, remove_outputs

    check_output(out, doc.path)
    media_dir = media_dir_for(Path(out).absolute())
    created = not media_dir.exists() if media_dir_created is None else media_dir_created
    if request.output_dir is None:
        request = replace(request, output_dir=media_dir)
    protect = tuple(dict.fromkeys((*map(str, request.protect), str(doc.path), *(str(s.media) for s in plan.shots))))
    request = replace(request, protect=protect)
    preflight(doc, plan, out, splice=splice, media_dir=media_dir)  # the format holds it: before media
    outcomes: list = []
    try:
        outcomes = render_shots(plan.to_render, request, progress, executor=executor, on_event=on_event)
        return write_extended_timeline(
            doc,
            plan,
            outcomes,
            out,
            splice=splice,
            codec=request.codec,
            protect=protect,
            progress=progress,
            request=request,
        )
    except BaseException:  # refused, cancelled or not written: the media made for this run go too
        remove_outputs(outcomes, None, media_dir, created)
        raise


def _repath(value, old: str, new: str):
    """``value`` (plain JSON-like metadata) with every string ``old`` replaced by ``new``."""
    if isinstance(value, dict):
        return {k: _repath(v, old, new) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_repath(v, old, new) for v in value)
    return new if value == old else value


# -- characters --------------------------------------------------------------------------------
def clip_ranges(clips) -> dict[str, tuple[int, int]]:
    """media path -> (first, last) frames the clips show (the union of their visible ranges)."""
    out: dict[str, tuple[int, int]] = {}
    for c in clips:
        first, last = max(0, c.vis_first), min(c.media_frames - 1, c.vis_last)
        if first > last:
            continue
        key = os.path.abspath(c.media)
        if key in out:
            first, last = min(first, out[key][0]), max(last, out[key][1])
        out[key] = (first, last)
    return out


def characters_of(inputs, settings=None, *, backend=None, progress=None):
    """The characters of footage, in one joint scan (faces of different files are tracked per
    file and clustered together): a :class:`~lengthen.faces.scan.ScanResult` whose ``errors``
    name each input (or timeline clip) that could not be read; the others are scanned.

    ``inputs``: media files and photos (scanned whole), timelines (.otio/.otioz/.otiod: the
    frames their clips show), or a mapping ``media -> (first, last)``. ``settings``: a
    :class:`~lengthen.faces.scan.ScanSettings` (default: its defaults, the same for every front end).
    """
    from contextlib import ExitStack

    from .faces.scan import ScanResult, ScanSettings, scan
    from .timeline import read_timeline

    settings = settings or ScanSettings()
    items: dict[str, tuple[int, int] | None] = {}
    errors: list = []
    if isinstance(inputs, dict):
        inputs = list(inputs.items())
    with ExitStack() as stack:  # bundles stay extracted until the scan is over
        for item in inputs:
            if isinstance(item, tuple):
                media, rng = item
                items[os.path.abspath(media)] = tuple(rng)
                continue
            if Path(item).suffix.lower() not in TIMELINE_SUFFIXES:
                items[os.path.abspath(item)] = None
                continue
            try:
                doc = stack.enter_context(read_timeline(item))
            except TimelineError as exc:
                errors.append(exc)
                continue
            errors.extend(TimelineError(p.message, path=p.path, clip=p.clip) for p in doc.problems if p.path)
            for media, (first, last) in clip_ranges(doc.clips).items():
                if media not in items:
                    items[media] = (first, last)
                elif items[media] is not None:  # None: the whole file is asked for already
                    items[media] = (min(first, items[media][0]), max(last, items[media][1]))
        result = scan(list(items), settings, backend, progress, ranges=items) if items else ScanResult()
    result.errors[:0] = errors
    return result
