"""Per-shot prompts reach the real pipeline: `--prompt` on the command line and a spec file's
``prompt`` (per clip and default) through `lengthen timeline` (the panel's: tests/ui/test_shot_prompt.py);
the default names what the shot shows in neutral terms."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_pipelines import CallSpy, tiny_folder

from lengthen.cli import main
from lengthen.engines.base import EngineSettings, get_engine
from lengthen.media.synthetic import encode_clip
from lengthen.progress import SilentProgress
from lengthen.timeline.plan import parse_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))
from builders import media_clip, timeline, track, write  # noqa: E402


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    frames = np.zeros((12, 48, 64, 3), np.uint8)
    frames[:] = np.linspace(30, 160, 64, dtype=np.uint8)[None, None, :, None]
    for i in range(12):
        frames[i, 12:24, 4 + 2 * i : 16 + 2 * i] = 240
    return encode_clip(tmp_path_factory.mktemp("promptclip") / "shot.mov", frames, "24", "prores")


@pytest.fixture
def spy(tmp_path_factory, monkeypatch):
    folder = tiny_folder("wan-vace", tmp_path_factory)
    pipe = get_engine("wan-vace", EngineSettings(quality="tiny", model_path=str(folder))).pipeline(SilentProgress())
    return folder, CallSpy(monkeypatch, pipe)


def test_prompt_from_the_command_line(shot, spy, tmp_path):
    folder, calls = spy
    args = ["extend", str(shot), "--tail", "3f", "--engine", "wan-vace", "--model-path", str(folder)]
    args += ["--quality", "tiny", "--steps", "1", "--no-faces", "-o", str(tmp_path / "o")]
    assert main([*args, "--prompt", "A man in a grey coat walks left"]) == 0
    assert calls.calls[-1]["prompt"].startswith("A man in a grey coat walks left. The same shot continues")
    assert main(args + ["-o", str(tmp_path / "o2")]) == 0  # no prompt: the neutral description alone
    assert calls.calls[-1]["prompt"].startswith("The same shot continues without a cut: the same scene, ")


def test_prompt_from_the_spec_file_per_clip_and_default(shot, spy, tmp_path):
    folder, calls = spy
    tl = write(
        timeline("two", [track("V1", [media_clip("near", shot, 0, 12), media_clip("far", shot, 0, 12)])], "24"),
        tmp_path / "two.otio",
    )
    spec = {
        "schema": "lengthen.spec",
        "version": 1,
        "default": {"tail": "3f", "prompt": "Interior, night"},
        "clips": [{"clip": "far", "prompt": "Wide shot of a street"}],  # only a prompt: keeps the default tail
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    code = main(
        ["timeline", str(tl), "--spec", str(tmp_path / "spec.json"), "-o", str(tmp_path / "out.otio")]
        + ["--engine", "wan-vace", "--model-path", str(folder), "--quality", "tiny", "--steps", "1", "--no-faces"]
    )
    assert code == 0
    prompts = sorted(c["prompt"].split(". ")[0] for c in calls.calls)
    assert prompts == ["Interior, night", "Wide shot of a street"]
    bad = {**spec, "clips": [{"clip": "far", "prompt": 3}]}
    with pytest.raises(Exception, match="'prompt' must be text"):
        parse_spec(bad)
