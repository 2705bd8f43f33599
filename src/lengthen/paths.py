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


def write_crash_log(command: str, argv, exc: BaseException) -> Path | None:
    """The traceback of an unexpected error, in a file (never on the terminal); its path or None."""
    import datetime
    import platform
    import sys
    import tempfile
    import traceback

    from . import __version__

    text = (
        f"lengthen {__version__} crash in {command!r}\n"
        f"time: {datetime.datetime.now(datetime.timezone.utc).isoformat()}\n"
        f"python: {sys.version.split()[0]} on {platform.platform()}\n"
        f"argv: {list(argv) if argv is not None else sys.argv[1:]!r}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    name = f"crash-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    folders = [lambda: cache_dir("crash"), lambda: Path(tempfile.gettempdir())]  # the cache may be what broke
    for folder in folders:
        try:
            path = folder() / name
            path.write_text(text, encoding="utf-8")
            return path
        except Exception:  # noqa: BLE001 - try the next place
            continue
    return None
