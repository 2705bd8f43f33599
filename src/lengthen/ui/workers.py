"""Worker threads: run a :mod:`lengthen.ui.jobs` function off the GUI thread.

A :class:`Worker` is a ``QRunnable`` that calls ``fn(*args, progress=QtProgress)``; the progress
object sends every report as a signal, and ``cancel()`` makes its next ``check()`` raise
:class:`~lengthen.errors.Cancelled`, so a job stops within one step. Results, errors and
cancellation come back as signals (queued onto the GUI thread); nothing here touches widgets.
"""

from __future__ import annotations

import threading
import traceback

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal

from ..errors import Cancelled, LengthenError
from ..progress import ProgressBase


class WorkerSignals(QObject):
    progress = pyqtSignal(str, float, float, str)  # stage, done, total (-1: unknown), message
    event = pyqtSignal(str, str, object)  # kind, key, payload tuple (job specific, e.g. per shot)
    finished = pyqtSignal(object)  # the job's return value
    failed = pyqtSignal(str)  # one line naming the file / clip
    cancelled = pyqtSignal()


class QtProgress(ProgressBase):
    """:class:`lengthen.progress.Progress` over Qt signals (cancel: the one progress base's)."""

    def __init__(self, signals: WorkerSignals) -> None:
        super().__init__()
        self.signals = signals

    def report(self, stage: str, done: float, total: float | None = None, message: str = "") -> None:
        self.signals.progress.emit(stage, float(done), float(total) if total is not None else -1.0, message)


class Worker(QRunnable):
    """``fn(*args, progress=..., **kwargs)`` in a pool thread; pass ``events=True`` to also give
    the job an ``on_event(kind, key, *data)`` callback that emits ``signals.event``."""

    def __init__(self, fn, *args, name: str = "", events: bool = False, **kwargs) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps us until a final signal arrived
        self.fn, self.args, self.kwargs, self.name = fn, args, kwargs, name or getattr(fn, "__name__", "job")
        self.signals = WorkerSignals()
        self.progress = QtProgress(self.signals)
        self.events = events
        self.thread_ident: int | None = None  # the thread the job ran on (tests check it is not the GUI's)
        self.done = threading.Event()

    def cancel(self) -> None:
        self.progress.cancel()

    def _on_event(self, kind: str, key: str, *data) -> None:
        self.signals.event.emit(kind, key, data)

    def run(self) -> None:  # pool thread
        self.thread_ident = threading.get_ident()
        kwargs = dict(self.kwargs, progress=self.progress)
        if self.events:
            kwargs["on_event"] = self._on_event
        try:
            self.progress.check()
            result = self.fn(*self.args, **kwargs)
        except Cancelled:
            self.done.set()
            self.signals.cancelled.emit()
        except LengthenError as exc:
            self.done.set()
            self.signals.failed.emit(exc.describe())
        except Exception as exc:  # shown to the editor, with the traceback on stderr
            traceback.print_exc()
            self.done.set()
            self.signals.failed.emit(f"{self.name}: {exc.__class__.__name__}: {exc}")
        else:
            self.done.set()
            self.signals.finished.emit(result)


class Pools:
    """Three pools: ``heavy`` (one thread: scans, runs, photos), ``light`` (decoding thumbnails,
    previews, reading and exporting) so a preview never waits behind a render, and ``io`` (one
    thread: saving characters, in order)."""

    def __init__(self) -> None:
        self.heavy = QThreadPool()
        self.heavy.setMaxThreadCount(1)
        self.light = QThreadPool()
        self.light.setMaxThreadCount(2)
        self.io = QThreadPool()
        self.io.setMaxThreadCount(1)
        self.active: set[Worker] = set()

    def start(self, worker: Worker, pool: str = "light") -> Worker:
        self.active.add(worker)
        for sig in (worker.signals.finished, worker.signals.failed, worker.signals.cancelled):
            sig.connect(lambda *_, w=worker: self.active.discard(w))
        getattr(self, pool).start(worker)
        return worker

    def cancel_all(self) -> None:
        for w in list(self.active):
            w.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        return all(p.waitForDone(msecs) for p in (self.heavy, self.light, self.io))
