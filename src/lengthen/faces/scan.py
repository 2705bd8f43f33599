"""From footage to characters: sample frames, detect, align, embed, track, cluster, bank.

Each input (a clip, or a still photo) is sampled at ``sample_fps`` (exact frame indices from the
file's rational rate; ``every_frame`` takes all). Faces smaller than the backend's minimum are
counted and skipped. Faces are linked into tracks per file (track.py), tracks of all inputs are
clustered into characters (cluster.py; two faces in one frame are never the same character),
and each character becomes an :class:`~lengthen.faces.bank.IdentityBank`.

A cluster becomes a character only if it has at least ``min_character_faces`` faces, or is seen
in at least ``min_character_share`` of the sampled frames of one input (so a person in a single
photo or a very short shot still counts). Anything less (a face glimpsed once past an occluding
phone, a false detection) is dropped and counted in ``ScanResult.dropped_faces``.

Detection scale: dlib's detector finds faces of about 80 px and up, so frames are enlarged for
detection until a ``min_face_px`` face is 80 px (a 640x480 frame at the default 32 px becomes
1600x1200), but never past ``detect_max_side`` pixels on the long side (cost grows with the
area: HD frames are detected as they are, finding faces from ~75 px). Boxes and landmarks are
mapped back and chips are cut from the original frame. Faces under ``min_face_px`` (source
pixels) are skipped and counted: their chips are too blurry to tell people apart.

Where faces are looked for (:class:`FaceFinder`, ``ScanSettings.search``): by default
(``"proposals"``) a fast approximate pass over the enlarged frame (OpenCV pyramid, bfloat16
network, a threshold below the exact one) proposes boxes, the faces of the previous sample are
proposed again, and the exact detector confirms each proposal on a crop around it at the same
enlargement, so every face kept has the exact detector's score and landmarks. ``"exhaustive"``
runs the exact detector over the whole enlarged frame (about 4x the cost; what the scan did
before). Embeddings: a face whose aligned chip has not changed since the previous sample (same
place, pixels within ``reuse_chip_diff`` on average) keeps the embedding computed then.

An input that cannot be read is recorded in ``ScanResult.errors`` (naming it); the others go on.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..errors import Cancelled, FaceError, LengthenError, MediaError
from .bank import TOP_K, FaceSource, IdentityBank, find, next_id
from .cluster import agglomerate, same_person_threshold, track_weak_threshold
from .detections import FaceObs, iou
from .quality import face_quality
from .track import TrackSettings, track_faces
from .types import Detection

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
DETECTOR_MIN_PX = {"dlib": 80}  # smallest face each detector finds; others are used as they are
SEARCHES = ("proposals", "exhaustive")


@dataclass(frozen=True)
class ScanSettings:
    sample_fps: float = 2.0  # frames per second of footage looked at
    every_frame: bool = False  # look at every frame (slow; for short shots)
    backend: str = "dlib"
    backend_options: tuple[tuple[str, object], ...] = ()  # e.g. (("root", "/models"),)
    min_face_px: int = 32  # source px of box height; smaller faces are skipped (and counted)
    detect_max_side: int = 2048  # never enlarge a frame past this for detection
    cluster_threshold: float | None = None  # cosine; None: cluster.SAME_PERSON[backend]
    track_iou: float = 0.3
    track_gap_s: float = 1.5  # a track survives this long without a face
    min_character_faces: int = 3
    min_character_share: float = 0.5
    top_k: int = TOP_K  # reference faces per character
    max_bank_faces: int = 200  # best-quality faces kept per character
    search: str = "proposals"  # or "exhaustive": see FaceFinder
    proposal_threshold: float = -0.5  # MMOD score a fast-pass box needs to be confirmed (exact: 0)
    reuse_chip_diff: float = 6.0  # mean |chip - previous chip| (0..255) under which an embedding is reused
    threads: int | None = None  # torch threads while scanning; None: one core left for decoding (see scan)

    def __post_init__(self) -> None:
        if self.search not in SEARCHES:
            raise FaceError(f"face search must be one of {', '.join(SEARCHES)}, got {self.search!r}")


@dataclass
class ScanResult:
    banks: list[IdentityBank] = field(default_factory=list)
    errors: list[LengthenError] = field(default_factory=list)  # one per input that failed
    frames_scanned: int = 0
    faces_found: int = 0  # faces embedded
    skipped_small: int = 0  # faces below the minimum size
    tracks: int = 0
    dropped_faces: int = 0  # faces in clusters too small to be a character
    embeddings_reused: int = 0  # faces whose chip had not changed since the previous sample
    # (media path, frame) -> the faces found there (faces.detections.FaceObs): what the pipeline
    # reuses for the context frames the scan already looked at (faces once per shot)
    detections: dict = field(default_factory=dict)


@dataclass
class _Faces:
    """Every embedded face of a scan, flat (index = face number)."""

    sources: list[FaceSource] = field(default_factory=list)
    quality: list = field(default_factory=list)
    chips: list[np.ndarray] = field(default_factory=list)  # (S, S, 3) each
    embeddings: list[np.ndarray] = field(default_factory=list)  # (D,) each


def make_backend(settings: ScanSettings):
    from .backends.registry import get_backend

    return get_backend(settings.backend, **dict(settings.backend_options))


def sample_frames(
    frames: int, rate: Fraction, settings: ScanSettings, first: int = 0, last: int | None = None
) -> list[int]:
    """Frame indices to look at within ``[first, last]`` (inclusive), exact on rational rates."""
    last = frames - 1 if last is None else min(last, frames - 1)
    if first > last:
        return []
    if settings.every_frame:
        return list(range(first, last + 1))
    if settings.sample_fps <= 0:
        raise FaceError(f"sample_fps must be positive, got {settings.sample_fps}")
    step = Fraction(rate) / Fraction(settings.sample_fps).limit_denominator(1001)
    if step <= 1:
        return list(range(first, last + 1))
    count = math.floor((last - first) / step) + 1
    return [first + math.floor(k * step) for k in range(count)]


def _read_image(path: Path) -> np.ndarray:
    from ..guards import read_image_rgb

    return read_image_rgb(path, MediaError, "image")  # a regular file, size checked before decoding


def _frames_of(
    path: Path, settings: ScanSettings, first: int, last: int | None, progress
) -> tuple[int, Iterator[tuple[int, np.ndarray]]]:
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image = _read_image(path)
        return 1, iter([(0, image)])
    from ..media.probe import probe
    from ..media.reader import iter_frames

    info = probe(path)
    if last is not None and not 0 <= first <= last < info.frames:
        raise MediaError(
            f"frame range {first}..{last} is outside the file (0..{info.frames - 1})", path=path, frame=first
        )
    wanted = sample_frames(info.frames, info.rate, settings, first, last)
    return len(wanted), _read_ahead(iter_frames(path, wanted, progress=None))


def _read_ahead(items: Iterator, depth: int = 2) -> Iterator:
    """Yield ``items`` as they come, produced by a background thread up to ``depth`` ahead, so
    decoding the next sample overlaps detecting faces in this one (PyAV and torch both release
    the GIL). An error in the producer is raised here; leaving early stops and closes it."""
    import queue
    import threading

    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="lengthen-scan-decode", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        worker.join(timeout=10)


def detect_scale(backend_name: str, height: int, width: int, settings: ScanSettings) -> float:
    """How much to enlarge a frame for detection (1 = as it is)."""
    native = DETECTOR_MIN_PX.get(backend_name)
    if native is None or settings.min_face_px <= 0:
        return 1.0
    scale = min(native / settings.min_face_px, settings.detect_max_side / max(height, width))
    return max(1.0, scale)


def _detect(backend, image: np.ndarray, scale: float) -> list[Detection]:
    """Detect on the image enlarged by ``scale``; map results back to the image."""
    h, w = image.shape[:2]
    if scale < 1.1:
        return list(backend.detect(image))
    import cv2

    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
    sx, sy = w / size[0], h / size[1]
    out = []
    for d in backend.detect(resized):
        l, t, r, b = d.box
        lms = (np.asarray(d.landmarks, np.float32) * np.array([sx, sy], np.float32)).astype(np.float32)
        out.append(Detection((l * sx, t * sy, r * sx, b * sy), d.score, lms))
    return out


class FaceFinder:
    """The scan's detector for successive frames of one input (see the module notes).

    ``exhaustive``: the exact detector over the whole frame enlarged by :func:`detect_scale`.
    ``proposals`` (for a backend with ``propose``; others fall back to exhaustive): the fast
    pass's boxes plus the previous frame's faces, each confirmed by the exact detector on a
    256x256 canvas cut around it, scaled as the whole frame would be enlarged (or so that the
    face is 100 px, if that is less). Faces confirmed twice are kept once."""

    CONFIRM_FACE_PX = 100  # faces are confirmed at this height, or at the frame's enlargement if less
    # Every confirmation crop is laid on a canvas of this one size, so the convolution kernels
    # prepared for its shape are reused: preparing them for a new shape costs more than the pass.
    CANVAS = 256
    PAD = (122, 117, 104)  # the MMOD input mean: padding that normalises to 0, like its own pyramid's

    def __init__(self, backend, settings: ScanSettings = ScanSettings()) -> None:
        self.backend, self.settings = backend, settings
        self.previous: list[Detection] = []
        self.proposed = self.confirmed = 0  # counts, for benchmarks

    def __call__(self, image: np.ndarray) -> list[Detection]:
        scale = detect_scale(self.backend.name, *image.shape[:2], self.settings)
        propose = getattr(self.backend, "propose", None)
        if self.settings.search == "exhaustive" or propose is None:
            found = _detect(self.backend, image, scale)
        else:
            # as _detect: enlarging by less than 10% finds nothing new and costs up to 21% more
            fast_scale = scale if scale >= 1.1 else 1.0
            boxes = [box for _, box in propose(image, fast_scale, self.settings.proposal_threshold)]
            boxes += [d.box for d in self.previous]
            self.proposed += len(boxes)
            found = []
            for box in boxes:
                if any(iou(box, d.box) > 0.5 for d in found):
                    continue
                for d in self._confirm(image, box, scale):
                    if not any(iou(d.box, e.box) > 0.5 for e in found):
                        found.append(d)
            found.sort(key=lambda d: -d.score)
            self.confirmed += len(found)
        self.previous = found
        return found

    def _confirm(self, image: np.ndarray, box, scale: float) -> list[Detection]:
        import cv2

        h, w = image.shape[:2]
        l, t, r, b = box
        face = max(r - l, b - t, 1.0)
        zoom = min(scale, self.CONFIRM_FACE_PX / face)  # below 1 for faces larger than 100 px
        half = self.CANVAS / 2 / zoom  # source pixels from the face centre to the canvas edge
        cx, cy = (l + r) / 2, (t + b) / 2
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(w, int(cx + half)), min(h, int(cy + half))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return []
        size = (min(self.CANVAS, max(1, round((x1 - x0) * zoom))), min(self.CANVAS, max(1, round((y1 - y0) * zoom))))
        crop = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_LINEAR if zoom > 1 else cv2.INTER_AREA)
        canvas = np.empty((self.CANVAS, self.CANVAS, 3), np.uint8)
        canvas[:] = self.PAD
        canvas[: size[1], : size[0]] = crop
        sx, sy = (x1 - x0) / size[0], (y1 - y0) / size[1]
        out = []
        for d in self.backend.detect(canvas):
            cl, ct, cr, cb = d.box
            if cl >= size[0] or ct >= size[1]:  # in the padding: not a face of the image
                continue
            lms = (np.asarray(d.landmarks, np.float32) * np.array([sx, sy], np.float32) + [x0, y0]).astype(np.float32)
            out.append(Detection((cl * sx + x0, ct * sy + y0, cr * sx + x0, cb * sy + y0), d.score, lms))
        return out


def big_enough(det: Detection, settings: ScanSettings) -> bool:
    """At least ``min_face_px`` tall, to within 10%: the detector's boxes come in steps (80 px
    times powers of 6/5 over the enlargement), so a face of exactly the size asked for may come
    back a pixel or two short of it."""
    return det.height >= 0.9 * settings.min_face_px


def detect_faces(backend, image: np.ndarray, settings: ScanSettings = ScanSettings()) -> list[Detection]:
    """Faces of at least ``settings.min_face_px`` (:func:`big_enough`) in one image, found the
    way the scan finds them (the frame enlarged when the detector's smallest face is larger)."""
    return [d for d in FaceFinder(backend, settings)(image) if big_enough(d, settings)]


def _scan_one(
    path: Path,
    first: int,
    last: int | None,
    settings: ScanSettings,
    backend,
    faces: _Faces,
    result: ScanResult,
    progress,
) -> list[list[int]]:
    """Embed the faces of one input; returns its sampled frames as lists of face numbers."""
    total, frames = _frames_of(path, settings, first, last, progress)
    names = getattr(backend, "landmark_names", None)
    media = os.path.abspath(path)
    per_frame: list[list[int]] = []
    finder = FaceFinder(backend, settings)
    previous: list[tuple[tuple, np.ndarray, np.ndarray]] = []  # (box, chip, embedding) of the last sample
    for done, (frame_no, image) in enumerate(frames, start=1):
        if progress is not None:
            progress.check()
        dets = finder(image)
        keep = [d for d in dets if big_enough(d, settings)]
        result.skipped_small += len(dets) - len(keep)
        ids: list[int] = []
        if keep:
            chips = backend.align(image, keep)  # n s s 3
            emb = _embed_changed(backend, keep, chips, previous, settings.reuse_chip_diff, result)  # n d
            previous = [(d.box, chip, e) for d, chip, e in zip(keep, chips, emb)]
            for d, chip, e in zip(keep, chips, emb):
                ids.append(len(faces.sources))
                faces.sources.append(
                    FaceSource(
                        media,
                        int(frame_no),
                        tuple(float(v) for v in d.box),
                        tuple((float(x), float(y)) for x, y in d.landmarks),
                    )
                )
                faces.quality.append(face_quality(chip, d.box, d.landmarks, d.score, names))
                faces.chips.append(chip)
                faces.embeddings.append(np.asarray(e, np.float32))
        per_frame.append(ids)
        result.detections[(media, int(frame_no))] = [
            FaceObs(tuple(float(v) for v in d.box), float(d.score), np.asarray(d.landmarks), faces.embeddings[n])
            for d, n in zip(keep, ids)
        ]
        result.frames_scanned += 1
        result.faces_found += len(ids)
        if progress is not None:
            progress.report("faces", done, total, path.name)
            progress.check()
    return per_frame


def _embed_changed(backend, dets, chips: np.ndarray, previous, max_diff: float, result: ScanResult) -> np.ndarray:
    """Embeddings of ``chips`` (n d): a face at the place of one of the previous sample whose
    chip differs from it by at most ``max_diff`` on average (same pose, size and sharpness to
    within compression noise) keeps that face's embedding; the others are embedded in one batch."""
    emb: list[np.ndarray | None] = [None] * len(dets)
    for i, (d, chip) in enumerate(zip(dets, chips)):
        for box, old_chip, old_emb in previous:
            if iou(d.box, box) > 0.5 and np.abs(chip.astype(np.int16) - old_chip).mean() <= max_diff:
                emb[i] = old_emb
                result.embeddings_reused += 1
                break
    todo = [i for i, e in enumerate(emb) if e is None]
    if todo:
        for i, e in zip(todo, backend.embed(chips[todo])):
            emb[i] = e
    return np.stack(emb)


def scan(
    inputs: Sequence[str | Path],
    settings: ScanSettings = ScanSettings(),
    backend=None,
    progress=None,
    *,
    frame_range: tuple[int, int] | None = None,
    ranges: dict | None = None,
) -> ScanResult:
    """Scan clips and photos into characters, jointly (one clustering over every input).
    ``frame_range`` (first, last) applies to every input; ``ranges`` maps an input's absolute
    path to its own (first, last), or None for the whole file."""
    backend = backend if backend is not None else make_backend(settings)
    with _scan_threads(settings.threads):
        return _scan(inputs, settings, backend, progress, frame_range, ranges)


@contextmanager
def _scan_threads(threads: int | None):
    """Torch's intra-op threads for the scan: ``threads``, or by default one fewer than the
    machine's cores (at least 1, never more than torch already uses). The core left over decodes
    the next sample (_read_ahead). Measured on 2 cores with other work running, two threads made
    the small convolutions of confirmation and embedding 10 to 50 times slower than one (threads
    waiting on each other while the other core was busy); one thread kept the scan at real time."""
    import torch

    before = torch.get_num_threads()
    want = threads if threads is not None else min(before, max(1, (os.cpu_count() or 2) - 1))
    torch.set_num_threads(max(1, int(want)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _scan(inputs, settings: ScanSettings, backend, progress, frame_range, ranges) -> ScanResult:
    result, faces = ScanResult(), _Faces()
    default = frame_range if frame_range is not None else (0, None)
    fps = None if settings.every_frame else settings.sample_fps
    tracks: list[list[int]] = []
    samples: dict[str, int] = {}  # media -> frames looked at
    for item in dict.fromkeys(os.path.abspath(i) for i in inputs):
        path = Path(item)
        first, last = (ranges or {}).get(item) or default
        try:
            per_frame = _scan_one(path, first, last, settings, backend, faces, result, progress)
        except Cancelled:
            raise
        except (MediaError, FaceError) as exc:
            result.errors.append(exc)
            continue
        if not faces.sources:
            continue
        emb = np.stack(faces.embeddings)  # f d
        boxes = np.array([s.box for s in faces.sources])  # f 4
        gap = math.ceil(settings.track_gap_s * (fps or 25.0))
        ts = TrackSettings(_threshold(settings, backend), track_weak_threshold(backend.name), settings.track_iou, gap)
        tracks.extend(track_faces(per_frame, boxes, emb, ts))
        samples[os.path.abspath(path)] = len(per_frame)
    result.tracks = len(tracks)
    result.banks = _characters(tracks, samples, faces, settings, backend, result)
    return result


def scan_shot(
    media: str | Path, first: int, last: int, settings: ScanSettings = ScanSettings(), backend=None, progress=None
) -> ScanResult:
    """Scan frames ``first..last`` (inclusive) of one media file (the extend command's shot)."""
    return scan([media], settings, backend, progress, frame_range=(first, last))


def _threshold(settings: ScanSettings, backend) -> float:
    return (
        settings.cluster_threshold if settings.cluster_threshold is not None else same_person_threshold(backend.name)
    )


def _characters(
    tracks, samples, faces: _Faces, settings: ScanSettings, backend, result: ScanResult
) -> list[IdentityBank]:
    if not tracks:
        return []
    emb = np.stack(faces.embeddings)  # f d
    means = np.stack([emb[t].mean(0) for t in tracks])  # t d
    where = {}
    for ti, t in enumerate(tracks):
        for f in t:
            src = faces.sources[f]
            where.setdefault((src.media, src.frame), []).append(ti)
    apart = {(a, b) for group in where.values() for a in group for b in group if a < b}
    clusters = agglomerate(means, _threshold(settings, backend), apart)
    kept = []
    for c in clusters:
        members = sorted(f for ti in c for f in tracks[ti])
        frames_seen: dict[str, set[int]] = {}
        for f in members:
            frames_seen.setdefault(faces.sources[f].media, set()).add(faces.sources[f].frame)
        share = max(len(fr) / samples[m] for m, fr in frames_seen.items())
        if len(members) >= settings.min_character_faces or share >= settings.min_character_share:
            kept.append(members)
        else:
            result.dropped_faces += len(members)
    order = {m: i for i, m in enumerate(dict.fromkeys(s.media for s in faces.sources))}
    kept.sort(key=lambda m: (order[faces.sources[m[0]].media], faces.sources[m[0]].frame, faces.sources[m[0]].box[0]))
    banks: list[IdentityBank] = []
    for n, members in enumerate(kept, start=1):
        if len(members) > settings.max_bank_faces:
            best = sorted(members, key=lambda f: -faces.quality[f].combined)[: settings.max_bank_faces]
            members = sorted(best)
        bank = IdentityBank(
            id=next_id(banks),
            name=f"Character {n}",
            backend=backend.name,
            embedding_dim=int(backend.embedding_dim),
            chip_size=int(backend.chip_size),
            embeddings=emb[members].astype(np.float32),
            crops=np.stack([faces.chips[f] for f in members]),
            sources=[faces.sources[f] for f in members],
            quality=[faces.quality[f] for f in members],
        )
        banks.append(bank.with_references(settings.top_k))
    return banks


def add_reference_photo(
    banks: Sequence[IdentityBank], key: str, photo: str | Path, backend, top_k: int = TOP_K
) -> list[IdentityBank]:
    """Add the largest face of a photo to the character ``key`` (id or name) as a hand-picked
    reference; a name that matches no character starts a new one with that name."""
    path = Path(photo)
    image = _read_image(path)
    dets = backend.detect(image)
    if not dets:
        raise FaceError("no face found in the reference photo", path=path)
    det = max(dets, key=lambda d: d.width * d.height)
    chip = backend.align(image, [det])  # 1 s s 3
    emb = backend.embed(chip).astype(np.float32)  # 1 d
    src = FaceSource(
        os.path.abspath(path),
        0,
        tuple(float(v) for v in det.box),
        tuple((float(x), float(y)) for x, y in det.landmarks),
        manual=True,
    )
    q = face_quality(chip[0], det.box, det.landmarks, det.score, getattr(backend, "landmark_names", None))
    out = list(banks)
    try:
        i = find(out, key)
    except FaceError:
        if any(b.name == key for b in out):
            raise
        from ..guards import check_name

        check_name(key, "character name", error=FaceError)
        new = IdentityBank(
            next_id(out), key, backend.name, int(backend.embedding_dim), int(backend.chip_size), emb, chip, [src], [q]
        )
        return out + [new.with_references(top_k)]
    bank = out[i]
    if (bank.backend, bank.embedding_dim) != (backend.name, int(backend.embedding_dim)):
        raise FaceError(f"{bank.id} was made with backend {bank.backend!r}, not {backend.name!r}", path=path)
    out[i] = IdentityBank(
        bank.id,
        bank.name,
        bank.backend,
        bank.embedding_dim,
        bank.chip_size,
        np.concatenate([bank.embeddings, emb]),
        np.concatenate([bank.crops, chip]),
        bank.sources + [src],
        bank.quality + [q],
    ).with_references(top_k)
    return out
