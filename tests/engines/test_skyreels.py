"""skyreels-df on a tiny random SkyReelsV2DiffusionForcingVideoToVideoPipeline: the context as the
video to continue with overlap_history, a long extension window after window (each on the end of
the one before), the new frames taken after the re-rendered overlap, 23.976 frame for frame, heads
refused naming the engines that can do them, the minimum context named."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from tiny_pipelines import CallSpy, tiny_folder

from lengthen.engines import grid
from lengthen.engines.base import EngineSettings, GenerateRequest, get_engine
from lengthen.engines.diffusers_common import match_colour
from lengthen.errors import UsageError
from lengthen.progress import SilentProgress

RATE = Fraction(24)


def clip(n=8, h=32, w=40) -> np.ndarray:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return np.stack([np.roll(base, i, axis=1) for i in range(n)])


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    eng = get_engine(
        "skyreels-df", EngineSettings(quality="tiny", model_path=str(tiny_folder("skyreels-df", tmp_path_factory)))
    )
    eng.pipeline(SilentProgress())
    return eng


def test_long_extension_runs_in_windows_on_the_previous_windows_end(engine, monkeypatch):
    ctx = clip()
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(ctx, "tail", 12, RATE, settings=engine.settings), None)
    windows = res.info["windows"]
    assert len(spy.calls) == len(windows) == 3 and [n for _, n in windows] == [4, 4, 4]
    for call in spy.calls:
        assert call["overlap_history"] == 5 and call["num_frames"] <= call["base_num_frames"] == 9
        assert call["fps"] == 24 and call["guidance_scale"] == 1.0
    plan = engine.plan(GenerateRequest(ctx, "tail", 12, RATE))
    sent = np.stack([np.asarray(v) for v in spy.calls[0]["video"]])
    assert np.array_equal(sent, grid.to_working(ctx[-5:], plan.placement))  # the clip's last frames
    for k in (1, 2):  # later windows continue from the frames the previous ones delivered
        sent = grid.from_working(np.stack([np.asarray(v) for v in spy.calls[k]["video"]]), plan.placement)
        delivered = res.frames[: 4 * k]
        assert np.array_equal(sent[-min(5, 4 * k) :], delivered[-min(5, 4 * k) :])
    assert res.frames.shape == (12, 32, 40, 3) and res.info["conform"] == "frame for frame"


def test_23976_material_runs_frame_for_frame_on_the_24_fps_model(engine, monkeypatch):
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(clip(), "tail", 4, Fraction(24000, 1001), settings=engine.settings), None)
    assert spy.calls[0]["fps"] == 24 and res.info["native_fps"] == "24000/1001"
    out = np.clip(np.rint(np.asarray(spy.outputs[0].frames)[0] * 255), 0, 255).astype(np.uint8)
    rerendered, new = out[5:10], out[10:14]  # after the 5 input frames: their re-render, then new ones
    plan = engine.plan(GenerateRequest(clip(), "tail", 4, Fraction(24000, 1001)))
    matched, _ = match_colour(new, rerendered, grid.to_working(clip()[-5:], plan.placement))
    assert res.info["conform"] == "frame for frame"
    assert np.array_equal(res.frames, grid.from_working(matched, plan.placement))  # one model frame per frame


def test_heads_are_refused_naming_the_engines_that_can(engine):
    with pytest.raises(UsageError, match="wan-vace or ltx"):
        engine.generate(GenerateRequest(clip(), "head", 4, RATE), None)


def test_too_short_a_clip_is_refused_naming_the_minimum(engine):
    with pytest.raises(UsageError, match="at least 5 context frames"):
        engine.generate(GenerateRequest(clip(3), "tail", 4, RATE), None)
