"""Filmstrip PNGs: the last source frames | the generated frames, with the seam marked.

Editors look, not read: every thumbnail carries its timecode, generated frames get a coloured bar
and the seam is a bright vertical line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SEAM = (255, 64, 160)
GENERATED = (255, 170, 0)


def filmstrip(
    source: np.ndarray,
    generated: np.ndarray,
    direction: str = "tail",
    *,
    source_timecodes=None,
    generated_timecodes=None,
    n_source: int = 4,
    n_generated: int = 8,
    thumb_height: int = 120,
) -> np.ndarray:
    """uint8 RGB image: thumbnails in time order, seam marked between source and generated."""
    from PIL import Image, ImageDraw

    def pick(frames, n, tcs, keep_end):
        idx = np.linspace(0, len(frames) - 1, num=min(n, len(frames))).round().astype(int)
        if keep_end:
            idx = np.arange(max(0, len(frames) - n), len(frames))
        return [(frames[i], tcs[i] if tcs else "") for i in idx]

    if direction == "tail":
        items = [(f, t, False) for f, t in pick(source, n_source, source_timecodes, True)]
        items += [(f, t, True) for f, t in pick(generated, n_generated, generated_timecodes, False)]
    else:
        items = [(f, t, True) for f, t in pick(generated, n_generated, generated_timecodes, False)]
        items += [
            (f, t, False)
            for f, t in pick(source[:n_source], n_source, (source_timecodes or [])[:n_source] or None, False)
        ]
    h = thumb_height
    w = int(round(source.shape[2] * h / source.shape[1]))
    gap, label = 4, 18
    sheet = Image.new("RGB", (len(items) * (w + gap) + gap, h + label + 2 * gap), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    seam_x = None
    for k, (frame, tc, is_gen) in enumerate(items):
        x = gap + k * (w + gap)
        sheet.paste(Image.fromarray(frame).resize((w, h), Image.BILINEAR), (x, gap))
        if is_gen:
            draw.rectangle([x, gap + h - 4, x + w - 1, gap + h - 1], fill=GENERATED)
        draw.text((x + 2, gap + h + 3), (tc or "") + (" gen" if is_gen else ""), fill=(230, 230, 230))
        if k and items[k - 1][2] != is_gen:
            seam_x = x - gap // 2 - 1
    if seam_x is not None:
        draw.rectangle([seam_x - 1, 0, seam_x + 1, sheet.height], fill=SEAM)
    return np.asarray(sheet)


def save_filmstrip(path: str | Path, *args, **kwargs) -> Path:
    from PIL import Image

    from ..fsutil import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(filmstrip(*args, **kwargs)).save(tmp, format="PNG")
    return Path(path)
