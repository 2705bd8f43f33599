"""The built-in engine on its tiny preset: real adaptation and sampling, cache per shot."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from lengthen.engines import EngineSettings, GenerateRequest, get_engine
from lengthen.engines.builtin_settings import BuiltinSettings
from lengthen.engines.candidates import psnr
from lengthen.errors import Cancelled
from lengthen.media.synthetic import stamp_frame
from lengthen.progress import SilentProgress


def moving(n=16, h=48, w=64):
    return np.stack([stamp_frame(i, h, w) for i in range(n)])


def request(frames, direction="tail", n=6, key="shot-a", **kw):
    settings = EngineSettings(quality="tiny", **kw)
    return GenerateRequest(
        context=frames, direction=direction, frames=n, rate=Fraction(24), settings=settings, cache_key=key
    )


@pytest.fixture
def cheap_first(monkeypatch):
    """The tiny preset (which always adapts, to test the machinery) deciding like the real presets:
    adaptation only when no cheap candidate fits the held-out frames."""
    from dataclasses import replace

    from lengthen.engines import builtin_settings

    tiny = replace(builtin_settings.PRESETS["tiny"], always_adapt=False)
    monkeypatch.setitem(builtin_settings.PRESETS, "tiny", tiny)


def test_tail_then_cache_hit_skips_adaptation(monkeypatch):
    ctx = moving()
    engine = get_engine("builtin")
    first = engine.generate(request(ctx, n=6), SilentProgress())
    assert first.frames.shape == (6, 48, 64, 3) and first.frames.dtype == np.uint8
    assert first.info["adapt_cached"] is False and first.info["adapt_steps"] == 10

    import lengthen.engines.adapt as adapt_mod

    def no_adapt(*a, **k):
        raise AssertionError("adaptation ran again")

    monkeypatch.setattr(adapt_mod, "adapt", no_adapt)
    longer = engine.generate(request(ctx, n=9), SilentProgress())  # another length: starts at once
    assert longer.info["adapt_cached"] is True and longer.frames.shape[0] == 9
    # same seed, same adapted weights: the first 6 frames are the same frames
    assert np.array_equal(longer.frames[:6], first.frames)


def test_head_is_in_time_order_and_meets_the_first_frame():
    ctx = moving()
    out = get_engine("builtin").generate(request(ctx, "head", n=5, key="shot-head"), SilentProgress()).frames
    assert out.shape == (5, 48, 64, 3)
    # the frame right before the cut is a warp of context[0]: closer to it than to the far end
    near = np.abs(out[-1].astype(int) - ctx[0].astype(int)).mean()
    far = np.abs(out[-1].astype(int) - ctx[-1].astype(int)).mean()
    assert near < far


def test_deterministic_for_a_seed_and_different_across_seeds(tmp_path, monkeypatch):
    ctx = moving()
    engine = get_engine("builtin")
    monkeypatch.setenv("LENGTHEN_CACHE", str(tmp_path / "c1"))
    a = engine.generate(request(ctx, key="det", seed=3), SilentProgress()).frames
    monkeypatch.setenv("LENGTHEN_CACHE", str(tmp_path / "c2"))  # a fresh cache: adapt again
    b = engine.generate(request(ctx, key="det", seed=3), SilentProgress()).frames
    assert np.array_equal(a, b)


def test_cancel_during_adaptation_leaves_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LENGTHEN_CACHE", str(tmp_path))
    progress = SilentProgress()
    calls = {"n": 0}
    real_report = progress.report

    def report(stage, done, total=None, message=""):
        real_report(stage, done, total, message)
        calls["n"] += 1
        if stage == "adapt" and calls["n"] > 3:
            progress.cancel()

    progress.report = report
    with pytest.raises(Cancelled):
        get_engine("builtin").generate(request(moving(), key="cancel-me"), progress)
    assert not list(tmp_path.rglob("config.json")) and not list(tmp_path.rglob("*.safetensors"))


def test_candidates_share_one_adaptation_and_differ_by_sampling_seed(tmp_path, monkeypatch):
    from dataclasses import replace

    from lengthen.engines import builtin_settings

    # the learned candidate used whatever self-validation says: only it depends on the sampling seed
    learned = replace(builtin_settings.PRESETS["tiny"], force="learned x1")
    monkeypatch.setitem(builtin_settings.PRESETS, "tiny", learned)
    monkeypatch.setenv("LENGTHEN_CACHE", str(tmp_path))
    ctx = moving()
    engine = get_engine("builtin")
    base = request(ctx, key="best-of-3", seed=5)
    made = [engine.generate(replace(base, candidate=c), SilentProgress()) for c in range(3)]
    assert [m.info["adapt_source"] for m in made] == ["adapted", "memory", "memory"]
    assert [m.info["seed"] for m in made] == [5, 6, 7]
    assert not np.array_equal(made[0].frames, made[1].frames)  # another sampling seed, other frames
    # a fresh engine finds the same adaptation on disk and samples candidate 1 identically
    again = get_engine("builtin").generate(replace(base, candidate=1), SilentProgress())
    assert again.info["adapt_source"] == "disk cache" and np.array_equal(again.frames, made[1].frames)


def test_render_shot_with_three_candidates_adapts_once(tmp_path, monkeypatch):
    from lengthen.config import ExtendRequest
    from lengthen.media.synthetic import stamped_clip
    from lengthen.pipeline import render_shot
    from lengthen.shots import ShotSpec

    monkeypatch.setenv("LENGTHEN_CACHE", str(tmp_path / "cache"))
    clip = stamped_clip(tmp_path / "clip.mp4", 20, rate=24, size=(48, 64))
    spec = ShotSpec(clip="c", media=str(clip), rate=Fraction(24), first=0, last=19, tail_frames=4)
    req = ExtendRequest(
        settings=EngineSettings(quality="tiny", candidates=3), scan_faces=False, output_dir=tmp_path / "out"
    )
    report = render_shot(spec, req).report["directions"]["tail"]
    assert report["adaptations"] == 1
    assert [c["seed"] for c in report["candidates"]] == [0, 1, 2]


# -- self-validation ----------------------------------------------------------------------------


def texture(h=120, w=240, seed=0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.float32), (0, 0), 2.5)
    return ((img - img.min()) / (img.max() - img.min()) * 255).astype(np.uint8)


def panning(speeds) -> np.ndarray:
    """A texture seen through a 64x48 window that moves ``speeds[i]`` px right before frame i+1."""
    big, x = texture(), 20.0
    out = [big[30:78, 20:84]]
    for v in speeds:
        x += v
        out.append(big[30:78, int(round(x)) : int(round(x)) + 64])
    return np.stack(out)


def baseline(name, ctx, n):
    req = request(ctx, n=n, key=f"baseline-{name}")
    return get_engine(name).generate(req, SilentProgress()).frames


def test_still_shot_holds_the_frame_without_adapting(monkeypatch, cheap_first):
    import lengthen.engines.adapt as adapt_mod

    def no_adapt(*a, **k):
        raise AssertionError("a still shot must not adapt")

    monkeypatch.setattr(adapt_mod, "adapt", no_adapt)
    ctx = np.repeat(texture()[None, :48, :64], 20, axis=0)
    out = get_engine("builtin").generate(request(ctx, n=8, key="still"), SilentProgress())
    sel = out.info["selection"]
    assert out.info["chosen"] == "freeze" and out.info["adapt_steps"] == 0 and "still" in sel["why"]
    assert sel["adaptation"].startswith("skipped") and sel["held_out_frames"] == 4
    assert [r["candidate"] for r in sel["candidates"]] == ["freeze", "motion", "motion-slow", "flow-raw", "hedged"]
    assert np.array_equal(out.frames, baseline("freeze", ctx, 8))


def test_a_steady_pan_is_continued_and_equals_the_winning_baseline(cheap_first):
    """2 px per frame, steady: holding the frame loses, a flow candidate wins on the held-out
    frames by more than the hedge's margin (the motion is certain), and the engine's frames are
    exactly that baseline engine's frames."""
    ctx = panning([2.0] * 19)
    out = get_engine("builtin").generate(request(ctx, n=6, key="pan", adapt_steps=0), SilentProgress())
    sel = out.info["selection"]
    scores = {r["candidate"]: r["psnr"] for r in sel["candidates"]}
    assert out.info["chosen"] == max(scores, key=scores.get) not in ("freeze", "hedged")
    assert scores[out.info["chosen"]] > scores["freeze"] + 3
    assert scores[out.info["chosen"]] > scores["hedged"] + BuiltinSettings().hedge_margin_db
    assert sel["oracle_psnr"] >= max(scores.values()) - 0.5 and "best PSNR" in sel["why"]
    engine = {"motion": "motion", "flow-raw": "flow-raw"}.get(out.info["chosen"])
    if engine is not None:
        assert np.array_equal(out.frames, baseline(engine, ctx, 6))
    assert out.info["adapt_steps"] == 0 and out.info["residual_scale"] is None


