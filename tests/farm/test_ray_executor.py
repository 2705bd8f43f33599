"""The Ray executor on a private local Ray with 2 CPUs (one session for the module), motion engine,
tiny synthetic clips: same frames and timeline as in-process, a killed worker retried, an
interrupted run resumed, user errors not retried, loopback only."""

from __future__ import annotations

import contextlib
import io
import json
import socket
from pathlib import Path

import numpy as np
from farm_helpers import descendants, listening_addresses, normalized

from lengthen.cli import main
from lengthen.media.probe import probe
from lengthen.media.reader import read_frames

ARGS = ["--tail", "6", "--engine", "motion", "--no-faces"]


def _timeline(cut: Path, out: Path, *extra) -> dict:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["timeline", str(cut), "-o", str(out), *ARGS, "--json", *extra])
    assert code == 0
    return json.loads(buf.getvalue())


def _read(g: dict) -> np.ndarray:
    return read_frames(g["media"], 0, g["frames"])


def _frames(summary) -> dict:
    shots = summary["shots"]
    return {(s["clip"], g["direction"]): _read(g) for s in shots for g in s["generated"]}


def _leftovers(media_dir: Path) -> list[Path]:
    return [p for p in media_dir.rglob("*") if ".staging" in p.parts or ".partial" in p.name or p.name == ".staging"]


def test_ray_run_equals_in_process_and_listens_on_loopback_only(ray_local, cut4, tmp_path):
    local = _timeline(cut4, tmp_path / "a" / "out.otio")
    farm = _timeline(cut4, tmp_path / "b" / "out.otio", "--executor", "ray")
    assert (local["executor"], farm["executor"]) == ("local", "ray")
    assert len(farm["rendered"]) == 4 and farm["reused"] == []
    a, b = _frames(local), _frames(farm)
    assert sorted(a) == [(f"shot{k}", "tail") for k in range(4)]
    for key in a:
        assert a[key].shape == (6, 64, 96, 3) and np.array_equal(a[key], b[key]), key
    assert [Path(g["media"]).name for s in farm["shots"] for g in s["generated"]] == [
        f"shot{k}_tail_v001.mov" for k in range(4)
    ]
    assert normalized(tmp_path / "a" / "out.otio", tmp_path / "a" / "out_media") == normalized(
        tmp_path / "b" / "out.otio", tmp_path / "b" / "out_media"
    )
    assert probe(farm["shots"][2]["generated"][0]["media"]).start_timecode == "01:00:02:20"  # continues the source
    assert _leftovers(tmp_path / "b" / "out_media") == []
    # every Ray server and worker this session started listens on the loopback interface only
    addresses = listening_addresses(descendants())
    assert addresses and addresses <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, addresses


def _plan_jobs(cut: Path, media_dir: Path):
    from lengthen.config import ExtendRequest
    from lengthen.engines.base import EngineSettings
    from lengthen.executor import ShotJob
    from lengthen.timeline import plan_timeline, read_timeline

    doc = read_timeline(str(cut))
    plan = plan_timeline(doc, tail="6")
    request = ExtendRequest(engine="motion", settings=EngineSettings(), output_dir=media_dir, scan_faces=False)
    return doc, [ShotJob(spec, request) for spec in plan.to_render]


def test_killed_worker_is_retried_with_identical_outputs_and_nothing_partial(ray_local, cut4, tmp_path):
    from lengthen.executor import LocalExecutor
    from lengthen.farm.ray_executor import RayExecutor
    from lengthen.pipeline import render_shots

    doc, jobs = _plan_jobs(cut4, tmp_path / "local")
    reference = render_shots(jobs[:2], executor=LocalExecutor())
    doc, jobs = _plan_jobs(cut4, tmp_path / "farm")
    # fault injection: the worker rendering the second shot kills itself (SIGKILL) after its first attempt
    # wrote its files
    executor = RayExecutor(retries=2, faults={jobs[1].spec.clip_id: "kill-first-attempt"})
    outcomes = render_shots(jobs[:2], executor=executor)
    assert [o.error for o in outcomes] == [None, None]
    assert [executor.results[i]["attempt"] for i in (0, 1)] == [1, 2]
    assert outcomes[1].report["farm"]["attempt"] == 2
    for ref, got in zip(reference, outcomes):
        (g0,), (g1,) = ref.generated, got.generated
        assert g1.path.name == g0.path.name and g1.path.parent == tmp_path / "farm"
        assert np.array_equal(read_frames(g0.path, 0, g0.frames), read_frames(g1.path, 0, g1.frames))
    assert sorted(p.name for p in (tmp_path / "farm").iterdir()) == ["shot0_tail_v001.mov", "shot1_tail_v001.mov"]


def test_worker_that_dies_every_time_fails_its_shot_only(ray_local, cut4, tmp_path):
    from lengthen.farm.ray_executor import RayExecutor
    from lengthen.pipeline import render_shots

    doc, jobs = _plan_jobs(cut4, tmp_path / "farm")
    executor = RayExecutor(retries=0, faults={jobs[0].spec.clip_id: "kill-first-attempt"})
    outcomes = render_shots(jobs[:2], executor=executor)
    assert outcomes[1].error is None and outcomes[0].error is not None
    assert "worker died 1 time(s)" in str(outcomes[0].error) and "shot0" in str(outcomes[0].error)
    assert sorted(p.name for p in (tmp_path / "farm").iterdir()) == ["shot1_tail_v001.mov"]


