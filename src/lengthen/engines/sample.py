"""Flow-matching sampling of motion with ``MotionTransformer``, plus the shot context it reads.

``MotionContext.from_frames(frames, work_size, direction)`` prepares a shot's known frames in
*generation order* (the cut after the last frame; for a head extension pass ``frames[::-1]`` and
``direction=HEAD``): working-resolution RGB and Farneback flows both ways (:mod:`lengthen.flow`).

``sample(model, context, n, settings, identity_tokens=None, progress=None)`` -> float32
``(n, 2, h, w)`` flows in working px/frame (backward flows, generation order), ready for
``flow.compose_and_warp(last_frame, flows)``. With a motion prior (``settings.prior``, a model
with ``prior_channels``) each chunk's prior is extrapolated from every flow before it (real, then
generated) and the model's residual is added to it. Long extensions are made in chunks of
``settings.target_frames`` frames; each chunk sees the last ``settings.context_frames`` frames
before it as clean context (real frames first, then generated ones, whose RGB is the last real
frame warped by the flows made so far), so consecutive chunks overlap by the context.

Noise maths (flow matching, rectified flow as in diffusers' ``FlowMatchEulerDiscreteScheduler``):
``x_t = (1 - sigma) * x0 + sigma * noise``; velocity ``v = noise - x0 = (x_t - x0) / sigma``. The
model predicts ``x0``; we take the scheduler's sigmas (``set_timesteps(steps)``, ``shift``) and do
its Euler update ``x <- x + (sigma_next - sigma) * v`` written in x0 form,
``x <- x0 + (sigma_next / sigma) * (x - x0)``, which is the same step but gives exactly ``x0`` at
the last step (so an untrained model gives exactly zero flow).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from .. import flow as flowlib
from ..models.motion_transformer import HEAD, TAIL  # noqa: F401 (the direction labels: one home)


@dataclass(frozen=True)
class MotionContext:
    """A shot's known frames for the motion model, generation order (cut after the last frame)."""

    rgb: torch.Tensor  # (T, 3, h, w) float32 in [-1, 1]
    flows: torch.Tensor  # (T-1, 2, h, w) working px; flows[i] on frame i+1's grid -> frame i
    flows_reverse: torch.Tensor  # (T-1, 2, h, w) working px; on frame i's grid -> frame i+1
    direction: int = TAIL  # TAIL: generation order is real time; HEAD: reversed

    @classmethod
    def from_frames(
        cls, frames: np.ndarray, work_size: tuple[int, int], direction: int = TAIL, source_width: int = 320
    ) -> "MotionContext":
        backward, forward = flowlib.pair_flows(frames, work_size, source_width)
        return cls(
            rgb=torch.from_numpy(flowlib.work_rgb(frames, work_size)),
            flows=torch.from_numpy(backward),
            flows_reverse=torch.from_numpy(forward),
            direction=direction,
        )

    def truncated(self, k: int) -> "MotionContext":
        """The same shot without its last ``k`` frames (the held-out frames self-validation scores on)."""
        if k <= 0:
            return self
        if k > len(self.flows) - 1:
            raise ValueError(f"cannot hold out {k} of {len(self.rgb)} context frames")
        return MotionContext(self.rgb[:-k], self.flows[:-k], self.flows_reverse[:-k], self.direction)

    @property
    def work_size(self) -> tuple[int, int]:
        return self.rgb.shape[-1], self.rgb.shape[-2]

    def sequence(self, reverse: bool = False) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Frames 1..T-1 as items the model reads, each with its incoming flow.

        Returns ``rgb (S, 3, h, w)``, ``flows (S, 2, h, w)`` (S = T-1) and the direction label. With
        ``reverse`` the items run backwards in time (item j = original frame T-2-j, so the cut is
        at the *start*), each with its incoming flow in that order, and the direction label flips.
        """
        if not reverse:
            return self.rgb[1:], self.flows, self.direction
        return self.rgb.flip(0)[1:], self.flows_reverse.flip(0), 1 - self.direction


@contextmanager
def torch_threads(n: int):
    """Run with ``n`` torch intra-op threads (0: unchanged), restoring the previous count."""
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n > 0:
            torch.set_num_threads(before)


def prior_flows(history, n: int, settings) -> torch.Tensor:
    """The motion prior of the ``n`` frames after ``history`` (backward flows ``(S, 2, h, w)`` in
    working px, generation order, tensor or array): zeros with ``settings.prior == "none"``, else
    the ``motion`` engine's smoothed, damped extrapolation (``flow.extrapolate_flows``)."""
    history = torch.as_tensor(np.asarray(history, dtype=np.float32))
    h, w = history.shape[-2:]
    if settings.prior == "none" or len(history) == 0 or n == 0:
        return torch.zeros((n, 2, h, w))
    return torch.from_numpy(flowlib.extrapolate_flows(history.numpy(), n, damping=settings.motion_damping))


