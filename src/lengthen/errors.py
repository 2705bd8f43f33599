"""One exception tree for lengthen.

Every error keeps the offending value (path, clip name, frame index) so the CLI and the panel can
print one clear line per failed item. The CLI maps ``exit_code``: 2 for bad usage or bad input,
1 for an item that failed while running (a model that crashed, a cancelled run).
"""

from __future__ import annotations

from pathlib import Path


class LengthenError(Exception):
    """Root of everything lengthen raises on purpose."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        clip: str | None = None,
        frame: int | None = None,
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.clip = clip
        self.frame = frame
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.path is not None:
            where.append(printable(str(self.path)))
        if self.clip is not None:
            where.append(f"clip {self.clip!r}")
        if self.frame is not None:
            where.append(f"frame {self.frame}")
        message = printable(self.message)
        return f"{': '.join(where)}: {message}" if where else message


def _control(c: str) -> bool:
    return ord(c) < 32 or 127 <= ord(c) < 160  # C0, DEL and C1 (0x9b is a terminal's one-byte CSI)


def printable(text: str) -> str:
    """Text as one printable line: control characters (a newline in a file name or a JSON key, an ANSI
    escape) escaped, everything else (accents, other scripts) kept."""
    if any(_control(c) for c in text):
        return "".join(repr(c)[1:-1] if _control(c) else c for c in text)
    return text


class UsageError(LengthenError):
    """A command line or request that cannot be run as given."""


class MediaError(LengthenError):
    """A media file that cannot be probed, decoded or written."""


class TimelineError(LengthenError):
    """A timeline that cannot be read, planned or written."""


class FaceError(LengthenError):
    """Face detection, embedding or identity-bank problems."""


class ModelError(LengthenError):
    """Model weights missing, malformed, or a model that cannot run here."""


class EngineError(LengthenError):
    """An engine that failed while generating frames."""

    exit_code = 1


class Cancelled(LengthenError):
    """The user (or a progress callback) asked to stop; nothing partial was kept."""

    exit_code = 1

    def __init__(self, message: str = "cancelled", **where) -> None:
        super().__init__(message, **where)


class MissingDependency(LengthenError):
    """An optional dependency is not installed; the message names the pip extra."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"the optional dependency {module!r} is not installed; install it with: pip install 'lengthen[{extra}]'"
        )
        self.module = module
        self.extra = extra


class ResourceError(UsageError):
    """A request the machine cannot serve: not enough disk or memory, an unwritable place."""


class Interrupted(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) turned into an exception, so every ``with`` block and
    ``finally`` on the way out runs and removes partial files. Derives from KeyboardInterrupt so code
    that catches ``Exception`` never swallows it."""

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(name)
        self.signum = signum
        self.name = name


_ERRNO_WORDS = {
    "ENOSPC": "no space left on the device (disk full)",
    "EDQUOT": "disk quota exceeded",
    "EACCES": "permission denied",
    "EPERM": "operation not permitted",
    "EROFS": "read-only file system",
    "ENAMETOOLONG": "file name too long",
    "ENOENT": "not found",
    "ENOTDIR": "a part of the path is a file, not a folder",
    "EISDIR": "is a folder, not a file",
    "EEXIST": "already exists",
    "ELOOP": "too many levels of symbolic links",
    "EIO": "input/output error",
    "EMFILE": "too many open files",
}


def from_os_error(exc: OSError, path=None) -> LengthenError:
    """An OSError from the file system as one LengthenError naming the file (disk full, permission...)."""
    import errno

    code = errno.errorcode.get(exc.errno or 0, "")
    words = _ERRNO_WORDS.get(code) or (exc.strerror or exc.__class__.__name__).lower()
    where = path if path is not None else (exc.filename if exc.filename not in (None, "") else None)
    if isinstance(where, bytes):
        where = where.decode("utf-8", "replace")
    error = ResourceError(words, path=where) if code in ("ENOSPC", "EDQUOT") else UsageError(words, path=where)
    return error
