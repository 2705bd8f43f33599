"""Without Ray: job files (--jobs-only, render-job, --assemble), the run manifest (rerun renders
nothing and writes the same timeline; a changed request renders that shot only), the progress line,
and the message when the [farm] extra is missing."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

from farm_helpers import normalized

from lengthen.cli import main

ARGS = ["--tail", "6", "--engine", "motion", "--no-faces"]


def _run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_jobs_only_render_job_and_assemble_give_the_direct_runs_timeline(cut4, tmp_path):
    jobs = tmp_path / "jobs"
    code, out, _ = _run("timeline", str(cut4), "--jobs-only", str(jobs), *ARGS)
    assert code == 0 and "wrote 4 jobs" in out
    assert sorted(p.name for p in jobs.iterdir()) == ["0000.json", "0001.json", "0002.json", "0003.json", "plan.json"]
    job = json.loads((jobs / "0002.json").read_text())
    assert job["spec"]["clip"] == "shot2" and job["request"]["engine"] == "motion"
    assert job["outputs"] == {"tail": str(jobs / "media" / "shot2_tail_v001.mov")}

    assert _run("render-job", str(jobs / "0001.json"))[0] == 0
    made = jobs / "media" / "shot1_tail_v001.mov"
    stamp = made.stat().st_mtime_ns
    code, out, _ = _run("render-job", str(jobs / "0001.json"))  # idempotent: nothing rendered again
    assert code == 0 and out.strip().endswith("already done") and made.stat().st_mtime_ns == stamp

    code, out, err = _run("timeline", "--assemble", str(jobs), "-o", str(tmp_path / "partial.otio"))
    assert code == 1 and "1 of 4 jobs finished; 3 missing" in out
    assert [line.split()[-1] for line in err.splitlines() if "missing job" in line] == [
        str(jobs / f"000{i}.json") for i in (0, 2, 3)
    ]
    for i in (0, 2, 3):
        assert _run("render-job", str(jobs / f"000{i}.json"))[0] == 0
    assembled = tmp_path / "assembled.otio"
    code, out, _ = _run("timeline", "--assemble", str(jobs), "-o", str(assembled))
    assert code == 0 and "4 of 4 jobs finished; 0 missing" in out
    direct = tmp_path / "direct" / "out.otio"
    assert _run("timeline", str(cut4), "-o", str(direct), *ARGS)[0] == 0
    assert normalized(assembled, jobs / "media") == normalized(direct, direct.with_name("out_media"))
    assert not (jobs / "media" / ".staging").exists()


def test_render_job_errors_name_the_file(cut4, tmp_path):
    jobs = tmp_path / "jobs"
    assert _run("timeline", str(cut4), "--jobs-only", str(jobs), *ARGS)[0] == 0
    code, _, err = _run("render-job", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json: file not found" in err
    code, _, err = _run("render-job", str(jobs / "plan.json"))
    assert code == 2 and "not a lengthen.job file" in err
    os.utime(tmp_path / "media" / "shot3.mp4", ns=(1, 1))  # the media changed since the jobs were written
    code, _, err = _run("render-job", str(jobs / "0003.json"))
    assert code == 2 and "changed since the job was written" in err and "shot3.mp4" in err
    code, _, err = _run("timeline", str(cut4), "--jobs-only", str(jobs), *ARGS)
    assert code == 2 and "jobs were already written here" in err
    code, _, err = _run("timeline", str(cut4), "--jobs-only", str(tmp_path / "j2"), "-o", str(tmp_path / "x.otio"))
    assert code == 2 and "give -o to --assemble" in err and not (tmp_path / "j2").exists()
    code, _, err = _run("timeline", "--assemble", str(jobs))
    assert code == 2 and "--assemble needs -o OUT" in err


def test_rerun_renders_nothing_and_keeps_the_timeline_and_a_changed_shot_is_rendered_again(cut4, tmp_path):
    out = tmp_path / "out.otio"
    code, text, err = _run("timeline", str(cut4), "-o", str(out), *ARGS, "--json")
    assert code == 0 and len(json.loads(text)["rendered"]) == 4
    assert "shots: 4/4 done, 0 running, 0 failed" in err  # the aggregate progress line
    first = out.read_bytes()
    code, text, _ = _run("timeline", str(cut4), "-o", str(out), *ARGS, "--json")
    summary = json.loads(text)
    assert code == 0 and summary["rendered"] == [] and len(summary["reused"]) == 4
    assert out.read_bytes() == first
    media = sorted(p.name for p in out.with_name("out_media").iterdir())
    os.utime(tmp_path / "media" / "shot1.mp4", ns=(1, 1))  # shot1's source is not the same file any more
    code, text, _ = _run("timeline", str(cut4), "-o", str(out), *ARGS, "--json", "--resume")
    summary = json.loads(text)
    assert code == 0 and [s["clip"] for s in summary["shots"] if s["clip_id"] in summary["rendered"]] == ["shot1"]
    assert sorted(p.name for p in out.with_name("out_media").iterdir()) == sorted(media + ["shot1_tail_v002.mov"])
    # a timeline that is not ours is still never overwritten
    other = tmp_path / "other.otio"
    other.write_text("{}")
    code, _, err = _run("timeline", str(cut4), "-o", str(other), *ARGS)
    assert code == 2 and f"{other}: the output timeline exists; refusing to overwrite" in err
    assert other.read_text() == "{}"
    code, _, err = _run("timeline", str(cut4), "-o", str(tmp_path / "fresh.otio"), *ARGS, "--resume")
    assert code == 2 and "nothing to resume" in err


def test_progress_line_counts_and_eta():
    from lengthen.farm.progress import RunProgress

    stream = io.StringIO()
    p = RunProgress(5, reused=1, stream=stream)
    p.event("started", 0)
    p.event("started", 1)
    assert p.line().startswith("shots: 1/5 done, 1 already done, 2 running, 0 failed, eta --:--")
    p.event("done", 0, None)
    p.event("failed", 1, None)
    assert p.line().startswith("shots: 2/5 done, 1 already done, 0 running, 1 failed, eta ")
    assert p.eta_seconds() is not None and stream.getvalue().count("\n") == 4


def test_ray_executor_without_the_extra_names_the_pip_command(cut4, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    code, _, err = _run("timeline", str(cut4), "-o", str(tmp_path / "o.otio"), *ARGS, "--executor", "ray")
    assert code == 2 and "pip install 'lengthen[farm]'" in err
    assert not Path(tmp_path / "o_media").exists()
    code, _, err = _run("timeline", str(cut4), "-o", str(tmp_path / "o.otio"), *ARGS, "--ray-address", "x:1")
    assert code == 2 and "--ray-address needs --executor ray" in err


def test_spliced_run_again_reuses_its_joined_media_and_writes_the_same_timeline(cut4, tmp_path):
    out = tmp_path / "spliced.otio"
    code, text, _ = _run("timeline", str(cut4), "-o", str(out), *ARGS, "--splice", "--json")
    first = json.loads(text)
    assert code == 0 and all(s["spliced"] for s in first["shots"])
    before, media = out.read_bytes(), sorted(p.name for p in out.with_name("spliced_media").iterdir())
    code, text, _ = _run("timeline", str(cut4), "-o", str(out), *ARGS, "--splice", "--json")
    again = json.loads(text)
    assert (
        code == 0
        and again["rendered"] == []
        and [s["spliced"] for s in again["shots"]] == [s["spliced"] for s in first["shots"]]
    )
    assert out.read_bytes() == before and sorted(p.name for p in out.with_name("spliced_media").iterdir()) == media


def test_assemble_with_an_unreadable_job_file_names_it_and_closes_the_timeline(cut4, tmp_path, monkeypatch):
    from lengthen.timeline.read import TimelineDoc

    jobs = tmp_path / "jobs"
    assert _run("timeline", str(cut4), "--jobs-only", str(jobs), *ARGS)[0] == 0
    (jobs / "0002.json").write_text("{not json")
    closed = []
    real_close = TimelineDoc.close
    monkeypatch.setattr(TimelineDoc, "close", lambda self: (closed.append(self.path), real_close(self)))
    code, _, err = _run("timeline", "--assemble", str(jobs), "-o", str(tmp_path / "out.otio"))
    assert code == 2 and "0002.json: cannot read it as JSON" in err and "Traceback" not in err
    assert closed and not (tmp_path / "out.otio").exists()


def test_render_job_renders_again_over_a_done_file_that_is_not_a_record(cut4, tmp_path):
    jobs = tmp_path / "jobs"
    assert _run("timeline", str(cut4), "--jobs-only", str(jobs), *ARGS)[0] == 0
    for text in ("[]", '{"request_hash": "x"}'):
        (jobs / "0001.done.json").write_text(text)
        code, out, err = _run("render-job", str(jobs / "0001.json"))
        assert code == 0 and out.strip().endswith(": done") and "Traceback" not in err
        assert json.loads((jobs / "0001.done.json").read_text())["outcome"]["generated"]


def test_a_run_manifest_that_is_not_an_object_is_one_line_naming_it(cut4, tmp_path):
    out = tmp_path / "out.otio"
    manifest = tmp_path / "out.otio.run.json"
    manifest.write_text("[]")
    code, _, err = _run("timeline", str(cut4), "-o", str(out), *ARGS, "--resume")
    assert code == 2 and err.strip().endswith(f"{manifest}: not a lengthen run manifest") and not out.exists()
    assert manifest.read_text() == "[]"


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_render_job_leaves_nothing_when_its_done_file_cannot_be_written(cut4, tmp_path, monkeypatch):
    # A full disk at the very end cannot be made here: the done-file writer is replaced by one that
    # raises ENOSPC. The render, the move into place and the clean-up are real. Called as a library
    # (a farm worker, no CLI transaction) and through the CLI: both leave the jobs folder as it was
    # (review finding: media without a done record were a half-finished job).
    import errno

    import lengthen.farm.jobs as jobs_module

    jobs = tmp_path / "jobs"
    assert _run("timeline", str(cut4), "--jobs-only", str(jobs), *ARGS)[0] == 0
    before = _tree(jobs)
    real = jobs_module.atomic_write_text

    def full_disk(path, text):
        if str(path).endswith(".done.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, text)

    monkeypatch.setattr(jobs_module, "atomic_write_text", full_disk)
    try:
        jobs_module.render_job(jobs / "0001.json")
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    else:
        raise AssertionError("the done file's write did not fail")
    assert _tree(jobs) == before
    code, _, err = _run("render-job", str(jobs / "0002.json"))
    assert code == 2 and "disk full" in err and "Traceback" not in err
    assert _tree(jobs) == before
    monkeypatch.setattr(jobs_module, "atomic_write_text", real)
    assert _run("render-job", str(jobs / "0001.json"))[0] == 0  # the job renders again, whole
    assert (jobs / "media" / "shot1_tail_v001.mov").is_file() and (jobs / "0001.done.json").is_file()


def test_assemble_refuses_outputs_in_the_guards_words(tmp_path):
    """Review finding: --assemble had its own 'output exists' line; it now refuses what
    guards.check_output_file refuses, in its words, before reading the jobs."""
    import pytest

    from lengthen.errors import UsageError
    from lengthen.guards import check_output_file

    existing = tmp_path / "old.otio"
    existing.write_text("{}")
    folder = tmp_path / "folder.otio"
    folder.mkdir()
    for out in (existing, folder):
        with pytest.raises(UsageError) as words:
            check_output_file(out, "output timeline")
        code, _, err = _run("timeline", "--assemble", str(tmp_path / "no-jobs"), "-o", str(out))
        assert code == 2 and err.strip() == f"lengthen timeline: error: {words.value}", out
    assert existing.read_text() == "{}" and not list(folder.iterdir())