def flow_sigmas(steps: int, shift: float = 1.0) -> list[float]:
    """The sigmas of diffusers' ``FlowMatchEulerDiscreteScheduler`` for ``steps`` (ends with 0)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
    scheduler.set_timesteps(steps)
    return [float(s) for s in scheduler.sigmas]


def euler_x0_step(x: torch.Tensor, x0: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """The scheduler's Euler step with ``v = (x - x0) / sigma``, in x0 form (exact x0 at sigma_next=0)."""
    return x0 + (sigma_next / sigma) * (x - x0)


def sample(
    model,
    context: MotionContext,
    n: int,
    settings,
    identity_tokens: torch.Tensor | None = None,
    progress=None,
    seed: int | None = None,
    residual_scale: float = 1.0,
) -> torch.Tensor:
    """Generate ``n`` flows ``(n, 2, h, w)`` (working px) after the context; see the module docstring.
    ``residual_scale`` scales the model's output (on the prior) before it is used."""
    with torch_threads(settings.threads), torch.no_grad():
        return _sample(model, context, n, settings, identity_tokens, progress, seed, residual_scale)


def _sample(model, context, n, settings, identity_tokens, progress, seed, residual_scale=1.0) -> torch.Tensor:
    model.eval()
    scale = model.config.flow_scale
    rgb_seq, flow_seq, direction = context.sequence()
    c = min(settings.context_frames, len(flow_seq))
    t = settings.target_frames
    with_prior = bool(model.config.prior_channels)
    sigmas = flow_sigmas(settings.sample_steps, settings.scheduler_shift)
    gen = torch.Generator().manual_seed(settings.seed if seed is None else seed)
    last_rgb = context.rgb[-1:]  # 1 3 h w
    made: list[torch.Tensor] = []  # each (2, h, w), working px
    ctx_flows, ctx_rgb = list(flow_seq), list(rgb_seq[-c:])  # all flows so far: the prior reads them
    h, w = last_rgb.shape[-2:]
    while len(made) < n:
        if progress is not None:
            progress.check()
            progress.report("sample", len(made), n, "generating motion")
        k = min(t, n - len(made))
        cond_rgb = torch.stack(ctx_rgb[-c:] + [ctx_rgb[-1]] * k)[None]  # 1 (c+k) 3 h w
        clean = torch.stack(ctx_flows[-c:])[None] / scale  # 1 c 2 h w
        prior = prior_flows(torch.stack(ctx_flows), k, settings)[None] / scale if with_prior else None
        x = torch.randn((1, k, 2, h, w), generator=gen)
        for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:]):
            x0 = model(
                torch.cat([clean, x], dim=1),
                cond_rgb,
                torch.tensor([sigma]),
                c,
                direction,
                identity_tokens,
                settings.identity_strength,
                prior=prior,
            )
            x = euler_x0_step(x, x0, sigma, sigma_next)
        chunk = ((prior[0] if with_prior else 0) + residual_scale * x[0]) * scale  # k 2 h w
        made.extend(chunk)
        # RGB of the new frames: the last real frame warped by everything made so far
        disp = flowlib.compose_displacements(torch.stack(made))  # m 2 h w
        warped = flowlib.warp_torch(last_rgb, disp[-k:][None])[0]  # k 3 h w
        ctx_flows.extend(chunk)
        ctx_rgb.extend(warped)
    if progress is not None:
        progress.report("sample", n, n, "motion done")
    return torch.stack(made) if made else torch.zeros((0, 2, h, w))
