"""Identity reference images for the engines, from crops the pipeline cut.

Engines never read media: the pipeline cuts each character's best reference faces with margin
from the source frames (:mod:`lengthen.faces.references`) and hands them over in
``GenerateRequest.references`` (one ``(crops, how)`` per bank). Without them (an engine called
directly) the banks' aligned chips (``reference_crops()``, in memory) are used.

:func:`reference_images` turns crops of any size into RGB images on a white square canvas (the
convention of Wan-VACE's reference frames), one per character, best first.
"""

from __future__ import annotations

import numpy as np


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


def bank_reference_images(banks, per_bank: int = 1, size: int = 256, max_images: int = 3, references=()):
    """One reference image per character (best reference first), and a record of their origin.
    ``references``: the pipeline's ``(crops, how)`` per bank; else each bank's aligned chips."""
    crops, record = [], []
    for i, bank in enumerate(banks):
        if i < len(references):
            got, how = list(references[i][0][:per_bank]), list(references[i][1][:per_bank])
        else:
            chips = getattr(bank, "reference_crops", None)
            got = [np.asarray(c, np.uint8) for c in (list(chips()) if callable(chips) else [])[:per_bank]]
            how = ["chip"] * len(got)
        crops += got
        record += [{"character": getattr(bank, "name", "?"), "from": h} for h in how]
    images = reference_images(crops, size, max_images)
    return images, record[: len(images)]
