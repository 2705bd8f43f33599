"""A resumable run of many shots over any executor.

:func:`render_resumable` asks the run manifest which jobs are already done (same request, files
present), sends only the others through :func:`lengthen.pipeline.render_shots` with the given
executor, and records each shot in the manifest the moment it finishes. The outcomes come back
in job order, reused and new alike, so the timeline written from them is the same whichever
shots this run rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class RunResult:
    outcomes: list
    rendered: list[int] = field(default_factory=list)  # indexes rendered by this run
    reused: list[int] = field(default_factory=list)  # indexes taken from the manifest


def render_resumable(jobs: Sequence, *, manifest=None, executor=None, progress=None) -> RunResult:
    """Render what ``manifest`` (a :class:`~.manifest.RunManifest`, or None) does not hold yet.

    ``progress``: a :class:`~.progress.RunProgress` (or any Progress; its ``event`` method, when it
    has one, hears the seam's events). Cancelled / KeyboardInterrupt propagate after the finished
    shots were recorded."""
    from ..pipeline import render_shots
    from ..progress import SilentProgress

    progress = progress or SilentProgress()
    known = [manifest.done(job) if manifest is not None else None for job in jobs]
    todo = [i for i, o in enumerate(known) if o is None]
    outcomes = list(known)
    hear = getattr(progress, "event", None)

    def on_event(kind, index, *data):
        i = todo[index]
        if kind in ("done", "failed"):
            outcomes[i] = data[0]
            if kind == "done" and manifest is not None:
                manifest.record(jobs[i], data[0], **_farm_info(data[0]))
        if hear is not None:
            hear(kind, i, *data)

    if todo:
        render_shots([jobs[i] for i in todo], progress=progress, executor=executor, on_event=on_event)
    return RunResult(outcomes=outcomes, rendered=todo, reused=[i for i, o in enumerate(known) if o is not None])


def _farm_info(outcome) -> dict:
    farm = outcome.report.get("farm", {})
    return {k: farm[k] for k in ("host", "attempt") if k in farm}
