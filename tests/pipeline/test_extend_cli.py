"""`lengthen extend` end to end on real media through the code path users hit."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from lengthen.engines.builtin_settings import BuiltinSettings
from lengthen.media.probe import probe
from lengthen.media.reader import read_frames
from lengthen.media.synthetic import pan_zoom_clip

RUN_LENGTHEN = Path(__file__).resolve().parents[1] / "run_lengthen.py"  # the CLI with the tiny test preset


def _run(*args):
    return subprocess.run([sys.executable, str(RUN_LENGTHEN), *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, testdata):
    folder = tmp_path_factory.mktemp("clip")
    return pan_zoom_clip(
        testdata / "images" / "skimage__astronaut.png",
        folder / "astro.mov",
        frames=30,
        rate="24000/1001",
        codec="prores",
        size=(144, 256),
        start_timecode="01:00:10:05",
    )


def test_extend_tail_and_head_with_motion_engine(clip, tmp_path):
    before = clip.read_bytes()
    out = tmp_path / "out"
    run = _run(
        "extend",
        str(clip),
        "--tail",
        "12f",
        "--head",
        "0.5s",
        "--engine",
        "motion",
        "--no-faces",
        "-o",
        str(out),
        "--json",
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["frames_generated"] == 24  # 12 + round(0.5 * 24000/1001) = 12 + 12
    tail = Path(report["directions"]["tail"]["media"])
    head = Path(report["directions"]["head"]["media"])
    ti, hi = probe(tail), probe(head)
    # 01:00:10:05 + 30 frames = 01:00:11:11 ; head starts 12 frames before 01:00:10:05 = 01:00:09:17
    assert (ti.frames, ti.start_timecode, ti.fps, ti.codec) == (12, "01:00:11:11", "24000/1001", "prores")
    assert (hi.frames, hi.start_timecode) == (12, "01:00:09:17")
    assert (ti.width, ti.height) == (256, 144)
    assert clip.read_bytes() == before  # source untouched
    # the .otio: head, source, tail on one track, generated clips marked
    otio_path = Path(report["outputs"]["otio"])
    tl = otio.adapters.read_from_file(str(otio_path))
    clips = list(tl.tracks[0].find_clips())
    assert [c.source_range.duration.value for c in clips] == [12, 30, 12]
    for c in (clips[0], clips[2]):
        assert c.metadata["lengthen"]["frames_generated"] == 12
        assert any(m.name == "lengthen: generated" for m in c.markers)
    assert not clips[1].markers
    assert json.loads((out / "report.json").read_text())["frames_generated"] == 24
    # continuity: the step across the cut is like one of the source's own frame steps
    src = read_frames(clip, 24, 6).astype(int)
    first_gen = read_frames(tail, 0, 1)[0].astype(int)
    source_step = np.median(np.abs(np.diff(src, axis=0)).mean(axis=(1, 2, 3)))
    assert np.abs(src[-1] - first_gen).mean() < 2.0 * source_step
    assert report["directions"]["tail"]["seam_jump"] < 2.0


def test_range_and_bad_inputs_exit_2_and_write_nothing(clip, tmp_path):
    out = tmp_path / "o"
    for args in (
        ["--tail", "2x"],
        ["--range", "5:400", "--tail", "2f"],
        ["--range", "9:3", "--tail", "2f"],
        [],
        ["--tail", "3f", "--engine", "nope"],
        ["--tail", "2f", "--ref", "Ann"],
    ):
        run = _run(
            "extend",
            str(clip),
            *args,
            "--no-faces",
            "--engine" if "--engine" not in args else "--seed",
            "motion" if "--engine" not in args else "1",
            "-o",
            str(out),
        )
        assert run.returncode == 2, (args, run.stderr)
        assert "Traceback" not in run.stderr and "error" in run.stderr
    run = _run("extend", str(tmp_path / "missing.mov"), "--tail", "2f")
    assert run.returncode == 2 and "missing.mov" in run.stderr
    assert not out.exists() or not any(out.rglob("*.mov"))


def test_context_never_crosses_a_cut(testdata, tmp_path):
    """Tears of Steel cuts at frame 65: a tail on 50..64 with 48 context frames reads only 50..64,
    and a shot range that spans the cut 40..80 drops the frames before it."""
    out = tmp_path / "out"
    media = testdata / "video" / "tears_of_steel_clip01.mp4"
    run = _run(
        "extend",
        str(media),
        "--range",
        "40:80",
        "--tail",
        "4f",
        "--regenerate-existing",  # frames 81..84 exist: generate them anyway, to see what context is read
        "--engine",
        "freeze",
        "--no-faces",
        "-o",
        str(out),
        "--json",
    )
    assert run.returncode == 0, run.stderr
    d = json.loads(run.stdout)["directions"]["tail"]
    assert d["context_frames"] == 16 and d["context_dropped_at_cut"] == 25  # 65..80 kept, 40..64 dropped


def test_evaluate_prints_the_table_with_the_baselines(clip, tmp_path):
    """`lengthen evaluate` hides the last frames of a real file, extends over them with the engine
    and with every baseline through the extend pipeline, and scores them against the hidden truth."""
    before = clip.read_bytes()
    out = tmp_path / "eval"
    run = _run("evaluate", str(clip), "--holdout", "6", "--quality", "tiny", "--no-faces", "-o", str(out))
    assert run.returncode == 0, run.stderr
    header, *lines = [line for line in run.stdout.splitlines() if "|" in line]
    assert [c.strip() for c in header.split("|")][:6] == [
        "engine",
        "seam_jump",
        "motion_energy",
        "flicker",
        "psnr4",
        "psnr6",
    ]
    assert [line.split("|")[0].strip() for line in lines] == ["truth", "freeze", "flow-raw", "motion", "builtin"]
    result = json.loads((out / "results.json").read_text())
    assert result["known"] == [0, 23] and result["holdout"] == 6
    rows = result["rows"]
    assert rows["freeze"]["motion_energy"] == 0.0 and rows["truth"]["motion_energy"] > 0.2
    # the clip pans and zooms: continuing its motion must beat holding the last frame
    for name in ("flow-raw", "motion", "builtin"):
        assert rows[name]["psnr4"] > rows["freeze"]["psnr4"] + 1.0, (
            name,
            rows[name]["psnr4"],
            rows["freeze"]["psnr4"],
        )
        assert rows[name]["motion_energy"] > 0.2
    # self-validation: the candidate that fits the held-out frames best is used unless it beats the
    # hedge by no more than the hedge's margin (tiny always adapts 10 steps)
    chosen = rows["builtin"]["chosen"]
    table = {r["candidate"]: r["psnr"] for r in rows["builtin"]["selection"]["candidates"]}
    best = max(table, key=table.get)
    margin = BuiltinSettings().hedge_margin_db
    hedge = max((n for n in table if n.startswith("hedged")), key=table.get)
    assert chosen == (hedge if table[best] - table[hedge] <= margin else best), (chosen, table)
    assert rows["builtin"]["adapt_steps"] == 10
    for png in ("chart.png", "filmstrip.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert clip.read_bytes() == before
    bad = _run(
        "evaluate", str(clip), "--holdout", "29", "--quality", "tiny", "--no-faces", "-o", str(tmp_path / "bad")
    )
    assert bad.returncode == 2 and "astro.mov" in bad.stderr and "--holdout 29" in bad.stderr
    assert not (tmp_path / "bad" / "results.json").exists()


def test_range_generates_only_the_frames_the_file_lacks(clip, tmp_path):
    """astro.mov has frames 0..29. --range 5:20 --head 8f --tail 12f: the file has 5 head frames (0..4)
    and 9 tail frames (21..29); they are used as they are and only 3 + 3 frames beyond the file's ends
    are generated, which the command says. --regenerate-existing makes all 20."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))
    from builders import verify_result

    out = tmp_path / "out"
    args = ["--range", "5:20", "--head", "8f", "--tail", "12f", "--engine", "freeze", "--no-faces"]
    run = _run("extend", str(clip), *args, "-o", str(out), "--json")
    assert run.returncode == 0, run.stderr
    assert "head frames 0-4 exist in the file" in run.stderr and "tail frames 21-29 exist" in run.stderr
    assert "--regenerate-existing" in run.stderr
    report = json.loads(run.stdout)
    head, tail = (probe(report["directions"][d]["media"]) for d in ("head", "tail"))
    # 01:00:10:05 at 24 fps nominal: frame -3 is 01:00:10:02, frame 30 is 01:00:11:11
    assert (head.frames, head.start_timecode, tail.frames, tail.start_timecode) == (3, "01:00:10:02", 3, "01:00:11:11")
    assert head.reel != tail.reel and len({head.reel, tail.reel, probe(clip).reel}) == 3
    timeline = verify_result(next(out.glob("*.otio")))
    assert [(c.name, c.source_range.duration.value) for c in timeline.find_clips()] == [
        ("astro [lengthen head]", 3),
        ("astro", 30),  # the whole file: the range plus the frames it already had
        ("astro [lengthen tail]", 3),
    ]
    run = _run("extend", str(clip), "--range", "5:20", "--tail", "4f", "--engine", "freeze", "--no-faces", "-o",
               str(tmp_path / "none"))  # fmt: skip
    assert run.returncode == 0 and "nothing to generate" in run.stdout and not (tmp_path / "none").exists()
    run = _run("extend", str(clip), "--range", "5:20", "--tail", "4f", "--engine", "freeze", "--no-faces", "-o",
               str(tmp_path / "none"), "--json")  # fmt: skip
    said = json.loads(run.stdout)  # --json keeps stdout JSON even when there is nothing to do
    assert run.returncode == 0 and said["frames_generated"] == 0 and "nothing to generate" in said["note"]
    run = _run("extend", str(clip), *args, "--regenerate-existing", "-o", str(tmp_path / "all"), "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert {d: v["frames_generated"] for d, v in report["directions"].items()} == {"head": 8, "tail": 12}
    assert "exist in the file" not in run.stderr
