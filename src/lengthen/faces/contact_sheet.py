"""A contact sheet: one row per character, its name and id, then its reference crops (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..fsutil import atomic_path, makedirs
from .bank import IdentityBank

THUMB = 96
PAD = 8
LABEL_W = 200


def render_contact_sheet(banks: Sequence[IdentityBank], thumb: int = THUMB):
    """A Pillow RGB image; an empty bank set gives a one-line "no characters" sheet."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    k = max([len(b.references) for b in banks] + [1])
    width = LABEL_W + k * (thumb + PAD) + PAD
    height = PAD + max(1, len(banks)) * (thumb + PAD)
    sheet = Image.new("RGB", (width, height), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    if not banks:
        draw.text((PAD, PAD), "no characters found", fill=(230, 230, 230), font=font)
    for row, bank in enumerate(banks):
        y = PAD + row * (thumb + PAD)
        draw.text((PAD, y + 4), bank.name, fill=(240, 240, 240), font=font)
        draw.text((PAD, y + 22), f"{bank.id}  {len(bank)} faces", fill=(170, 170, 170), font=font)
        for col, crop in enumerate(bank.reference_crops()):
            x = LABEL_W + col * (thumb + PAD)
            sheet.paste(Image.fromarray(crop).resize((thumb, thumb), Image.BILINEAR), (x, y))
    return sheet


def write_contact_sheet(banks: Sequence[IdentityBank], path: str | Path, thumb: int = THUMB) -> Path:
    """Render and write atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    makedirs(path.parent)
    sheet = render_contact_sheet(banks, thumb)
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return path
