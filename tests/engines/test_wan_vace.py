"""wan-vace on a tiny random WanVACEPipeline (built from config, saved, loaded back through
lengthen's loader): frame grid, mask, context and identity references reaching the real pipeline,
latent-aligned heads (checked with the pipeline's own mask downsampling), long extensions in
windows with continuous joins, limits in clip-rate frames, anamorphic sources. Banks are real
IdentityBank objects."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from PIL import Image
from tiny_pipelines import CallSpy, make_bank, tiny_folder

from lengthen.engines import grid, wan_vace
from lengthen.engines.base import EngineSettings, GenerateRequest, get_engine
from lengthen.errors import Cancelled
from lengthen.faces.references import reference_crops
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
        # the pipeline cuts the references (engines never read media)
        GenerateRequest(
            ctx, "tail", 6, RATE, banks=tuple(banks), settings=engine.settings, references=reference_crops(banks)
        ),
        progress,
    )
    call = spy.calls[0]
    n, total = res.info["context_frames"], call["num_frames"]
    assert (total - 1) % 4 == 0 and call["height"] % 16 == 0 and call["width"] % 16 == 0
    assert len(call["video"]) == len(call["mask"]) == total
    masks = np.stack([np.asarray(m) for m in call["mask"]])
    assert (masks[:n] == 0).all() and (masks[n:] == 255).all()
    # the context reaching the pipeline is the clip's last frames resampled to 16 fps, in time order
    placement = engine.plan(GenerateRequest(ctx, "tail", 6, RATE)).placement
    want = grid.resample_context(grid.to_working(ctx[::-1], placement), RATE, Fraction(16), n)[::-1]
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
    assert ("generate", 2, 2, "window 1/1") in progress.events and progress.events[-1][:3] == ("window", 1, 1)
    assert call["conditioning_scale"] == 1.0  # identity never loosens how closely the context is kept


def test_head_context_is_latent_aligned_and_every_new_frame_is_generated(engine, monkeypatch):
    """A head window's context is 4k frames so the cut falls on a latent boundary; the pipeline's
    own downsampled mask (prepare_masks) marks every latent holding a new frame "generate"."""
    import torch

    ctx = clip()
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(ctx, "head", 5, RATE, settings=engine.settings), None)
    call = spy.calls[0]
    n, total = res.info["context_frames"], call["num_frames"]
    assert n % 4 == 0 and (total - n - 1) % 4 == 0  # new frames fill latents 0..j exactly
    masks = np.stack([np.asarray(m) for m in call["mask"]])
    assert (masks[: total - n] == 255).all() and (masks[total - n :] == 0).all()
    mask = torch.from_numpy(masks[None, ..., :1].transpose(0, 4, 1, 2, 3).astype(np.float32) / 255)  # b c t h w
    latent = engine._pipe.prepare_masks(mask, [[]], None)[0, 0, :, 0, 0].numpy()  # one value per latent (no refs)
    new_latents = {0} | {i for i in range(1, len(latent)) if 4 * i - 3 < total - n}
    assert all(latent[i] == 1.0 for i in new_latents), latent
    assert all(latent[i] == 0.0 for i in range(len(latent)) if i not in new_latents)
    plan = engine.plan(GenerateRequest(ctx, "head", 5, RATE))
    want = grid.resample_context(grid.to_working(ctx, plan.placement), RATE, Fraction(16), n)
    assert np.array_equal(np.stack([np.asarray(v) for v in call["video"][total - n :]]), want)
    assert call["reference_images"] is None
    assert res.frames.shape == (5, 36, 48, 3)


@pytest.mark.parametrize("total", range(5, 82, 4))
def test_vace_windows_never_keep_a_latent_that_holds_new_frames(total):
    """The layout rule against the pipeline's own rule, for every window size up to 81."""
    import torch

    for direction, context in (("tail", 17), ("tail", 5), ("head", 16), ("head", 4)):
        if context >= total:
            continue
        eng = get_engine("wan-vace", EngineSettings())
        w = eng.window(context, total - context, direction)
        m = torch.zeros(1, 1, w.total, 16, 16)
        new = slice(w.context, w.total) if direction == "tail" else slice(0, w.new)
        m[:, :, new] = 1.0
        latent = torch.nn.functional.interpolate(m, size=((w.total - 1) // 4 + 1, 2, 2), mode="nearest-exact")
        latent = latent[0, 0, :, 0, 0]
        idx = range(w.context, w.total) if direction == "tail" else range(w.new)
        holds_new = {0 if f == 0 else (f + 3) // 4 for f in idx}
        assert all(latent[i] == 1.0 for i in holds_new), (direction, total, w)
        assert wan_vace.mask_misses(w.total, w.context, direction) == []


def test_a_100_frame_tail_at_23976_plans_and_runs(engine, monkeypatch):
    """Limits are clip-rate frames: 100 frames at 23.976 are 67 at 16 fps: windows, never refused,
    and the context is never shrunk to make room."""
    normal = get_engine("wan-vace", EngineSettings())
    lim = normal.limits(RATE)
    assert lim.max_frames is None and lim.context == 25 and lim.min_context == 1  # 17 frames at 16 fps
    plan = normal.plan(GenerateRequest(np.zeros((25, 36, 48, 3), np.uint8), "tail", 100, RATE))
    assert [(w.context, w.new) for w in plan.windows] == [(17, 64), (17, 4)] and plan.new == 67
    spy = CallSpy(monkeypatch, engine._pipe)
    progress = SilentProgress()
    res = engine.generate(GenerateRequest(clip(12), "tail", 100, RATE, settings=engine.settings), progress)
    assert res.frames.shape == (100, 36, 48, 3)
    assert len(spy.calls) == len(res.info["windows"]) == 9  # 67 native frames, 8 per tiny window
    assert all(c["num_frames"] <= 13 and len(c["video"]) == c["num_frames"] for c in spy.calls)
    assert [e[1] for e in progress.events if e[0] == "window"] == list(range(1, 10))


def test_three_windows_join_continuously(engine, monkeypatch):
    """A 16 fps clip (frame for frame, no re-timing) extended by 20 frames in three tiny windows:
    each window is conditioned on exactly the last frames the previous one delivered, and the
    colour runs on across each join."""
    rate = Fraction(16)
    ctx = clip(10, 32, 32)  # 32x32 is the tiny working grid itself: frames compare exactly
    spy = CallSpy(monkeypatch, engine._pipe)
    res = engine.generate(GenerateRequest(ctx, "tail", 20, rate, settings=engine.settings), None)
    windows = res.info["windows"]
    assert len(windows) == 3 and len(spy.calls) == 3 and sum(n for _, n in windows) >= 20
    out = res.frames
    made = 0
    for k, (c, n) in enumerate(windows[:-1]):
        made += n
        sent = np.stack([np.asarray(v) for v in spy.calls[k + 1]["video"][: windows[k + 1][0]]])
        assert np.array_equal(sent, out[made - windows[k + 1][0] : made])  # the shared overlap
        before, after = out[made - 1].reshape(-1, 3).mean(0), out[made].reshape(-1, 3).mean(0)
        within = np.abs(np.diff(out[made - n : made].reshape(n, -1, 3).mean(1), axis=0)).max()
        assert np.abs(after - before).max() <= max(8.0, 2 * within), (k, before, after)
    assert res.info["conform"] == "frame for frame"


def test_identity_strength_only_chooses_references(engine, banks, monkeypatch):
    spy = CallSpy(monkeypatch, engine._pipe)
    path = engine.settings.model_path
    for strength in (0.0, 0.5, 1.5):
        engine.settings = EngineSettings(quality="tiny", identity_strength=strength, model_path=path)
        engine.generate(GenerateRequest(clip(), "tail", 3, RATE, banks=tuple(banks)), None)
    engine.settings = EngineSettings(quality="tiny", model_path=path)
    none, one, two = spy.calls
    assert none["reference_images"] is None  # 0 turns identity conditioning off
    assert len(one["reference_images"]) == len(two["reference_images"]) == 2  # each bank holds one face
    assert {c["conditioning_scale"] for c in spy.calls} == {1.0}


def test_seed_changes_the_candidate_and_repeats_exactly(engine):
    ctx = clip()
    runs = [
        engine.generate(GenerateRequest(ctx, "tail", 3, RATE, settings=EngineSettings(seed=s)), None).frames
        for s in (1, 1, 2)
    ]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


def test_anamorphic_sources_are_generated_unsqueezed():
    eng = get_engine("wan-vace", EngineSettings())
    squeezed = np.zeros((4, 1080, 1920 // 2, 3), np.uint8)  # 2x anamorphic: half-width storage
    plan = eng.plan(GenerateRequest(squeezed, "tail", 8, RATE, pixel_aspect=Fraction(2)))
    h, w = plan.placement.content
    assert abs(w / h - 1920 / 1080) < 0.02  # the model sees the picture's real shape
    flat = eng.plan(GenerateRequest(squeezed, "tail", 8, RATE))
    assert abs(flat.placement.content[1] / flat.placement.content[0] - 960 / 1080) < 0.02


def test_cancel_stops_inside_the_denoising_loop(engine):
    progress = SilentProgress()
    progress.cancel()
    with pytest.raises(Cancelled):
        engine.generate(GenerateRequest(clip(), "tail", 3, RATE), progress)
