"""wan-vace on a tiny random WanVACEPipeline (built from config, saved, loaded back through
lengthen's loader): frame grid, mask, context and identity references reaching the real pipeline,
trimming and rate conforming, head and tail, limits. Banks are real IdentityBank objects."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from PIL import Image
from tiny_pipelines import CallSpy, make_bank, tiny_folder

from lengthen.engines import grid
from lengthen.engines.base import EngineSettings, GenerateRequest, get_engine
from lengthen.errors import Cancelled, UsageError
from lengthen.progress import SilentProgress

RATE = Fraction(24000, 1001)


def clip(n=10, h=36, w=48) -> np.ndarray:
    """A grey ramp with a white square moving 2 px right per frame: (n, h, w, 3) uint8."""
    frames = np.zeros((n, h, w, 3), np.uint8)
    frames[:] = np.linspace(30, 120, w, dtype=np.uint8)[None, None, :, None]
    for i in range(n):
        frames[i, 10:20, 4 + 2 * i : 14 + 2 * i] = 255
    return frames


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    eng = get_engine(
        "wan-vace", EngineSettings(quality="tiny", model_path=str(tiny_folder("wan-vace", tmp_path_factory)))
    )
    eng.pipeline(SilentProgress())  # load once through the real loader
    return eng


@pytest.fixture
def banks(tmp_path):
    photo = tmp_path / "anna.png"
    img = np.zeros((60, 80, 3), np.uint8)
    img[20:40, 30:50] = (250, 20, 20)  # the face box, red
    img[:, :, 2] = 200  # blue margin around it: proves the crop has margin from the photo
    Image.fromarray(img).save(photo)
    anna = make_bank("Anna", (250, 20, 20), photo=photo, box=(30.0, 20.0, 50.0, 40.0))
    ben = make_bank("Ben", (20, 250, 20), photo=None, bank_id="char_002")  # media missing: aligned chip
    return [anna, ben]


def test_tail_sends_context_mask_and_references_to_the_pipeline(engine, banks, monkeypatch):
    ctx = clip()
    spy = CallSpy(monkeypatch, engine._pipe)
    progress = SilentProgress()
    res = engine.generate(
        GenerateRequest(ctx, "tail", 6, RATE, banks=tuple(banks), settings=engine.settings), progress
    )
    call = spy.calls[0]
    n, total = res.info["context_frames"], call["num_frames"]
    assert (total - 1) % 4 == 0 and call["height"] % 16 == 0 and call["width"] % 16 == 0
    assert len(call["video"]) == len(call["mask"]) == total
    masks = np.stack([np.asarray(m) for m in call["mask"]])
    assert (masks[:n] == 0).all() and (masks[n:] == 255).all()
    # the context reaching the pipeline is the clip's last frames resampled to 16 fps, in time order
    want = grid.to_working(
        grid.resample_context(ctx[::-1], RATE, Fraction(16), n),
        engine.plan(GenerateRequest(ctx, "tail", 6, RATE)).placement,
    )[::-1]
    assert np.array_equal(np.stack([np.asarray(v) for v in call["video"][:n]]), want)
    assert all((np.asarray(v) == 127).all() for v in call["video"][n:])
    # one reference per character: Anna cut with margin from her photo, Ben from his aligned chip
    refs = call["reference_images"]
    assert len(refs) == 2 and all(isinstance(r, Image.Image) for r in refs)
    a, b = np.asarray(refs[0]), np.asarray(refs[1])
    c = a.shape[0] // 2
    assert a[c, c, 0] > 200 and a[c, c, 1] < 60  # the face in the middle
    assert (a[:, :, 2] > 150).mean() > 0.5  # surrounded by the photo's blue margin
    assert b[c, c, 1] > 200 and b[c, c, 0] < 60
    assert [r["from"] for r in res.info["references"]] == ["source", "chip"]
    assert "Anna and Ben" in call["prompt"]
    # output: exactly the frames asked for, at the source size, uint8
    assert res.frames.shape == (6, 36, 48, 3) and res.frames.dtype == np.uint8
    assert progress.events[-1][:3] == ("generate", 2, 2)


def test_head_puts_new_frames_first_and_conforms(engine, monkeypatch):
    ctx = clip()
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(ctx, "head", 5, RATE, settings=engine.settings), None)
    call = spy.calls[0]
    n, total = res.info["context_frames"], call["num_frames"]
    masks = np.stack([np.asarray(m) for m in call["mask"]])
    assert (masks[: total - n] == 255).all() and (masks[total - n :] == 0).all()
    plan = engine.plan(GenerateRequest(ctx, "head", 5, RATE))
    want = grid.to_working(grid.resample_context(ctx, RATE, Fraction(16), n), plan.placement)
    assert np.array_equal(np.stack([np.asarray(v) for v in call["video"][total - n :]]), want)
    assert call["reference_images"] is None
    assert res.frames.shape == (5, 36, 48, 3)
    # the generated frames, conformed from 16 fps to 23.976 fps, come from the pipeline's output
    out = np.asarray(spy.outputs[0].frames)[0]  # (total, gh, gw, 3) float in [0, 1]
    made = grid.from_working(np.clip(np.rint(out[: total - n][::-1] * 255), 0, 255).astype(np.uint8), plan.placement)
    expect = grid.conform(made[: plan.new], ctx[0], Fraction(16), RATE, 5)[::-1]
    assert np.array_equal(res.frames, expect)


def test_seed_changes_the_candidate_and_repeats_exactly(engine):
    ctx = clip()
    runs = [
        engine.generate(GenerateRequest(ctx, "tail", 3, RATE, settings=EngineSettings(seed=s)), None).frames
        for s in (1, 1, 2)
    ]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


def test_limits_are_named_before_the_pipeline_runs(engine):
    with pytest.raises(UsageError, match="at most 12 new frames"):
        engine.generate(GenerateRequest(clip(), "tail", 40, RATE), None)  # tiny window is 13 at 16 fps


def test_cancel_stops_inside_the_denoising_loop(engine):
    progress = SilentProgress()
    progress.cancel()
    with pytest.raises(Cancelled):
        engine.generate(GenerateRequest(clip(), "tail", 3, RATE), progress)
