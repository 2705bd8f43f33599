"""engines.adapt on a real synthetic video (a texture moving 4 px/frame), tiny preset."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from lengthen.engines.adapt import FaceSupervision, adapt, build_models
from lengthen.engines.builtin_settings import BuiltinSettings
from lengthen.engines.sample import HEAD, TAIL, MotionContext, sample
from lengthen.errors import Cancelled, EngineError
from lengthen.flow import work_size_for
from lengthen.identity.loss import extract_chips
from lengthen.progress import SilentProgress

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DX = 4  # full-res px per frame, to the right


def texture(h=200, w=400, seed=0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.float32), (0, 0), 3)
    return ((img - img.min()) / (img.max() - img.min()) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def video() -> np.ndarray:
    big = texture()
    return np.stack([big[50:146, 200 - DX * i : 328 - DX * i] for i in range(24)])  # 24 x 96 x 128 x 3


@pytest.fixture(scope="module")
def settings() -> BuiltinSettings:
    return BuiltinSettings.preset("tiny", adapt_steps=40)


@pytest.fixture(scope="module")
def context(video, settings) -> MotionContext:
    size = work_size_for(video.shape[2], video.shape[1], settings.work_width, settings.patch_size)
    return MotionContext.from_frames(video, size, source_width=settings.flow_source_width)


def inner_mean(flows: torch.Tensor) -> np.ndarray:
    return flows[:, :, 4:-4, 4:-4].mean(dim=(0, 2, 3)).numpy()


@pytest.fixture(scope="module")
def trained(context, settings):
    """Without a motion prior the model must learn the whole motion itself."""
    model, _ = build_models(replace(settings, prior="none"))
    result = adapt(model, None, context, replace(settings, reverse_fraction=0.5, prior="none"))
    return model, result


def test_adapt_learns_the_motion_of_the_shot(trained, context, settings, video):
    model, result = trained
    assert result.steps == 40 and len(result.losses) == 40
    assert np.mean(result.losses[-5:]) < 0.3 * np.mean(result.losses[:5])
    true = -DX * context.work_size[0] / video.shape[2]  # backward flow, working px
    flows = sample(model, context, 6, replace(settings, prior="none"))
    assert flows.shape == (6, 2, *context.rgb.shape[-2:])
    mx, my = inner_mean(flows)
    assert abs(mx - true) < 0.3 * abs(true) and abs(my) < 0.3 * abs(true)


def test_one_model_continues_both_ways(trained, video, settings):
    model, _ = trained
    size = work_size_for(video.shape[2], video.shape[1], settings.work_width, settings.patch_size)
    reversed_ctx = MotionContext.from_frames(video[::-1].copy(), size, HEAD, settings.flow_source_width)
    true = DX * size[0] / video.shape[2]  # backwards in time the content moves left
    mx, _ = inner_mean(sample(model, reversed_ctx, 4, replace(settings, prior="none")))
    assert abs(mx - true) < 0.3 * abs(true)
    # the direction label matters to the trained model
    rgb, flows, _ = reversed_ctx.sequence()
    x = (flows[None, :6] / model.config.flow_scale).clone()
    with torch.no_grad():
        head = model(x, rgb[None, :6], torch.tensor([0.8]), 2, HEAD)
        tail = model(x, rgb[None, :6], torch.tensor([0.8]), 2, TAIL)
    assert (head - tail).abs().max() > 1e-4


def test_with_the_motion_prior_adaptation_learns_what_the_prior_misses(context, settings, video):
    """The prior damps the motion (0.95 per frame); on a shot moving steadily the residual the
    model learns undoes the damping, so the adapted engine continues the motion more truly."""
    true = -DX * context.work_size[0] / video.shape[2]
    s = replace(settings, prior="motion", motion_damping=0.9, adapt_steps=60)
    model, _ = build_models(s)
    untrained = sample(model, context, 8, s)
    adapt(model, None, context, s)
    adapted = sample(model, context, 8, s)
    err_prior = abs(inner_mean(untrained[4:])[0] - true)
    err_adapted = abs(inner_mean(adapted[4:])[0] - true)
    assert err_prior > 0.3 * abs(true)  # the damped prior has lost a third of the motion by then
    assert err_adapted < 0.5 * err_prior


def test_same_seed_same_weights_other_seed_other_weights(context, settings):
    quick = replace(settings, adapt_steps=4)

    def run(s):
        model, _ = build_models(s)
        adapt(model, None, context, s)
        return model.state_dict()

    a, b, c = run(quick), run(quick), run(replace(quick, seed=1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_progress_every_step_time_box_and_cancel(context, settings):
    progress = SilentProgress()
    model, _ = build_models(settings)
    result = adapt(model, None, context, replace(settings, adapt_steps=3), progress)
    assert [e[1] for e in progress.events if e[0] == "adapt"] == [1, 2, 3]
    timed = adapt(model, None, context, replace(settings, adapt_steps=None, adapt_seconds=0.3))
    assert timed.steps >= 1 and timed.seconds < 3
    progress.cancel()
    with pytest.raises(Cancelled):
        adapt(model, None, context, settings, progress)
    assert not model.training and result.steps == 3


def test_short_contexts(video, settings):
    size = work_size_for(video.shape[2], video.shape[1], settings.work_width, settings.patch_size)
    model, _ = build_models(settings)
    short = MotionContext.from_frames(video[:3], size, source_width=settings.flow_source_width)
    assert adapt(model, None, short, replace(settings, adapt_steps=2)).steps == 2
    with pytest.raises(EngineError, match="at least 3"):
        adapt(model, None, MotionContext.from_frames(video[:2], size), settings)


class TinyEmbedder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 5, stride=3), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(128, 16)
        )

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        return self.net(chips / 127.5 - 1.0)


def test_identity_preservation_trains_model_and_encoder(video, context, settings):
    embed = TinyEmbedder()
    t = len(video)
    # a "face" that rides on the moving texture: a 24 px square at x = 40 + DX * i
    affines = torch.tensor([[[[1.0, 0.0, 40.0 + DX * i], [0.0, 1.0, 30.0]]] for i in range(t)])  # t 1 2 3
    present = torch.ones(t, 1, dtype=torch.bool)
    present[5] = False
    frames_t = torch.from_numpy(video).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        bank = embed(extract_chips(frames_t[-8:], affines[-8:, 0], 24))  # 8 16
    faces = FaceSupervision(video, affines, present, torch.zeros(1, dtype=torch.long), embed, chip_size=24)
    s = replace(settings, adapt_steps=6, identity_every=2, identity_attention=True)
    model, encoder = build_models(s, face_dim=16)
    before = [p.detach().clone() for p in encoder.parameters()]
    frozen = [p.detach().clone() for p in embed.parameters()]
    result = adapt(model, encoder, context, s, banks=[bank], faces=faces)
    assert result.identity_encoder is encoder and len(result.identity_losses) == 3
    assert all(np.isfinite(result.identity_losses))
    assert any(not torch.equal(a, p) for a, p in zip(before, encoder.parameters()))
    assert all(torch.equal(a, p) for a, p in zip(frozen, embed.parameters()))
    assert all(p.requires_grad for p in embed.parameters())
    tokens = encoder([bank])
    flows = sample(model, context, 3, s, identity_tokens=tokens)
    assert flows.shape[0] == 3 and torch.isfinite(flows).all()


def test_face_supervision_needs_matching_banks(video, context, settings):
    embed = TinyEmbedder()
    faces = FaceSupervision(
        video,
        torch.zeros(len(video), 1, 2, 3),
        torch.ones(len(video), 1, dtype=torch.bool),
        torch.tensor([1]),
        embed,
        chip_size=24,
    )
    model, encoder = build_models(settings, face_dim=16)
    with pytest.raises(ValueError, match="needs identity banks"):
        adapt(model, encoder, context, settings, faces=faces)
    with pytest.raises(ValueError, match="character 1"):
        adapt(model, encoder, context, settings, banks=[torch.randn(3, 16)], faces=faces)


def test_identity_gradient_is_capped_relative_to_the_flow_gradient():
    from lengthen.engines.adapt import _add_capped_gradient

    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    (w.sum() * 0.1).backward()  # flow gradient (0.1, 0.1), norm 0.1414
    _add_capped_gradient([w], (w**2).sum() * 100, 0.5)  # a huge extra gradient (200, 400)
    extra = w.grad - torch.tensor([0.1, 0.1])
    assert torch.allclose(extra.norm(), torch.tensor(0.5 * 0.1 * 2**0.5), rtol=1e-4)
    assert torch.allclose(extra / extra.norm(), torch.tensor([1.0, 2.0]) / 5**0.5, rtol=1e-4)  # direction kept
    v = nn.Parameter(torch.tensor([1.0]))
    (v * 10).sum().backward()
    _add_capped_gradient([v], v.sum() * 0.5, 0.5)  # a small one passes as it is
    assert torch.allclose(v.grad, torch.tensor([10.5]))


def test_no_training_window_sees_the_held_out_frames(context, settings):
    """Self-validation scores candidates on the last frames before the cut: no window, forward or
    backward in time, may contain them (reverse item j is frame T-2-j)."""
    from lengthen.engines.adapt import _Windows

    s = replace(settings, holdout_frames=3)
    windows = _Windows(context, s, np.random.default_rng(0))
    items = len(context.flows)
    assert windows.held_out == 3
    (lo, hi), (rlo, rhi) = windows.ranges
    assert hi + windows.c + windows.t <= items - 3 and lo <= hi  # forward windows end before them
    assert rlo == 3 and rlo <= rhi  # reverse windows start after them
    forward = {windows.start(False) for _ in range(300)}
    backward = {windows.start(True) for _ in range(300)}
    assert max(forward) == hi and min(backward) == 3 and max(backward) <= rhi
    off = _Windows(context, replace(s, validate=False), np.random.default_rng(0))
    assert off.held_out == 0 and off.ranges[0][1] == items - off.c - off.t and off.ranges[1][0] == 0
    model, _ = build_models(s)
    assert adapt(model, None, context, replace(s, adapt_steps=1)).held_out == 3


@pytest.mark.parametrize("fraction", [0.0, 0.75, 1.0])
def test_training_noise_levels_weight_sigma_one_as_configured(context, settings, fraction):
    """One-step sampling reads the model at sigma = 1: that share of the training windows is noised
    all the way, the rest at sigma ~ U(0, 1) (recorded from the sigmas the model is called with)."""
    s = replace(settings, sigma_one_fraction=fraction, adapt_steps=25, batch_size=4, validate=False)
    model, _ = build_models(s)
    seen: list[torch.Tensor] = []
    forward = model.forward

    def spy(x, rgb, sigma, *args, **kwargs):
        seen.append(torch.as_tensor(sigma).detach().flatten().clone())
        return forward(x, rgb, sigma, *args, **kwargs)

    model.forward = spy
    adapt(model, None, context, s)
    sigmas = torch.cat(seen)
    assert len(sigmas) == 25 * 4
    ones = float((sigmas == 1).float().mean())
    assert abs(ones - fraction) < 0.15
    rest = sigmas[sigmas < 1]
    if fraction < 1:
        assert float(rest.min()) < 0.3 and float(rest.max()) > 0.6  # spread over (0, 1)


def test_adaptation_starts_from_a_pretrained_prior(settings, tmp_path):
    """``pretrained``: the motion prior's weights (diffusers folder, safetensors) are the start point;
    one of another architecture is refused by name."""
    model, _ = build_models(settings)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    model.save_pretrained(tmp_path / "prior", safe_serialization=True)
    assert (tmp_path / "prior" / "diffusion_pytorch_model.safetensors").is_file()
    started, _ = build_models(replace(settings, pretrained=str(tmp_path / "prior"), seed=5))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), started.state_dict().values()))
    # stored as float16 (train_motion_prior.py --half: half the file), loaded into the float32 model
    model.to(torch.float16).save_pretrained(tmp_path / "half", safe_serialization=True)
    half, _ = build_models(replace(settings, pretrained=str(tmp_path / "half"), seed=5))
    for a, b in zip(model.state_dict().values(), half.state_dict().values()):
        assert b.dtype == torch.float32 and torch.equal(a.float(), b)
    with pytest.raises(EngineError, match="width"):
        build_models(replace(settings, width=64, pretrained=str(tmp_path / "prior")))
    with pytest.raises(EngineError, match="not found"):
        build_models(replace(settings, pretrained="no-such-prior"))


@pytest.mark.parametrize("quality", ["draft", "normal"])
def test_the_preset_starts_from_its_shipped_motion_prior(quality):
    """The package ships the draft and normal priors (safetensors, a few MB, trained from scratch
    by benchmarks/train_motion_prior.py, which training.json records; model card beside each):
    adaptation at that quality starts from them."""
    import json

    from lengthen.engines.adapt import prior_path

    folder = prior_path(quality)
    weights = folder / "diffusion_pytorch_model.safetensors"
    assert weights.is_file() and 1e6 < weights.stat().st_size < 10e6 and (folder / "README.md").is_file()
    training = json.loads((folder / "training.json").read_text())
    assert training["started_from"] == "scratch"
    # normal is stored as float16 (half the file), draft as float32; both load into a float32 model
    stored = {"draft": "F32", "normal": "F16"}[quality]
    size = int.from_bytes(weights.read_bytes()[:8], "little")  # safetensors: an 8-byte header size, then JSON
    header = json.loads(weights.read_bytes()[8 : 8 + size])
    assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} == {stored}
    model, _ = build_models(BuiltinSettings.preset(quality))
    assert float(model.patch_out.weight.detach().abs().sum()) > 0  # a fresh model's output layer is all zeros
    assert all(p.dtype == torch.float32 for p in model.parameters())
    fresh, _ = build_models(BuiltinSettings.preset(quality, pretrained=None))
    assert float(fresh.patch_out.weight.detach().abs().sum()) == 0
