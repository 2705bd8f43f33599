"""Shot-aware planning on a file with a cut inside it (issue 22): Tears of Steel frames 0..64 are
the robot shot, 65..184 the man at the console, 185..239 the morph. A clip of the console shot
(frames 65..184) has no head handles of its own: its head must continue the console shot, not
the robot's, and the plan must say where the cut stopped the handles."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))

import opentimelineio as otio  # noqa: E402
from builders import gap, media_clip, timeline, track, write  # noqa: E402

from lengthen.cli import main  # noqa: E402
from lengthen.media.cuts import _distance, _hist, detect_cuts, shot_bounds  # noqa: E402
from lengthen.media.reader import read_frames  # noqa: E402


def _console_cut(testdata, folder: Path) -> Path:
    tears = testdata / "video" / "tears_of_steel_clip01.mp4"
    tl = timeline("console", [track("V1", [gap(48, 24), media_clip("console", tears, 65, 120)])], 24)
    return write(tl, folder / "console.otio")


def test_detector_finds_the_cuts_and_ignores_the_flashes(testdata):
    frames = read_frames(testdata / "video" / "tears_of_steel_clip01.mp4", 0, 240)
    assert detect_cuts(frames) == [65, 185]  # the morph shot strobes every two frames: no cuts there
    b = shot_bounds(testdata / "video" / "tears_of_steel_clip01.mp4", 100, 147, 240, 48)
    assert (b["first"], b["last"], b["cut_before"], b["cut_after"]) == (65, 184, 65, 185)


def test_plan_reports_the_cut_and_the_head_continues_this_shot(testdata, tmp_path, capsys):
    cut = _console_cut(testdata, tmp_path)
    assert main(["plan", str(cut), "--head", "24", "--tail", "0", "--json"]) == 0
    (shot,) = json.loads(capsys.readouterr().out)["shots"]
    assert (shot["head_frames"], shot["shot_first"], shot["cut_before"], shot["cut_after"]) == (24, 65, 65, 185)
    assert main(["plan", str(cut), "--handles", "12"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[-2:] == ["1.000", "head@65,tail@185"]  # 12 + 12 frames: neither side has handles
    assert "limited by a cut inside the media" in table[-1]
    assert main(["plan", str(cut), "--handles", "12", "--no-cuts", "--json"]) == 0
    (blind,) = json.loads(capsys.readouterr().out)["shots"]  # the old reading: frames 0..64 counted as handles
    assert (blind["head_frames"], blind["tail_frames"], blind["cut_before"]) == (0, 0, None)

    out = tmp_path / "out" / "console_ext.otio"
    code = main(
        ["timeline", str(cut), "-o", str(out), "--head", "24", "--tail", "0", "--engine", "freeze"]
        + ["--no-faces", "--json"]
    )
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    (gen,) = summary["shots"][0]["generated"]
    assert (gen["direction"], gen["frames"]) == ("head", 24)
    # the generated frames continue the console shot: like its first frame, unlike the robot shot's last
    made = read_frames(gen["media"], 0, 24)
    source = read_frames(testdata / "video" / "tears_of_steel_clip01.mp4", 63, 3)  # robot 63, 64; console 65
    console, robot = _hist(source[2]), _hist(source[1])
    assert max(_distance(_hist(f), console) for f in made) < 0.2
    assert min(_distance(_hist(f), robot) for f in made) > 0.5
    # and the result places it right before the clip (in sync with the frames it replaces)
    result = otio.adapters.read_from_file(str(out))
    lengthen = next(t for t in result.tracks if t.name == "LENGTHEN")
    (clip,) = lengthen.find_clips()
    placed = lengthen.range_of_child(clip)
    assert (placed.start_time.value, placed.duration.value) == (24, 24)  # the console clip starts at 48
    assert clip.metadata["lengthen"]["source_first_frame"] == 65 - 24
