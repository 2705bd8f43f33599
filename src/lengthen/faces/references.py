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


def _read_source(media: str, frame: int) -> np.ndarray:
    from pathlib import Path

    path = Path(media)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        from ..guards import read_image_rgb

        return read_image_rgb(path)
    from ..media.reader import read_frame_list

    return read_frame_list(path, [int(frame)])[0]


def bank_crops(bank, per_bank: int = 1, margin: float = MARGIN) -> tuple[list[np.ndarray], list[str]]:
    """Up to ``per_bank`` uint8 crops of the bank's best references, with margin when the source
    frames can be read; returns (crops, how each was made: "source" or "chip")."""
    chips = getattr(bank, "reference_crops", None)
    chips = list(chips()) if callable(chips) else []
    refs = list(getattr(bank, "references", []) or [])
    sources = list(getattr(bank, "sources", []) or [])
    crops, how = [], []
    for k in range(min(per_bank, max(len(chips), len(refs)))):
        crop = None
        if k < len(refs) and refs[k] < len(sources):
            src = sources[refs[k]]
            try:
                crop = crop_with_margin(_read_source(src.media, src.frame), src.box, margin)
                how.append("source")
            except Exception:  # unreadable or moved media: fall back to the aligned chip
                crop = None
        if crop is None and k < len(chips):
            crop = np.asarray(chips[k], np.uint8)
            how.append("chip")
        if crop is not None:
            crops.append(crop)
    return crops, how


def reference_crops(banks, per_bank: int = 2, margin: float = MARGIN) -> tuple:
    """``(crops, how)`` per bank, for ``GenerateRequest.references``."""
    return tuple(tuple(map(tuple, bank_crops(b, per_bank, margin))) for b in banks)
