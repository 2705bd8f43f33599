"""ltx on a tiny random LTXConditionPipeline (8k+1 frames, sizes divisible by 32), loaded back
through lengthen's loader: the context as a video condition at frame 0, forward for a tail and
time-reversed for a head, the clip's own rate up to 30 fps, LTX-2 detection."""

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
def test_context_becomes_a_video_condition_in_generation_order(engine, monkeypatch, direction):
    ctx, rate = clip(), Fraction(25)
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(ctx, direction, 7, rate, settings=engine.settings), None)
    call = spy.calls[0]
    (cond,) = call["conditions"]
    n = res.info["context_frames"]
    assert cond.frame_index == 0 and len(cond.video) == n and (n - 1) % 8 == 0 and n == 9
    assert (call["num_frames"] - 1) % 8 == 0 and call["height"] % 32 == 0 and call["width"] % 32 == 0
    assert call["frame_rate"] == 25.0  # a 25 fps clip is generated at 25 fps
    plan = engine.plan(GenerateRequest(ctx, direction, 7, rate))
    away = ctx[::-1] if direction == "tail" else ctx
    want = grid.to_working(away[:n], plan.placement)[::-1]  # ends at the cut
    assert np.array_equal(frames_of(cond), want)
    if direction == "head":  # reversed time: the condition's last frame is the shot's first frame
        assert np.array_equal(frames_of(cond)[-1], grid.to_working(ctx[:1], plan.placement)[0])
    assert res.frames.shape == (7, 40, 56, 3)
    assert res.info["native_fps"] == "25"


def test_fast_clips_are_generated_at_30_fps_and_conformed(engine, monkeypatch):
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(clip(16), "tail", 8, Fraction(60000, 1001)), None)
    assert spy.calls[0]["frame_rate"] == 30.0
    assert res.frames.shape[0] == 8 and res.info["native_fps"] == "30"


def test_too_long_a_request_is_refused_naming_the_limit(engine):
    with pytest.raises(UsageError, match="at most 24 new frames"):
        engine.generate(GenerateRequest(clip(), "tail", 30, Fraction(24)), None)


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
