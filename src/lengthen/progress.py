"""The progress seam: one protocol that the CLI (a terminal line) and the panel (Qt signals) implement.

Long stages call ``progress.report(stage, done, total)`` at every step and ``progress.check()``
between steps; ``check`` raises :class:`~lengthen.errors.Cancelled` once cancellation was asked for.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, runtime_checkable

from .errors import Cancelled, printable


@runtime_checkable
class Progress(Protocol):
    def report(self, stage: str, done: float, total: float | None = None, message: str = "") -> None: ...

    def cancelled(self) -> bool: ...

    def check(self) -> None: ...


class ProgressBase:
    """The one base of every progress: thread-safe cancel (``cancel`` from any thread, ``check``
    raises :class:`~lengthen.errors.Cancelled` after it); ``report`` shows nothing. The terminal
    line and the panel's Qt signals override ``report`` only."""

    def __init__(self) -> None:
        self._cancel = threading.Event()

    def report(self, stage: str, done: float, total: float | None = None, message: str = "") -> None:
        pass

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled()


class SilentProgress(ProgressBase):
    """Progress that shows nothing, keeps the reports (``events``) and can still be cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, float, float | None, str]] = []

    def report(self, stage: str, done: float, total: float | None = None, message: str = "") -> None:
        self.events.append((stage, done, total, message))


class TerminalProgress(SilentProgress):
    """One updating line on stderr per stage (plain lines when stderr is not a terminal)."""

    def __init__(self, stream=None, min_interval: float | None = None) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        tty = getattr(self.stream, "isatty", lambda: False)()
        # a live line redraws often; a log file gets a line every few seconds per stage
        self.min_interval = min_interval if min_interval is not None else (0.25 if tty else 5.0)
        self._last = 0.0
        self._stage = None
        self._start = time.monotonic()

    def report(self, stage: str, done: float, total: float | None = None, message: str = "") -> None:
        super().report(stage, done, total, message)
        now = time.monotonic()
        if stage != self._stage:
            self._stage, self._start = stage, now
        finished = total is not None and done >= total
        new_stage = stage != getattr(self, "_shown_stage", None)
        if not finished and not new_stage and now - self._last < self.min_interval:
            return
        self._last = now
        self._shown_stage = stage
        if total:
            pct = 100.0 * done / total
            elapsed = now - self._start
            eta = max(0.0, elapsed / done * (total - done)) if done else 0.0
            text = f"{stage}: {done:g}/{total:g} ({pct:3.0f}%, eta {eta:4.0f}s) {message}"
        else:
            text = f"{stage}: {message or done}"
        text = printable(text)  # a file name in the message cannot split the line or drive the terminal
        tty = getattr(self.stream, "isatty", lambda: False)()
        if tty:
            self.stream.write("\r\x1b[2K" + text + ("\n" if finished else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
