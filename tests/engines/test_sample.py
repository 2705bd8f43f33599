"""engines.sample: scheduler maths, an untrained model freezes, chunked generation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from lengthen.engines.adapt import build_models
from lengthen.engines.builtin_settings import BuiltinSettings
from lengthen.engines.sample import MotionContext, euler_x0_step, flow_sigmas, prior_flows, sample
from lengthen.flow import compose_and_warp
from lengthen.progress import SilentProgress

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def video(n=8, h=48, w=64) -> np.ndarray:
    rng = np.random.default_rng(0)
    import cv2

    big = cv2.GaussianBlur(rng.integers(0, 256, (h + 40, w + 40, 3)).astype(np.float32), (0, 0), 2)
    big = np.clip(big, 0, 255).astype(np.uint8)
    return np.stack([big[20 : 20 + h, 20 - 2 * i + 10 : 20 - 2 * i + 10 + w] for i in range(n)])


def test_x0_euler_step_is_the_schedulers_step():
    from diffusers import FlowMatchEulerDiscreteScheduler

    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0)
    scheduler.set_timesteps(4)
    sigmas = flow_sigmas(4, shift=3.0)
    assert np.allclose(sigmas, scheduler.sigmas.numpy()) and sigmas[-1] == 0.0
    g = torch.Generator().manual_seed(0)
    x, x0 = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    for i, t in enumerate(scheduler.timesteps):
        v = (x - x0) / sigmas[i]
        ours = euler_x0_step(x, x0, sigmas[i], sigmas[i + 1])
        x = scheduler.step(v, t, x).prev_sample
        assert torch.allclose(ours, x, atol=1e-5)
    assert torch.equal(euler_x0_step(x, x0, 0.3, 0.0), x0)


def test_untrained_model_without_a_prior_freezes_the_last_frame():
    s = BuiltinSettings.preset("tiny", prior="none")
    frames = video()
    ctx = MotionContext.from_frames(frames, (32, 24), source_width=64)
    model, _ = build_models(s)
    assert model.config.prior_channels == 0
    flows = sample(model, ctx, 5, s)
    assert flows.shape == (5, 2, 24, 32) and torch.count_nonzero(flows) == 0
    made = compose_and_warp(frames[-1], flows.numpy())
    assert all(np.array_equal(m, frames[-1]) for m in made)


def test_untrained_model_with_the_motion_prior_continues_as_the_motion_engine():
    s = replace(BuiltinSettings.preset("tiny"), target_frames=2)
    assert s.prior == "motion"
    ctx = MotionContext.from_frames(video(), (32, 24), source_width=64)
    model, _ = build_models(s)
    assert model.config.prior_channels == 2
    flows = sample(model, ctx, 5, s)
    # chunk by chunk (2, 2, 1) the prior is re-extrapolated from every flow before the chunk
    history, expected = list(ctx.flows), []
    for k in (2, 2, 1):
        chunk = prior_flows(torch.stack(history), k, s)
        expected.extend(chunk), history.extend(chunk)
    assert torch.allclose(flows, torch.stack(expected), atol=1e-6)
    mx = float(flows[0, 0, 4:-4, 4:-4].mean())
    assert mx < -0.5  # the content moves right: backward flow points left, not a freeze


def test_chunks_progress_and_seed():
    s = replace(BuiltinSettings.preset("tiny"), target_frames=2, context_frames=3)
    ctx = MotionContext.from_frames(video(), (32, 24), source_width=64)
    model, _ = build_models(s)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    progress = SilentProgress()
    a = sample(model, ctx, 5, s, progress=progress)
    assert a.shape == (5, 2, 24, 32) and torch.isfinite(a).all()
    assert [e[1] for e in progress.events] == [0, 2, 4, 5]  # chunks of 2, then done
    assert torch.equal(a, sample(model, ctx, 5, s))
    assert not torch.equal(a, sample(model, ctx, 5, s, seed=7))
    assert sample(model, ctx, 0, s).shape == (0, 2, 24, 32)
