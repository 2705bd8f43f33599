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
            where.append(str(self.path))
        if self.clip is not None:
            where.append(f"clip {self.clip!r}")
        if self.frame is not None:
            where.append(f"frame {self.frame}")
        return f"{': '.join(where)}: {self.message}" if where else self.message


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
