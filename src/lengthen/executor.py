"""Where shots run: the seam between the shot loop (:func:`lengthen.pipeline.render_shots`) and
the machines that render.

An executor is handed the run's jobs (:class:`ShotJob`: a shot, its request, and the banks chosen
beforehand) and a :class:`RunMonitor`, and yields ``(index, ShotOutcome)`` as each shot finishes, in
any order. Every outcome comes from :func:`lengthen.pipeline.run_shot` — a module-level function
of picklable values that never raises for one shot's failure (the error is ``outcome.error``) — so
one failure is isolated the same way wherever the shot ran. The only exception an executor lets
out is :class:`~lengthen.errors.Cancelled`, raised promptly once ``monitor.cancelled()``; a
cancelled run leaves no partial file behind (the pipeline's writers are atomic).

:class:`LocalExecutor` renders one shot after another in this process. A farm executor (Ray, a
queue, ...) implements the same :meth:`Executor.run` without touching the pipeline: it calls
``monitor.started(i)`` when shot ``i`` begins, forwards that shot's stage reports to
``monitor.shot_progress(i).report(...)`` (as often as it can), and polls ``monitor.cancelled()``.
In this process ``monitor.run_shot`` is ``pipeline.run_shot`` (this module imports no pipeline);
a worker elsewhere imports :func:`lengthen.pipeline.run_shot` itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .config import ExtendRequest
    from .progress import Progress
    from .shots import ShotOutcome, ShotSpec


@dataclass(frozen=True)
class ShotJob:
    """One shot to render: plain, picklable values."""

    spec: ShotSpec
    request: ExtendRequest
    banks: tuple = ()  # IdentityBanks chosen beforehand (the panel's cast); () -> request.banks_dir / scan
    key: str | None = None  # the front end's name for this job (the panel's clip id); default spec.clip_id


class RunMonitor:
    """The run's side of the seam: cancel, the run-level progress, and one progress per shot.

    ``on_event(kind, index, *data)`` (optional) hears ``started``, ``progress`` (stage, done,
    total, message), ``done`` (ShotOutcome) and ``failed`` (ShotOutcome whose ``error`` is set).
    """

    def __init__(self, progress: Progress, on_event=None, run_shot=None) -> None:
        self.progress = progress
        self.on_event = on_event or (lambda kind, index, *data: None)
        # ``lengthen.pipeline.run_shot``, handed down by render_shots so this module needs no
        # pipeline import (the pipeline imports it: one direction)
        self.run_shot = run_shot

    def cancelled(self) -> bool:
        return self.progress.cancelled()

    def check(self) -> None:
        self.progress.check()

    def started(self, index: int) -> None:
        self.on_event("started", index)

    def shot_progress(self, index: int) -> _ShotProgress:
        return _ShotProgress(self, index)


class _ShotProgress:
    """One shot's :class:`~lengthen.progress.Progress`: reports go to ``on_event("progress", i, ...)``;
    cancel follows the run."""

    def __init__(self, monitor: RunMonitor, index: int) -> None:
        self.monitor, self.index = monitor, index

    def report(self, stage: str, done: float, total: float | None = None, message: str = "") -> None:
        self.monitor.on_event("progress", self.index, stage, done, total, message)

    def cancelled(self) -> bool:
        return self.monitor.cancelled()

    def check(self) -> None:
        self.monitor.check()


@runtime_checkable
class Executor(Protocol):
    name: str

    def run(self, jobs: Sequence[ShotJob], monitor: RunMonitor) -> Iterator[tuple[int, ShotOutcome]]:
        """Render every job with :func:`lengthen.pipeline.run_shot`; yield (index, outcome) as each ends."""
        ...


class LocalExecutor:
    """One shot after another in this process (the CLI's and the panel's default)."""

    name = "local"

    def run(self, jobs: Sequence[ShotJob], monitor: RunMonitor) -> Iterator[tuple[int, ShotOutcome]]:
        for i, job in enumerate(jobs):
            monitor.check()
            monitor.started(i)
            yield i, monitor.run_shot(job, monitor.shot_progress(i))