def test_a_slow_clean_pan_is_not_held_as_still(cheap_first):
    """0.2 px per frame: holding scores above the still threshold (40 dB), but the flows fit the
    held-out frames far better, so the shot is not treated as still."""
    import cv2

    big = cv2.GaussianBlur(texture(), (0, 0), 3)  # a soft picture: holding it still scores high
    shift = lambda x: cv2.warpAffine(big, np.float32([[1, 0, -x], [0, 1, 0]]), big.shape[1::-1])  # noqa: E731
    ctx = np.stack([shift(20 + 0.2 * i)[30:78, 20:84] for i in range(20)])  # sub-pixel: 0.2 px per frame
    out = get_engine("builtin").generate(request(ctx, n=6, key="slow", adapt_steps=0), SilentProgress())
    scores = {r["candidate"]: r["psnr"] for r in out.info["selection"]["candidates"]}
    assert scores["freeze"] >= 40 and max(scores.values()) > scores["freeze"] + 3
    assert out.info["chosen"] != "freeze" and "still" not in out.info["selection"]["why"]
    assert_hedge_rule(out.info["chosen"], scores)


@pytest.mark.parametrize("name", ["hedged", "hedged learned", "learned x1"])
def test_every_candidate_can_be_forced(cheap_first, monkeypatch, name):
    """``force`` picks any candidate, the learned ones too (adaptation then runs even where the
    cheap candidates would skip it)."""
    from dataclasses import replace

    from lengthen.engines import builtin_settings

    tiny = builtin_settings.PRESETS["tiny"]
    monkeypatch.setitem(builtin_settings.PRESETS, "tiny", replace(tiny, force=name))
    ctx = np.repeat(texture()[None, :48, :64], 20, axis=0)  # a still shot: nothing would adapt
    out = get_engine("builtin").generate(request(ctx, n=4, key=f"forced-{name}"), SilentProgress())
    assert out.info["chosen"] == name and "forced" in out.info["selection"]["why"]
    assert out.frames.shape == (4, 48, 64, 3)
    assert (out.info["adapt_steps"] > 0) == name.startswith(("learned", "hedged learned"))


