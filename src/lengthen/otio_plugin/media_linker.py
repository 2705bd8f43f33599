"""The ``lengthen_media`` OTIO media linker (see the package docstring).

Search order for a missing generated file ``NAME``: each folder of ``search_paths`` (argument
map: a list, or one string of folders separated by ``os.pathsep``), then of
``$LENGTHEN_MEDIA_PATH``; in each folder ``NAME`` itself, then ``*_media/NAME`` (the media folder
the panel and ``lengthen timeline`` write beside an exported timeline). A file is accepted only
when its size matches the recorded size (when one was recorded). No lengthen import beyond the
standard library and OTIO, so it loads fast inside any OTIO tool.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

KEY = "lengthen"


def _local_path(url: str) -> Path | None:
    if not url:
        return None
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        from opentimelineio import url_utils

        return Path(url_utils.filepath_from_url(url))
    if parsed.scheme and len(parsed.scheme) > 1:
        return None  # http:// and friends: not ours to relink
    return Path(url)


def search_folders(argument_map: dict | None) -> list[Path]:
    """``search_paths`` as a list of folders or one ``os.pathsep``-separated string (what
    ``otioconvert -M search_paths=/a:/b`` passes), then ``$LENGTHEN_MEDIA_PATH``."""
    given = (argument_map or {}).get("search_paths") or []
    if isinstance(given, (str, os.PathLike)):
        given = str(given).split(os.pathsep)
    folders = [str(f) for f in given if str(f)]
    folders += [p for p in os.environ.get("LENGTHEN_MEDIA_PATH", "").split(os.pathsep) if p]
    return [Path(f).expanduser() for f in folders]


def find_media(name: str, folders: list[Path], size: int | None = None) -> Path | None:
    for folder in folders:
        candidates = [folder / name] + sorted(folder.glob(f"*_media/{name}"))
        for c in candidates:
            if c.is_file() and (size is None or c.stat().st_size == size):
                return c
    return None


def link_media_reference(in_clip, media_linker_argument_map=None):
    """OTIO's media-linker entry: the reference ``in_clip`` should use."""
    import opentimelineio as otio

    ref = in_clip.media_reference
    info = in_clip.metadata.get(KEY) if hasattr(in_clip, "metadata") else None
    if info is None or not isinstance(ref, otio.schema.ExternalReference):
        return ref
    current = _local_path(ref.target_url)
    if current is None or current.is_file():
        return ref
    size = info.get("media_bytes")
    found = find_media(
        current.name, search_folders(media_linker_argument_map), int(size) if size is not None else None
    )
    if found is None:
        return ref
    linked = ref.clone()
    linked.target_url = otio.url_utils.url_from_filepath(str(found.resolve()))
    return linked
