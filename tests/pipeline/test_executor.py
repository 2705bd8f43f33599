"""The executor seam: render_shots runs jobs through any executor, isolates one failure (an input
error or a crash) the same way for every front end, keeps the order of the shots, and stops on
cancel leaving nothing behind."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from lengthen.config import ExtendRequest
from lengthen.errors import Cancelled, EngineError, MediaError
from lengthen.executor import Executor, LocalExecutor, RunMonitor, ShotJob
from lengthen.media.synthetic import stamped_clip
from lengthen.pipeline import render_shots, run_shot
from lengthen.progress import SilentProgress
from lengthen.shots import ShotSpec

RATE = Fraction(24)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return stamped_clip(tmp_path_factory.mktemp("exec") / "src.mp4", 30, rate=RATE)


def _spec(media, name, tail=3):
    return ShotSpec(clip=name, media=str(media), rate=RATE, first=0, last=29, tail_frames=tail, clip_id=name)


class ReverseExecutor:
    """Another executor through the same seam: runs the last shot first (as a farm may finish them)."""

    name = "reverse"

    def __init__(self) -> None:
        self.ran: list[int] = []

    def run(self, jobs, monitor: RunMonitor):
        for i in reversed(range(len(jobs))):
            monitor.check()
            monitor.started(i)
            self.ran.append(i)
            yield i, run_shot(jobs[i], monitor.shot_progress(i))


@pytest.mark.parametrize("executor", [LocalExecutor(), ReverseExecutor()], ids=["local", "reverse"])
def test_one_failure_is_isolated_and_order_kept(clip, tmp_path, executor):
    assert isinstance(executor, Executor)
    request = ExtendRequest(engine="freeze", scan_faces=False, output_dir=tmp_path / "out")
    jobs = [
        ShotJob(_spec(clip, "good1"), request),
        ShotJob(_spec(tmp_path / "missing.mp4", "missing"), request),
        # a crash (not a LengthenError): the chosen banks are not banks, so saving them fails
        ShotJob(_spec(clip, "crash"), replace(request, banks_dir=tmp_path / "b"), ("x",)),
        ShotJob(_spec(clip, "good2"), request),
    ]
    events = []
    outcomes = render_shots(jobs, executor=executor, on_event=lambda kind, i, *data: events.append((kind, i)))
    assert [o.spec.clip for o in outcomes] == ["good1", "missing", "crash", "good2"]
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert isinstance(outcomes[1].error, MediaError) and "missing.mp4" in str(outcomes[1].error)
    assert isinstance(outcomes[2].error, EngineError) and str(outcomes[2].error).startswith("clip 'crash': ")
    # a crash is a bug: its one line names the crash log, which holds the traceback
    log = Path(str(outcomes[2].error).split("the traceback is in ")[1].rstrip(")"))
    assert "Traceback (most recent call last)" in log.read_text() and "shot crash" in log.read_text()
    assert ("failed", 2) in events and ("done", 3) in events and ("started", 1) in events
    assert all(len(o.generated) == 1 and o.generated[0].path.is_file() for o in (outcomes[0], outcomes[3]))
    if isinstance(executor, ReverseExecutor):
        assert executor.ran == [3, 2, 1, 0]


def test_plain_specs_share_a_request_and_cancel_stops_the_run(clip, tmp_path):
    out = tmp_path / "out"
    request = ExtendRequest(engine="freeze", scan_faces=False, output_dir=out)
    progress = SilentProgress()
    outcomes = render_shots([_spec(clip, "a"), _spec(clip, "b", tail=2)], request, progress)
    assert [o.generated[0].frames for o in outcomes] == [3, 2]
    shots = [e for e in progress.events if e[0] == "shots"]
    assert shots[0][1:3] == (0, 2) and shots[-1][1:3] == (2, 2)
    assert any(e[0] != "shots" for e in progress.events)  # each shot's stages reach the run's progress

    cancelled = SilentProgress()
    cancelled.cancel()
    before = sorted(out.iterdir())
    with pytest.raises(Cancelled):
        render_shots([_spec(clip, "c")], request, cancelled)
    assert sorted(out.iterdir()) == before
