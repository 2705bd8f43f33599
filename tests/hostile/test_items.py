"""The numbered findings of issue 15 that need more than one command to show (the catalogue in
test_catalogue.py covers the single-command ones)."""

from __future__ import annotations

import errno
import json
import shutil
import signal
import subprocess
import sys
import time

import opentimelineio as otio
from hostile_world import run_in_process, snapshot, write_cut

from lengthen.media.synthetic import stamped_clip

FREEZE = ["--engine", "freeze", "--no-faces"]


def test_item2_an_existing_report_json_is_never_replaced(world, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copy(world.clip, proj / "shot.mp4")
    (proj / "report.json").write_text("the editor's own notes")
    for n in (1, 2):
        r = run_in_process(["extend", "proj/shot.mp4", "--tail", "4f", *FREEZE, "-o", "proj"], tmp_path)
        assert r.code == 0, r.err
        assert (proj / f"report_v00{n + 1}.json").is_file()
        assert f"report_v00{n + 1}.json" in r.out
    assert (proj / "report.json").read_text() == "the editor's own notes"
    assert sorted(p.name for p in (proj / "media").iterdir()) == ["shot_tail_v001.mov", "shot_tail_v002.mov"]
    report = json.loads((proj / "report_v003.json").read_text())
    assert report["outputs"]["media"][0].endswith("shot_tail_v002.mov")


def test_item4_faces_on_an_otioz_removes_its_extracted_media(world, tmp_path, monkeypatch):
    import tempfile

    bundle = tmp_path / "cut.otioz"
    shutil.copy(world.clip, tmp_path / "shot.mp4")
    write_cut(tmp_path / "cut.otio", str(tmp_path / "shot.mp4"))
    otio.adapters.write_to_file(otio.adapters.read_from_file(str(tmp_path / "cut.otio")), str(bundle))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where lengthen-otioz-* would be left
    r = run_in_process(["faces", bundle, "-o", "cast", "--sample-fps", "1"], tmp_path)
    assert r.code == 0, r.err
    assert (tmp_path / "cast" / "characters.json").is_file()
    assert list(scratch.iterdir()) == []


def test_item6_not_enough_free_disk_is_refused_before_any_work(world, tmp_path, monkeypatch):
    # A full disk cannot be made here: shutil.disk_usage is replaced to report 1 MiB free. Everything
    # else (the estimate, the check, the CLI's line and clean-up) is real.
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=2**20))
    big = stamped_clip(tmp_path / "big.mp4", 4, rate="24", size=(720, 1280))
    before = snapshot(tmp_path)
    r = run_in_process(["extend", big, "--tail", "200f", *FREEZE, "-o", "out"], tmp_path)
    assert r.code == 2 and "Traceback" not in r.err
    assert "the generated media (200 frames) needs about" in r.err and "1.0 MiB is free" in r.err
    assert snapshot(tmp_path) == before


def _disk_full_on_write(monkeypatch, fail_times=1):
    # The disk filling up while media is written cannot be staged here: VideoWriter.write raises the
    # OSError(ENOSPC) the OS would raise. The writer's clean-up, the pipeline and the CLI are real.
    from lengthen.media.writer import VideoWriter

    real, calls = VideoWriter.write, {"n": 0}

    def write(self, frames):
        calls["n"] += 1
        if calls["n"] <= fail_times:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return real(self, frames)

    monkeypatch.setattr(VideoWriter, "write", write)


def test_item6_disk_full_while_writing_extend_is_one_line_and_nothing_left(world, tmp_path, monkeypatch):
    _disk_full_on_write(monkeypatch)
    before = snapshot(tmp_path)
    r = run_in_process(["extend", world.clip, "--tail", "4f", *FREEZE, "-o", "out"], tmp_path)
    assert r.code == 2 and "Traceback" not in r.err
    (line,) = [ln for ln in r.err.splitlines() if "error:" in ln]
    assert "no space left on the device (disk full)" in line and "shot_tail_v001.mov" in line
    assert snapshot(tmp_path) == before


def test_item6_disk_full_in_timeline_fails_that_shot_only(world, tmp_path, monkeypatch):
    shutil.copy(world.clip, tmp_path / "shot.mp4")
    write_cut(tmp_path / "cut.otio", "shot.mp4", tracks=2)  # two shots, one per track
    _disk_full_on_write(monkeypatch)
    r = run_in_process(["timeline", "cut.otio", "--tail", "4f", "-o", "new.otio", *FREEZE], tmp_path)
    assert r.code == 1 and "Traceback" not in r.err
    failed = [ln for ln in r.err.splitlines() if ln.startswith("lengthen timeline: failed")]
    assert len(failed) == 1 and "disk full" in failed[0] and "clip 'shot" in failed[0]
    assert (tmp_path / "new.otio").is_file() and len(list((tmp_path / "new_media").glob("*.mov"))) == 1


def test_item9_lengthen_reads_its_own_output(world, tmp_path):
    (tmp_path / "media").mkdir()
    shutil.copy(world.clip, tmp_path / "media" / "shot.mp4")
    write_cut(tmp_path / "cut.otio", "media/shot.mp4")
    r = run_in_process(["timeline", "cut.otio", "--tail", "4f", "-o", "out/new.otio", *FREEZE], tmp_path)
    assert r.code == 0, r.err
    r = run_in_process(["plan", "out/new.otio", "--json"], tmp_path)
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    assert plan["skipped"] == [] and len(plan["shots"]) == 2  # the source clip and the generated one


def test_item3_sigterm_in_timeline_stops_cleanly(tmp_path):
    clip = stamped_clip(tmp_path / "shot.mp4", 12, rate="24", size=(192, 320))
    write_cut(tmp_path / "cut.otio", clip.name, first=0, length=12)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lengthen", "timeline", "cut.otio", "--tail", "120f", "-o", "new.otio", *FREEZE],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline, partial = time.monotonic() + 60, []
    while time.monotonic() < deadline and not partial and proc.poll() is None:
        media = tmp_path / "new_media"
        partial = list(media.glob(".*partial*")) if media.exists() else []
        time.sleep(0.02)
    assert partial, "the run never started writing media"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in err
    assert "stopped by SIGTERM" in err
    assert not list(tmp_path.rglob("*partial*")) and not (tmp_path / "new.otio").exists()
