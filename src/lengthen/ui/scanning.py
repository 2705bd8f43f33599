"""Find the characters of a timeline: the frames its clips show, once per media set.

The scan is :func:`lengthen.api.characters_of` over the clips' visible ranges (the union per
file, so a 2 s clip of a 10 min rush costs 2 s of scanning): the same joint scan, with the same
default settings, as ``lengthen faces TIMELINE``, so both find the same characters. The result
is cached in the user cache under the media-set key (see :mod:`lengthen.ui.project`). Qt-free;
the panel runs it in a worker thread.
"""

from __future__ import annotations

from pathlib import Path

from ..api import clip_ranges as scan_ranges  # noqa: F401 (media -> (first, last) the clips show)
from ..errors import FaceError


def scan_timeline(
    ranges: dict, settings, backend=None, progress=None, unassigned: list | None = None
) -> tuple[list, list[str]]:
    """(characters, warnings) for the media ``ranges`` (see :func:`scan_ranges`). ``unassigned``,
    when given, gets a line when the scan left faces in no character (people seen too rarely to
    make one): the panel shows it, and scores read such faces as unknown."""
    from ..api import characters_of

    result = characters_of(ranges, settings, backend=backend, progress=progress)
    if unassigned is not None and result.dropped_faces:
        unassigned.append(f"{result.dropped_faces} faces (seen too rarely)")
    if progress is not None:
        progress.report("characters", 1, 1, f"{len(result.banks)} characters")
    return list(result.banks), [str(e) for e in result.errors]


def cached_scan(key: str):
    """The cached characters of a media-set key, or None."""
    from ..faces.bank import load_banks
    from ..paths import cache_dir

    folder = cache_dir("faces") / key
    if not (folder / "characters.json").is_file():
        return None
    try:
        return load_banks(folder)
    except FaceError:
        return None


def store_scan(key: str, banks: list) -> Path:
    from ..faces.bank import save_banks
    from ..paths import cache_dir

    return save_banks(banks, cache_dir("faces") / key)
