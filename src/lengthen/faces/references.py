"""Reference faces with margin for the engines, cut from the frames the banks found them in.

For each character the best reference faces are cut again **with margin** (hair, jaw, some
shoulders: what a video model needs to keep a person, not only the aligned face chip) from the
frames they were found in, using the bank's face records (``sources[i].media/.frame/.box``).
When a source cannot be read (a moved file, a bank made elsewhere) the bank's aligned chip
(``reference_crops()``) is used instead. Banks are duck-typed: anything with
``reference_crops()`` works; ``name``, ``sources`` and ``references`` are used when present.

This reads media, so it runs in the pipeline (engines never read media): the result travels in
``GenerateRequest.references`` to :func:`lengthen.engines.references.bank_reference_images`.
"""

from __future__ import annotations

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
MARGIN = 0.6  # extra context on each side of the face box, as a fraction of its larger side


def crop_with_margin(frame: np.ndarray, box, margin: float = MARGIN) -> np.ndarray:
    """A square crop around ``box`` (left, top, right, bottom) grown by ``margin`` on each side,
    clipped to the frame (the square shrinks at frame edges rather than being padded)."""
    left, top, right, bottom = (float(v) for v in box)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    half = max(right - left, bottom - top) * (0.5 + margin)
    h, w = frame.shape[:2]
    x0, x1 = int(max(0, round(cx - half))), int(min(w, round(cx + half)))
    y0, y1 = int(max(0, round(cy - half))), int(min(h, round(cy + half)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError(f"face box {box} lies outside the {w}x{h} frame")
    return np.ascontiguousarray(frame[y0:y1, x0:x1])


def _wanted(bank, per_bank: int) -> list:
    """The face records (``sources[references[k]]``) of the bank's first ``per_bank`` references."""
    chips = getattr(bank, "reference_crops", None)
    n_chips = len(chips()) if callable(chips) else 0
    refs = list(getattr(bank, "references", []) or [])
    sources = list(getattr(bank, "sources", []) or [])
    count = min(per_bank, max(n_chips, len(refs)))
    return [sources[refs[k]] if k < len(refs) and refs[k] < len(sources) else None for k in range(count)]


def read_sources(records) -> dict[tuple[str, int], np.ndarray]:
    """The frames the face records were found in, ``{(media, frame): uint8 RGB}``: each media file
    opened once for all its frames (a photo read once). A file that cannot be read, or a frame
    outside it, is left out (its faces fall back to the aligned chips)."""
    from pathlib import Path

    by_media: dict[str, set[int]] = {}
    for src in records:
        if src is not None:
            by_media.setdefault(str(src.media), set()).add(int(src.frame))
    got: dict[tuple[str, int], np.ndarray] = {}
    for media, frames in by_media.items():
        path = Path(media)
        try:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                from ..guards import read_image_rgb

                image = read_image_rgb(path)
                got.update({(media, f): image for f in frames})
                continue
            from ..media.probe import frame_index
            from ..media.reader import iter_frames

            n = len(frame_index(path))  # cached per file; the reader would refuse a frame outside it
            for f, frame in iter_frames(path, [f for f in frames if 0 <= f < n]):
                got[(media, f)] = frame
        except Exception:  # unreadable or moved media: these faces fall back to the aligned chips
            continue
    return got


def bank_crops(
    bank, per_bank: int = 1, margin: float = MARGIN, frames: dict | None = None
) -> tuple[list[np.ndarray], list[str]]:
    """Up to ``per_bank`` uint8 crops of the bank's best references, with margin when the source
    frames can be read; returns (crops, how each was made: "source" or "chip"). ``frames``: the
    source frames already read (:func:`read_sources`), else they are read here."""
    chips = getattr(bank, "reference_crops", None)
    chips = list(chips()) if callable(chips) else []
    wanted = _wanted(bank, per_bank)
    if frames is None:
        frames = read_sources(wanted)
    crops, how = [], []
    for k, src in enumerate(wanted):
        crop = None
        frame = frames.get((str(src.media), int(src.frame))) if src is not None else None
        if frame is not None:
            try:
                crop = crop_with_margin(frame, src.box, margin)
                how.append("source")
            except Exception:  # a box outside the frame (a bank made elsewhere): the aligned chip
                crop = None
        if crop is None and k < len(chips):
            crop = np.asarray(chips[k], np.uint8)
            how.append("chip")
        if crop is not None:
            crops.append(crop)
    return crops, how


def reference_crops(banks, per_bank: int = 2, margin: float = MARGIN) -> tuple:
    """``(crops, how)`` per bank, for ``GenerateRequest.references``; each media file is opened
    once for the reference frames of every bank."""
    banks = list(banks)
    frames = read_sources([src for b in banks for src in _wanted(b, per_bank)])
    return tuple(tuple(map(tuple, bank_crops(b, per_bank, margin, frames))) for b in banks)