def test_a_shot_too_short_to_hold_out_is_hedged(cheap_first):
    """Too few frames to hold any out: the hedge, the best guess over many real shots."""
    ctx = panning([2.0] * 5)[:6]
    out = get_engine("builtin").generate(request(ctx, n=4, key="short", adapt_steps=0), SilentProgress())
    assert out.info["selection"]["held_out_frames"] == 0 and out.info["chosen"] == "hedged"


def test_a_shot_that_stops_is_held_not_carried_on(cheap_first):
    """The pan stops 6 frames before the cut: the held-out frames are still, so continuing the
    earlier motion loses to holding (or slowing to a stop), and nothing is adapted."""
    ctx = panning([4.0] * 13 + [0.0] * 6)
    out = get_engine("builtin").generate(request(ctx, n=6, key="stop"), SilentProgress())
    assert out.info["chosen"] in ("freeze", "motion-slow") and out.info["adapt_steps"] == 0


def test_when_adapting_the_learned_candidates_are_scored():
    ctx = panning([4.0] * 19)
    out = get_engine("builtin").generate(request(ctx, n=6, key="pan-learned"), SilentProgress())
    names = [r["candidate"] for r in out.info["selection"]["candidates"]]
    assert names[5:] == ["learned x0.25", "learned x0.5", "learned x0.75", "learned x1", "hedged learned"]
    assert out.info["adapt_steps"] == 10 and out.info["selection"]["adaptation"].startswith("forced")
    scores = {r["candidate"]: r["psnr"] for r in out.info["selection"]["candidates"]}
    assert_hedge_rule(out.info["chosen"], scores)


