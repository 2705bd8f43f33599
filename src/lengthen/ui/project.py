"""The panel's project folder: one per timeline file, beside it, so reopening restores the choices.

Layout of ``<timeline folder>/<timeline file name>.lengthen/``::

    project.json        schema "lengthen.panel_project" version 1: per-clip lengths, mode, seed,
                        accepted flag and results; engine settings; characters in use
    banks/<key>/        the characters of this project's media set (edited in the panel), a bank
                        set as written by :func:`lengthen.faces.bank.save_banks`
    media/              generated media (``<clip>_<direction>_v001.mov``; a re-roll adds a version)
    run_banks/<hash>/   the subset of characters handed to one shot's render

``<key>`` names the media set: a hash of the media files (path, size, modification time) and of
the scan settings, so a changed media set gets a fresh scan and an unchanged one is reused. The
raw scan result is also kept in the user cache under the same key (``<cache>/faces/<key>``),
so another cut of the same footage skips the scan.

When the timeline's folder is not writable, the project folder lives in the user cache
(``<cache>/projects/<hash of the timeline path>``). Qt-free.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from ..errors import UsageError
from ..fsutil import atomic_write_text

SCHEMA, VERSION = "lengthen.panel_project", 1
SUFFIX = ".lengthen"


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def project_dir(timeline: str | Path) -> Path:
    """The project folder of a timeline file (created on first use by the writers)."""
    timeline = Path(os.path.abspath(timeline))
    beside = timeline.parent / f"{timeline.name}{SUFFIX}"
    if beside.is_dir() or _writable(timeline.parent):
        return beside
    from ..paths import cache_dir

    digest = hashlib.sha1(str(timeline).encode("utf-8")).hexdigest()[:16]
    return cache_dir("projects") / f"{timeline.stem}-{digest}"


def project_file(timeline: str | Path) -> Path:
    return project_dir(timeline) / "project.json"


def media_set_key(media: dict, scan_settings) -> str:
    """Key of a media set and how it is scanned: ``media`` maps path -> (first, last) frames."""
    parts = []
    for path in sorted(media):
        try:
            st = os.stat(path)
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = (None, None)
        parts.append([os.path.abspath(path), *stamp, list(media[path])])
    settings = asdict(scan_settings) if scan_settings is not None else None
    text = json.dumps({"media": parts, "scan": settings, "v": 1}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def load_project(timeline: str | Path) -> dict | None:
    """The saved choices for ``timeline``, or None (no project yet, or another file's)."""
    path = project_file(timeline)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"unreadable panel project ({exc}); delete it to start afresh", path=path) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"not a {SCHEMA} file", path=path)
    if data.get("version") != VERSION:
        raise UsageError(
            f"unsupported {SCHEMA} version {data.get('version')!r} (this lengthen reads {VERSION})", path=path
        )
    if os.path.abspath(data.get("timeline", "")) != os.path.abspath(timeline):
        return None  # a project folder copied along with another timeline: start afresh
    return data


def save_project(timeline: str | Path, data: dict) -> Path:
    """Write the project file atomically; ``data`` is the state's plain-JSON snapshot."""
    doc = {"schema": SCHEMA, "version": VERSION, "timeline": os.path.abspath(timeline), **data}
    return atomic_write_text(project_file(timeline), json.dumps(doc, indent=1, sort_keys=True))
