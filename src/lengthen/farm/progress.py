"""One aggregate progress line for a run of many shots: done, running, failed, ETA.

:class:`RunProgress` is the run's :class:`~lengthen.progress.Progress` (cancel included) and
hears the executor seam's events (``on_event``); it draws one line on a terminal (redrawn in
place) or prints a line whenever a shot ends when the output is a log file.
"""

from __future__ import annotations

import sys
import time

from ..progress import SilentProgress


class RunProgress(SilentProgress):
    def __init__(self, total: int, reused: int = 0, stream=None, quiet: bool = False) -> None:
        super().__init__()
        self.total, self.reused = total, reused
        self.done = self.failed = 0
        self.running: set[int] = set()
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self._t0 = time.monotonic()
        self._last_draw = 0.0

    def report(self, stage: str, done: float, total: float | None = None, message: str = "") -> None:
        pass  # per-stage reports of single shots do not make the aggregate line

    def event(self, kind: str, index: int, *data) -> None:
        if kind == "started":
            self.running.add(index)
        elif kind in ("done", "failed"):
            self.running.discard(index)
            if kind == "done":
                self.done += 1
            else:
                self.failed += 1
        else:
            if self.tty and time.monotonic() - self._last_draw > 0.5:
                self.draw()
            return
        self.draw()

    def eta_seconds(self) -> float | None:
        finished = self.done + self.failed
        left = self.total - self.reused - finished
        if finished == 0:
            return None
        return (time.monotonic() - self._t0) / finished * max(0, left)

    def line(self) -> str:
        eta = self.eta_seconds()
        eta_text = "--:--" if eta is None else f"{int(eta) // 60}:{int(eta) % 60:02d}"
        reused = f", {self.reused} already done" if self.reused else ""
        return (
            f"shots: {self.done + self.reused}/{self.total} done{reused}, {len(self.running)} running, "
            f"{self.failed} failed, eta {eta_text}"
        )

    def draw(self, final: bool = False) -> None:
        if self.quiet:
            return
        self._last_draw = time.monotonic()
        line = self.line()
        if self.tty:
            self.stream.write("\r\x1b[2K" + line + ("\n" if final else ""))
        elif line != getattr(self, "_last_line", None):  # a log gets each state once
            self.stream.write(line + "\n")
        self._last_line = line
        self.stream.flush()