def assert_hedge_rule(chosen: str, scores: dict) -> None:
    """The winner: the best on the held-out frames, unless it is a crisp one that beats the best
    hedge by no more than the margin (then that hedge)."""
    best = max(scores, key=scores.get)
    hedge = max((n for n in scores if n.startswith("hedged")), key=scores.get)
    if best == hedge or scores[best] - scores[hedge] > BuiltinSettings().hedge_margin_db:
        assert chosen == best
    else:
        assert chosen == hedge


def test_uncertain_motion_is_hedged_and_the_hedge_fits_what_comes_next_best(cheap_first):
    """A handheld-like shot: the view jerks by a different amount every frame (seeded). No crisp
    continuation beats the hedge by its margin on the held-out frames, so ``hedged`` is chosen;
    on the frames that really come next it is closer (PSNR) than each baseline engine's."""
    rng = np.random.default_rng(3)
    speeds = list(rng.uniform(0.0, 4.0, 27))
    shot = panning(speeds)
    ctx, truth = shot[:20], shot[20:26]
    out = get_engine("builtin").generate(request(ctx, n=6, key="jerky", adapt_steps=0), SilentProgress())
    scores = {r["candidate"]: r["psnr"] for r in out.info["selection"]["candidates"]}
    assert out.info["chosen"] == "hedged" and "hedged" in out.info["selection"]["why"]
    assert_hedge_rule("hedged", scores)
    mine = psnr(truth, out.frames)
    for name in ("freeze", "flow-raw", "motion"):
        assert mine > psnr(truth, baseline(name, ctx, 6)), name


def test_worst_identity_reads_a_face_lost_as_worse(testdata):
    """The identity guard's score: the astronaut's face against her bank is high; frames where the
    face is scrambled count as -1 (lost), so a winner that loses a face loses to the motion prior."""
    from PIL import Image

    from lengthen.engines.builtin import BuiltinEngine
    from lengthen.faces.backends.registry import get_backend
    from lengthen.faces.scan import add_reference_photo

    photo = testdata / "images" / "skimage__astronaut.png"
    banks = add_reference_photo([], "Astro", photo, get_backend("dlib"))
    with Image.open(photo) as im:
        face = np.asarray(im.convert("RGB"))[:320, 80:400]
    kept = np.repeat(face[None], 3, axis=0)
    assert BuiltinEngine._worst_identity(kept, banks) > 0.95
    lost = kept.copy()
    lost[2, 60:200, 100:260] = lost[2, 60:200, 100:260][::-1, ::-1]  # the face upside down in the last frame
    assert BuiltinEngine._worst_identity(lost, banks) == -1.0
    assert BuiltinEngine._worst_identity(np.zeros((2, 64, 64, 3), np.uint8), banks) is None