def test_unreadable_media_is_a_user_error_naming_the_machine_and_not_retried(ray_local, cut4, tmp_path):
    from dataclasses import replace

    from lengthen.errors import MediaError
    from lengthen.farm.ray_executor import RayExecutor
    from lengthen.pipeline import render_shots

    doc, jobs = _plan_jobs(cut4, tmp_path / "farm")
    gone = tmp_path / "moved_away.mp4"
    jobs[0] = replace(jobs[0], spec=replace(jobs[0].spec, media=str(gone)))
    executor = RayExecutor(retries=2)
    outcomes = render_shots(jobs[:2], executor=executor)
    assert isinstance(outcomes[0].error, MediaError) and outcomes[1].error is None
    text = str(outcomes[0].error)
    assert f"worker {socket.gethostname()} cannot read the media" in text and str(gone) in text
    assert executor.results[0]["attempt"] == 1  # not retried


def test_unwritable_output_folder_is_one_error_naming_the_machine_and_folder(ray_local, cut4, tmp_path):
    from lengthen.errors import UsageError
    from lengthen.farm.ray_executor import RayExecutor
    from lengthen.pipeline import render_shots

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder's parent should be")
    doc, jobs = _plan_jobs(cut4, blocker / "media")
    outcomes = render_shots(jobs[:1], executor=RayExecutor())
    error = outcomes[0].error
    assert isinstance(error, UsageError) and error.path == blocker / "media"
    assert f"worker {socket.gethostname()} cannot write the output folder" in str(error)
    assert blocker.read_text().startswith("a file")


def test_interrupted_run_renders_only_the_rest_when_run_again(ray_local, cut4, tmp_path, monkeypatch, capsys):
    from lengthen.farm.progress import RunProgress

    out = tmp_path / "run" / "out.otio"
    finished = []
    hear = RunProgress.event

    def ctrl_c_after_two(self, kind, index, *data):  # the user presses Ctrl-C when the second shot is in
        hear(self, kind, index, *data)
        if kind == "done":
            finished.append(index)
            if len(finished) == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr(RunProgress, "event", ctrl_c_after_two)
    code = main(["timeline", str(cut4), "-o", str(out), *ARGS, "--executor", "ray"])
    assert code == 130 and "2 of 4 shots are finished" in capsys.readouterr().err
    monkeypatch.undo()
    media = out.with_name("out_media")
    assert not out.exists() and _leftovers(media) == []
    manifest = json.loads(out.with_name("out.otio.run.json").read_text())
    assert len(manifest["shots"]) == 2
    assert sorted(p.name for p in media.iterdir()) == sorted(
        Path(s["outcome"]["generated"][0]["path"]).name for s in manifest["shots"].values()
    )
    again = _timeline(cut4, out, "--executor", "ray", "--resume")
    assert sorted(again["reused"]) == sorted(manifest["shots"]) and len(again["rendered"]) == 2
    assert set(again["rendered"]).isdisjoint(again["reused"])
    _timeline(cut4, tmp_path / "direct" / "out.otio")
    assert normalized(out, media) == normalized(tmp_path / "direct" / "out.otio", tmp_path / "direct" / "out_media")


def test_gpu_engine_on_a_ray_without_gpu_is_refused_before_work(ray_local, cut4, tmp_path, capsys):
    from lengthen.config import ExtendRequest
    from lengthen.engines.base import EngineSettings
    from lengthen.farm.ray_executor import task_resources

    assert task_resources(ExtendRequest(engine="wan-vace")) == {"num_cpus": 1, "num_gpus": 1}
    assert task_resources(ExtendRequest(engine="ltx", settings=EngineSettings(device="cpu"))) == {
        "num_cpus": 1,
        "num_gpus": 0,
    }
    assert task_resources(ExtendRequest(engine="builtin"), cpus_per_shot=2) == {"num_cpus": 2, "num_gpus": 0}
    out = tmp_path / "gpu.otio"
    code = main(["timeline", str(cut4), "-o", str(out), "--tail", "6", "--engine", "wan-vace", "--no-faces",
                 "--executor", "ray"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "has 0 GPU; a shot needs 1" in err, err
    assert not out.exists() and not list(out.with_name("gpu_media").glob("*.mov"))


def test_the_panel_runs_a_timeline_through_ray(ray_local, cut4):
    from lengthen.progress import SilentProgress
    from lengthen.ui import jobs
    from lengthen.ui.state import PanelState

    state = PanelState()
    state.adopt(PanelState.read(cut4))
    state.set_engine("motion")
    state.set_executor("ray")
    items = state.run_items()
    handlers = {
        "started": state.shot_started,
        "progress": state.shot_progress,
        "done": state.shot_done,
        "failed": state.shot_failed,
    }
    counts = jobs.run_shots(
        items,
        SilentProgress(),
        lambda kind, clip_id, *data: handlers[kind](clip_id, *data),
        executor=state.make_executor(),
    )
    state.run_finished()
    assert counts == {"done": 4, "failed": 0}
    assert [r.status for r in state.rows] == ["done"] * 4
    made = [g for r in state.rows for g in r.outcome.generated]  # the panel's default: 12 handles, head and tail
    assert [g.direction for g in made] == ["head", "tail"] * 4 and all(g.path.is_file() for g in made)
    assert all(r.outcome.report["farm"]["executor"] == "ray" for r in state.rows)
    assert len({g.path for g in made}) == len({g.metadata["reel"] for g in made}) == 8  # names and reels unique
    state.close()
