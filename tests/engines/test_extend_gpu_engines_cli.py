"""`lengthen extend --engine E --model-path TINY` end to end for the three diffusers engines: tiny
random pipelines built from config and saved to a folder, loaded by our real loading code, driven
through the same CLI code path a user hits (in-process so a spy can watch the real pipeline call)."""

from __future__ import annotations

import json

import numpy as np
import opentimelineio as otio
import pytest
from tiny_pipelines import CallSpy, tiny_folder

from lengthen.cli import main
from lengthen.media.probe import probe
from lengthen.media.synthetic import encode_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """12 frames, 48x64, 24000/1001, a square moving 2 px/frame on a ramp, timecode 01:00:00:00."""
    frames = np.zeros((12, 48, 64, 3), np.uint8)
    frames[:] = np.linspace(30, 160, 64, dtype=np.uint8)[None, None, :, None]
    for i in range(12):
        frames[i, 12:24, 4 + 2 * i : 16 + 2 * i] = 240
    path = tmp_path_factory.mktemp("gpuclip") / "shot.mov"
    return encode_clip(path, frames, "24000/1001", "prores", start_timecode="01:00:00:00")


@pytest.mark.parametrize("engine", ["wan-vace", "ltx", "skyreels-df"])
def test_extend_with_tiny_pipeline(engine, clip, tmp_path, tmp_path_factory, monkeypatch, capsys):
    from lengthen.engines import get_engine
    from lengthen.engines.base import EngineSettings
    from lengthen.progress import SilentProgress

    folder = tiny_folder(engine, tmp_path_factory)
    # The CLI loads its own pipeline; the spy wraps the pipeline class's real __call__.
    spy = CallSpy(
        monkeypatch,
        get_engine(engine, EngineSettings(quality="tiny", model_path=str(folder))).pipeline(SilentProgress()),
    )
    out = tmp_path / "out"
    code = main(
        [
            "extend",
            str(clip),
            "--tail",
            "5f",
            "--engine",
            engine,
            "--model-path",
            str(folder),
            "--quality",
            "tiny",
            "--steps",
            "1",
            "--no-faces",
            "-o",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert spy.calls, "the real pipeline was called"
    call = spy.calls[0]
    grid = 8 if engine == "ltx" else 4
    assert (call["num_frames"] - 1) % grid == 0
    tail = report["directions"]["tail"]
    info = probe(tail["media"])
    # 12 source frames from 01:00:00:00: the tail starts at 01:00:00:12
    assert (info.frames, info.start_timecode, info.fps, info.width, info.height) == (
        5,
        "01:00:00:12",
        "24000/1001",
        64,
        48,
    )
    tl = otio.adapters.read_from_file(report["outputs"]["otio"])
    clips = list(tl.find_clips())
    assert clips[-1].metadata["lengthen"]["engine"] == engine and clips[-1].source_range.duration.value == 5
    if engine == "wan-vace":
        assert len(call["video"]) == call["num_frames"] and len(call["mask"]) == call["num_frames"]


def test_missing_weights_is_one_clear_line(clip, tmp_path, capsys):
    code = main(
        [
            "extend",
            str(clip),
            "--tail",
            "5f",
            "--engine",
            "wan-vace",
            "--model-path",
            str(tmp_path / "nothing"),
            "--no-faces",
            "-o",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "nothing" in err and "Traceback" not in err
    assert not list((tmp_path).rglob("*.mov"))


def _errors(err: str) -> list[str]:
    """The error lines of stderr (progress lines aside)."""
    return [line for line in err.splitlines() if "error:" in line or "Traceback" in line]


def _extend(clip, folder, out, *extra):
    return main(
        ["extend", str(clip), "--engine", extra[0], "--model-path", str(folder), "--quality", "tiny"]
        + ["--steps", "1", "--no-faces", "-o", str(out), *extra[1:]]
    )


def test_a_100_frame_wan_vace_tail_at_23976_runs(clip, tmp_path, tmp_path_factory, capsys):
    """The pipeline reads the engine's limits in clip-rate frames: no refusal, windows instead."""
    folder = tiny_folder("wan-vace", tmp_path_factory)
    code = _extend(clip, folder, tmp_path / "o", "wan-vace", "--tail", "100f", "--json")
    assert code == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    tail = report["directions"]["tail"]
    assert probe(tail["media"]).frames == 100 and len(tail["engine_info"]["windows"]) == 9


def test_skyreels_heads_are_refused_in_one_line(clip, tmp_path, tmp_path_factory, capsys):
    code = _extend(clip, tiny_folder("skyreels-df", tmp_path_factory), tmp_path / "o", "skyreels-df", "--head", "4f")
    err = capsys.readouterr().err
    assert code == 2 and "wan-vace or ltx" in err and len(_errors(err)) == 1
    assert "decode" not in err  # refused before any work
    assert not list(tmp_path.rglob("*.mov"))


def test_old_ltx_folder_is_one_line(clip, tmp_path, tmp_path_factory, capsys):
    import shutil

    old = tmp_path / "LTX-Video-0.9.1"
    shutil.copytree(tiny_folder("ltx", tmp_path_factory), old)
    cfg = old / "scheduler" / "scheduler_config.json"
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "use_dynamic_shifting": True}))
    code = _extend(clip, old, tmp_path / "o", "ltx", "--tail", "4f")
    err = capsys.readouterr().err
    assert code == 2 and "0.9.0/0.9.1" in err and len(_errors(err)) == 1


def test_an_injected_oom_is_one_line(clip, tmp_path, tmp_path_factory, monkeypatch, capsys):
    """A fake out-of-memory (no GPU here) inside the real pipeline call, through the CLI."""
    import diffusers
    import torch

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(diffusers.WanVACEPipeline, "__call__", oom)
    code = _extend(clip, tiny_folder("wan-vace", tmp_path_factory), tmp_path / "o", "wan-vace", "--tail", "4f")
    err = capsys.readouterr().err
    assert code == 1 and "ran out of memory" in err and "--offload" in err and len(_errors(err)) == 1
    assert not list(tmp_path.rglob("*.mov"))


def test_an_anamorphic_clip_is_generated_unsqueezed(tmp_path, tmp_path_factory, monkeypatch, capsys):
    """A 2:1 pixel-aspect clip stored 32 wide x 48 high shows 64x48: the model works on the picture's shape."""
    from lengthen.engines import get_engine
    from lengthen.engines.base import EngineSettings
    from lengthen.progress import SilentProgress

    frames = np.zeros((10, 48, 32, 3), np.uint8)
    frames[:] = np.linspace(30, 160, 32, dtype=np.uint8)[None, None, :, None]
    squeezed = encode_clip(tmp_path / "ana.mov", frames, "24", "prores", sar="2:1")
    assert probe(squeezed).sar == "2:1"
    folder = tiny_folder("wan-vace", tmp_path_factory)
    pipe = get_engine("wan-vace", EngineSettings(quality="tiny", model_path=str(folder))).pipeline(SilentProgress())
    spy = CallSpy(monkeypatch, pipe)
    assert _extend(squeezed, folder, tmp_path / "o", "wan-vace", "--tail", "3f", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    call = spy.calls[0]
    assert call["width"] > call["height"]  # 64x48 on screen: wider than tall, though stored narrower
    info = probe(report["directions"]["tail"]["media"])
    assert (info.width, info.height, info.sar) == (32, 48, "2:1")  # squeezed back as the source is stored
