"""`lengthen plan`: table and JSON, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))

import pytest  # noqa: E402
from builders import make_tiny_media, multitrack_timeline, write  # noqa: E402

from lengthen.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan_cli")
    return write(multitrack_timeline(make_tiny_media(folder / "media")), folder / "cut.otio")


def test_plan_json_and_table(cut, capsys):
    assert main(["plan", str(cut), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # default handles 12; see tests/timeline/test_timeline_plan.py for the arithmetic
    got = {
        s["clip"]: (s["track"], Path(s["media"]).name, s["rate"], s["head_frames"], s["tail_frames"])
        for s in data["shots"]
    }
    assert got == {
        "A": ("V1", "a.mp4", "24000/1001", 8, 0),
        "B": ("V1", "b.mov", "24000/1001", 15, 0),
        "C": ("V1", "a.mp4", "24000/1001", 0, 12),
        "D": ("V2", "b.mov", "24000/1001", 2, 12),
    }
    assert main(["plan", str(cut), "--head", "0", "--tail", "1s"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["clip", "id", "track", "media", "rate", "head", "tail", "seconds", "cuts"]
    assert lines[1].split() == [
        "A",
        "V1/1",
        "V1",
        "a.mp4",
        "24000/1001",
        "0",
        "24",
        "1.001",
        "-",
    ]  # 1 s at 23.976 = 24 frames; no cut inside the media
    assert lines[-1].startswith("4 of 4 clips need frames, 96 frames in all")


def test_plan_bad_input_exit_codes(cut, tmp_path, capsys):
    assert main(["plan", str(cut), "--handles", "3", "--tail", "2"]) == 2
    assert "either --handles or --head/--tail" in capsys.readouterr().err
    spec = tmp_path / "spec.json"
    spec.write_text('{"schema": "lengthen.spec", "version": 1, "clips": [{"clip": "Nobody", "tail": 3}]}')
    assert main(["plan", str(cut), "--spec", str(spec)]) == 2
    assert "names clip 'Nobody'" in capsys.readouterr().err
    assert main(["plan", str(tmp_path / "missing.otio")]) == 2
    assert "timeline file not found" in capsys.readouterr().err


def test_plan_reports_skipped_clip_and_exits_1(cut, tmp_path, capsys):
    import opentimelineio as otio

    tl = otio.adapters.read_from_file(str(cut))
    clip = tl.tracks[1].find_clips()[0]  # D
    clip.media_reference.target_url = otio.url_utils.url_from_filepath(str(tmp_path / "gone.mov"))
    path = write(tl, cut.parent / "offline.otio")
    assert main(["plan", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert [s["clip"] for s in data["shots"]] == ["A", "B", "C"]
    assert data["skipped"][0]["clip"] == "D" and "gone.mov" in data["skipped"][0]["path"]
    assert "skipped" in captured.err and "'D'" in captured.err
