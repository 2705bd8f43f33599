"""`lengthen demo` (the README's main job) on its bundled sample, at the tiny test preset."""

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from lengthen.media.probe import probe

RUN_LENGTHEN = Path(__file__).resolve().parents[1] / "run_lengthen.py"  # the CLI with the tiny test preset


def test_demo_writes_media_timeline_report_and_filmstrip(tmp_path):
    out = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, str(RUN_LENGTHEN), "demo", "-o", str(out), "--quality", "tiny", "--tail", "6f"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    for label in ("media:", "timeline:", "report:", "filmstrip:"):
        assert label in run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["frames_generated"] == 6 and report["engine"] == "builtin"
    assert len(report["characters"]) == 1  # the man with glasses
    info = report["directions"]["tail"]["engine_info"]
    # his face was tried rigid and free on the held-out frames; rigid only if it fitted them better
    (decision,) = info["selection"]["rigid_faces"].values()
    assert set(decision) == {"free", "rigid", "kept"} and decision["kept"] == (decision["rigid"] > decision["free"])
    assert info["prior"] == "motion" and info["rigid_faces"] in (0, 1)
    media = Path(report["outputs"]["media"][0])
    info = probe(media)
    # the sample starts at 00:00:03:17 and has 72 frames: the tail starts at 00:00:06:17
    assert (info.frames, info.start_timecode, info.codec) == (6, "00:00:06:17", "prores")
    with Image.open(out / "filmstrip.png") as strip:
        assert strip.width > 4 * strip.height
    assert "progress" not in run.stdout and "adapt" in run.stderr  # progress goes to stderr
