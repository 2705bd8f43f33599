"""ltx on a tiny random LTXConditionPipeline (8k+1 frames, sizes divisible by 32), loaded back
through lengthen's loader: the context as a video condition at frame 0 for a tail and at the end
of the window for a head (no time reversal), windows for long extensions, the clip's own rate up to
30 fps, the docs' decode settings, old folders refused in one line, LTX-2 detection."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from tiny_pipelines import CallSpy, tiny_folder

from lengthen.engines import grid
from lengthen.engines.base import EngineSettings, GenerateRequest, get_engine
from lengthen.engines.ltx import is_ltx2
from lengthen.errors import ModelError, UsageError
from lengthen.progress import SilentProgress


def clip(n=12, h=40, w=56) -> np.ndarray:
    frames = np.zeros((n, h, w, 3), np.uint8)
    frames[..., 1] = 90
    for i in range(n):
        frames[i, 12:24, 3 * i : 3 * i + 10, 0] = 255  # a red square moving 3 px per frame
    return frames


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    eng = get_engine("ltx", EngineSettings(quality="tiny", model_path=str(tiny_folder("ltx", tmp_path_factory))))
    eng.pipeline(SilentProgress())
    return eng


def frames_of(condition) -> np.ndarray:
    return np.stack([np.asarray(im) for im in condition.video])


@pytest.mark.parametrize("direction", ["tail", "head"])
def test_context_is_a_video_condition_anchored_where_it_belongs(engine, monkeypatch, direction):
    """Tail: the context at frame 0, the model continues forward. Head: the context at the end of
    the window (frame_index = num_frames - len(context)), in time order: nothing is reversed."""
    ctx, rate = clip(), Fraction(25)
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(ctx, direction, 7, rate, settings=engine.settings), None)
    call = spy.calls[0]
    (cond,) = call["conditions"]
    n, total = res.info["context_frames"], call["num_frames"]
    assert len(cond.video) == n and (n - 1) % 8 == 0 and n == 9
    assert (total - 1) % 8 == 0 and call["height"] % 32 == 0 and call["width"] % 32 == 0
    assert call["frame_rate"] == 25.0  # a 25 fps clip is generated at 25 fps
    plan = engine.plan(GenerateRequest(ctx, direction, 7, rate))
    sent = frames_of(cond)
    if direction == "tail":
        assert cond.frame_index == 0
        assert np.array_equal(sent, grid.to_working(ctx[-n:], plan.placement))  # ends at the cut
    else:
        assert cond.frame_index == total - n and cond.frame_index % 8 == 0  # ends the window
        assert np.array_equal(sent, grid.to_working(ctx[:n], plan.placement))  # the shot's first frames, forward
        assert res.info["condition_frame_index"] == total - n and "direction_handling" not in res.info
    assert call["decode_timestep"] == 0.05 and call["decode_noise_scale"] == 0.025  # the docs' values
    assert res.frames.shape == (7, 40, 56, 3)
    assert res.info["native_fps"] == "25"


def test_long_extensions_run_in_windows(engine, monkeypatch):
    spy = CallSpy(monkeypatch, engine._pipe)
    progress = SilentProgress()
    res = engine.generate(GenerateRequest(clip(), "head", 40, Fraction(24), settings=engine.settings), progress)
    assert res.frames.shape == (40, 40, 56, 3) and len(spy.calls) == len(res.info["windows"]) == 3
    assert all(c["num_frames"] <= 25 and c["conditions"][0].frame_index == c["num_frames"] - 9 for c in spy.calls)
    assert [e[1] for e in progress.events if e[0] == "window"] == [1, 2, 3]


def test_old_ltx_folders_are_refused_in_one_line(tmp_path, tmp_path_factory):
    """LTX-Video 0.9.0/0.9.1 folders carry a dynamic-shifting scheduler that LTXConditionPipeline
    cannot drive ('mu must be passed'): refused when loading, before any work."""
    import json
    import shutil

    old = tmp_path / "ltx-0.9.1"
    shutil.copytree(tiny_folder("ltx", tmp_path_factory), old)
    cfg = old / "scheduler" / "scheduler_config.json"
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "use_dynamic_shifting": True}))
    eng = get_engine("ltx", EngineSettings(quality="tiny", model_path=str(old)))
    with pytest.raises(ModelError, match=r"0\.9\.0/0\.9\.1.*0\.9\.5") as err:
        eng.generate(GenerateRequest(clip(), "tail", 4, Fraction(24)), None)
    assert "\n" not in str(err.value)


def test_fast_clips_are_generated_at_30_fps_and_conformed(engine, monkeypatch):
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(clip(16), "tail", 8, Fraction(60000, 1001)), None)
    assert spy.calls[0]["frame_rate"] == 30.0
    assert res.frames.shape[0] == 8 and res.info["native_fps"] == "30"


def test_ltx2_folders_are_detected_from_model_index(tmp_path):
    assert is_ltx2({"_class_name": "LTX2Pipeline"}) and is_ltx2(
        {"_class_name": "X", "connectors": ["diffusers", "LTX2TextConnectors"]}
    )
    assert not is_ltx2({"_class_name": "LTXConditionPipeline"})
    eng = get_engine("ltx", EngineSettings(quality="tiny"))
    assert eng.pipeline_class({"_class_name": "LTX2Pipeline", "connectors": []}, tmp_path) == "LTX2ConditionPipeline"
    assert eng.pipeline_class({"_class_name": "LTXPipeline"}, tmp_path) == "LTXConditionPipeline"
    with pytest.raises(ModelError, match="WanVACEPipeline"):
        eng.pipeline_class({"_class_name": "WanVACEPipeline"}, tmp_path)


def test_a_head_too_short_for_two_latents_names_the_frames_it_needs(engine):
    """A head's end-anchored condition needs two latents (9 frames at 24 fps): a 5-frame clip is
    refused naming those 9 (the message once said 1, the preset's min_context, which 5 meets)."""
    with pytest.raises(UsageError, match=r"at least 9 context frames at 24 fps \(9 at .*the clip gives 5"):
        engine.plan(GenerateRequest(clip(5), "head", 4, Fraction(24)))
    assert engine.needed_context("tail") == engine.min_context == 1
