"""Identity reference images for the engines, taken from the identity banks.

For each character the best reference faces are cut again **with margin** (hair, jaw, some
shoulders: what a video model needs to keep a person, not only the aligned face chip) from the
frames they were found in, using the bank's face records (``sources[i].media/.frame/.box``).
When a source cannot be read (a moved file, a bank made elsewhere) the bank's aligned chip
(``reference_crops()``) is used instead. Banks are duck-typed: anything with
``reference_crops()`` works; ``name``, ``sources`` and ``references`` are used when present.

:func:`reference_images` turns crops of any size into RGB images on a white square canvas (the
convention of Wan-VACE's reference frames), one per character, best first.
"""

from __future__ import annotations

import numpy as np

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
    if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"):
        from PIL import Image

        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
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


def reference_images(crops: list[np.ndarray], size: int = 256, max_images: int = 3):
    """uint8 crops of any size -> up to ``max_images`` RGB PIL images, each scaled (keeping its
    aspect) into a ``size`` x ``size`` white canvas."""
    from PIL import Image

    out = []
    for crop in crops[:max_images]:
        crop = np.asarray(crop, np.uint8)
        if crop.ndim != 3 or crop.shape[2] != 3 or min(crop.shape[:2]) < 2:
            raise ValueError(f"reference crop must be uint8 (H, W, 3), got {crop.shape}")
        h, w = crop.shape[:2]
        scale = size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        img = Image.fromarray(crop).resize((nw, nh), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (size, size), (255, 255, 255))
        canvas.paste(img, ((size - nw) // 2, (size - nh) // 2))
        out.append(canvas)
    return out


def bank_reference_images(banks, per_bank: int = 1, size: int = 256, max_images: int = 3):
    """One reference image per character (best reference first), and a record of their origin."""
    crops, record = [], []
    for bank in banks:
        got, how = bank_crops(bank, per_bank)
        crops += got
        record += [{"character": getattr(bank, "name", "?"), "from": h} for h in how]
    images = reference_images(crops, size, max_images)
    return images, record[: len(images)]
