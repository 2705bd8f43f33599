"""Reel names for generated media: 8 ASCII characters, unique among the media of a folder.

A conform matches media by reel and timecode, so two generated files must never share a reel:
``L`` + three letters of the clip name + the kind (``H`` head, ``T`` tail, ``S`` spliced) + a
three-character base-36 serial that no media file already in the folder uses (``LMPFH001``,
``LMPFH002``, ...). Every file of one run goes to one folder, so reels are unique within a run
too. The source's own reel is kept in our metadata (``source_reel``) next to the new one.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..fsutil import file_stamp

REEL_LENGTH = 8  # CMX 3600 EDLs keep 8 characters
_KIND = {"head": "H", "tail": "T", "splice": "S"}
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MEDIA_SUFFIXES = {".mov", ".mp4", ".mxf", ".m4v"}
_cache: dict[tuple[str, int, int], str | None] = {}  # file_stamp -> reel: a folder is re-read per file


def read_reel(path) -> str | None:
    """The reel name stored in a media file's tags (``reel_name``/``reel``), or None."""
    key = file_stamp(path)
    if key is None:  # missing, or not a file: it holds no reel
        return None
    if key not in _cache:
        try:
            import av

            from ..media.probe import container_reel

            with av.open(str(path)) as container:
                reel = container_reel(container)
        except Exception:  # not media, or unreadable: it holds no reel
            reel = None
        _cache[key] = reel
    return _cache[key]


def reels_in(folder) -> set[str]:
    """Reels of the media files in ``folder`` (complete files only: hidden temporary names skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        return set()
    out = set()
    for entry in folder.iterdir():
        if entry.suffix.lower() in _MEDIA_SUFFIXES and not entry.name.startswith(".") and entry.is_file():
            reel = read_reel(entry)
            if reel:
                out.add(reel.strip().upper())
    return out


def _serial(n: int) -> str:
    out = ""
    for _ in range(3):
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
    return out


def unique_reel(folder, clip: str, kind: str, taken=()) -> str:
    """A reel for a new file in ``folder``: see the module doc; ``taken`` adds reels to avoid."""
    letters = re.sub(r"[^A-Z]", "", clip.upper())
    letters = (letters + re.sub(r"[^A-Z0-9]", "", clip.upper()) + "CLP")[:3]
    stem = f"L{letters}{_KIND.get(kind, kind[:1].upper())}"
    used = reels_in(folder) | {t.strip().upper() for t in taken}
    for n in range(1, 36**3):
        reel = stem + _serial(n)
        if reel not in used:
            return reel
    from ..errors import MediaError

    raise MediaError(f"no free reel name left for {stem}??? (46655 files of one clip)", path=folder)
