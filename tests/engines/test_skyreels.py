"""skyreels-df on a tiny random SkyReelsV2DiffusionForcingVideoToVideoPipeline: the context as the
video to continue with overlap_history, several overlapping windows for a long extension, the
new frames taken after the re-rendered overlap, head extensions time-reversed, the minimum
context named."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from tiny_pipelines import CallSpy, tiny_folder

from lengthen.engines import grid
from lengthen.engines.base import EngineSettings, GenerateRequest, get_engine
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


@pytest.mark.parametrize("direction", ["tail", "head"])
def test_long_extension_runs_overlapping_windows(engine, monkeypatch, direction):
    ctx = clip()
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(ctx, direction, 12, RATE, settings=engine.settings), None)
    call = spy.calls[0]
    overlap, total, base = call["overlap_history"], call["num_frames"], call["base_num_frames"]
    assert overlap == 5 and (total - 1) % 4 == 0 and total > base  # more than one window
    assert total - overlap >= 12 and call["fps"] == 24
    away = ctx[::-1] if direction == "tail" else ctx
    plan = engine.plan(GenerateRequest(ctx, direction, 12, RATE))
    sent = np.stack([np.asarray(v) for v in call["video"]])
    assert np.array_equal(sent, grid.to_working(away[:overlap], plan.placement)[::-1])
    out = np.asarray(spy.outputs[0].frames)[0]
    assert len(out) == overlap + total  # the input, then the decoded windows (overlap re-rendered)
    new = np.clip(np.rint(out[2 * overlap : 2 * overlap + 12] * 255), 0, 255).astype(np.uint8)
    want = grid.from_working(new, plan.placement)  # 24 fps clip: conforming is the identity
    assert np.array_equal(res.frames, want if direction == "tail" else want[::-1])
    assert res.frames.shape == (12, 32, 40, 3)


def test_too_short_a_clip_is_refused_naming_the_minimum(engine):
    with pytest.raises(UsageError, match="at least 5 context frames"):
        engine.generate(GenerateRequest(clip(3), "tail", 4, RATE), None)
