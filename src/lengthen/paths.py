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
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dirs() -> list[Path]:
    """Folders searched for local model weights: ``$LENGTHEN_MODELS`` (os.pathsep-separated)."""
    value = os.environ.get("LENGTHEN_MODELS", "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
