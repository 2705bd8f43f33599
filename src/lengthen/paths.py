"""Where lengthen keeps things on the user's machine (one place, overridable by environment)."""

from __future__ import annotations

import os
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent / "resources"


def cache_dir(*parts: str) -> Path:
    """``$LENGTHEN_CACHE`` or the platform's user cache folder (``~/.cache/lengthen`` on Linux)."""
    root = os.environ.get("LENGTHEN_CACHE")
    if not root:
        from platformdirs import user_cache_dir

        root = user_cache_dir("lengthen", appauthor=False)
    path = Path(root).joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "not writable", str(path))
    except OSError as exc:
        from .errors import UsageError, from_os_error

        where = "LENGTHEN_CACHE" if os.environ.get("LENGTHEN_CACHE") else "the user cache folder"
        raise UsageError(
            f"{where} cannot be used as lengthen's cache ({from_os_error(exc).message}); "
            "set LENGTHEN_CACHE to a writable folder",
            path=path,
        ) from None
    return path


def models_dirs() -> list[Path]:
    """Folders searched for local model weights: ``$LENGTHEN_MODELS`` (os.pathsep-separated)."""
    value = os.environ.get("LENGTHEN_MODELS", "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
