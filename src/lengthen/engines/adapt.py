"""Adaptation: train the motion model on the shot itself, minutes on a CPU.

``adapt(model, identity_encoder, context, settings, progress, banks=None, faces=None)`` ->
``AdaptResult`` (the same ``model`` / ``identity_encoder`` objects, trained in place, plus step
count, seconds and loss history).

Each step draws ``batch_size`` windows of ``c + t`` consecutive frames (``settings.context_frames``
and ``target_frames``) that end within ``window_span`` frames of the cut, random crops of them
(``crop_fraction``), and a time direction: most windows run in generation order (the context's own
direction label), ``reverse_fraction`` run backwards in time (the other label, windows near the
same cut), so one model learns to continue either way. Loss: flow matching with the x0 objective,
``|model(x_t) - x0|^2`` over the target frames' normalised flows, ``x_t = (1-s) x0 + s noise``,
``s = 1`` for a share ``sigma_one_fraction`` of the windows (what one-step sampling reads) and
``s ~ U(0, 1)`` for the rest (``engines.sample`` explains the noise maths). With a motion prior
(``settings.prior``) ``x0`` is the targets' residual on the prior, the prior extrapolated from every
flow of the sequence before the targets exactly as sampling does (precomputed once per window start).

Identity preservation (when ``faces`` and ``banks`` are given): every ``identity_every`` steps one
full-size window whose last context frame shows a face predicts its target flows (noise level in
[0.5, 1]), and ``identity.loss.identity_loss`` scores the warped faces as the engine will warp them
(rigid faces): a face further from its character's bank mean than the real edge frame's face costs
(``identity_weight``, a hinge), and so does a face embedding that changes from frame to frame
(``identity_smooth_weight``). Its gradient flows warp -> chip -> embedder into the model and the
identity encoder, capped at ``identity_grad_ratio`` times the flow-matching gradient's norm
(``_add_capped_gradient``). The embedder's own parameters are frozen meanwhile.

Time box: stops after ``adapt_steps`` steps and/or ``adapt_seconds`` seconds, whichever comes
first. ``progress.report("adapt", ...)`` and ``progress.check()`` run every step. For a fixed
``seed`` and ``adapt_seconds=None`` two runs give identical weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ..errors import EngineError
from .sample import MotionContext, prior_flows, torch_threads


@dataclass(frozen=True)
class FaceSupervision:
    """Faces in the context frames (generation order, the same frames as the ``MotionContext``)."""

    frames: np.ndarray  # uint8 (T, H, W, 3) full resolution
    affines: torch.Tensor  # (T, F, 2, 3) chip pixel -> image pixel, per frame and face slot
    present: torch.Tensor  # (T, F) bool: slot detected in that frame
    characters: torch.Tensor  # (F,) long: slot -> index into ``banks``
    embed_fn: Callable[[torch.Tensor], torch.Tensor]  # (N, 3, S, S) RGB 0..255 -> (N, D)
    chip_size: int = 150


@dataclass
class AdaptResult:
    model: torch.nn.Module
    identity_encoder: torch.nn.Module | None
    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)  # flow-matching loss per step
    identity_losses: list[float] = field(default_factory=list)  # per identity step
    held_out: int = 0  # frames before the cut no training window saw (the engine scores candidates on them)


def build_models(settings, face_dim: int = 128):
    """Fresh ``(MotionTransformer, IdentityEncoder)`` sized by ``settings`` (seeded by ``settings.seed``)."""
    from ..identity.encoder import IdentityEncoder
    from ..models.motion_transformer import MotionTransformer

    torch.manual_seed(settings.seed)
    model = MotionTransformer(
        patch_size=settings.patch_size,
        width=settings.width,
        num_blocks=settings.num_blocks,
        num_heads=settings.num_heads,
        identity_dim=settings.width,
        flow_scale=settings.flow_scale,
        prior_channels=0 if settings.prior == "none" else 2,
    )
    encoder = IdentityEncoder(
        face_dim=face_dim, width=settings.width, num_tokens=settings.identity_tokens, num_heads=settings.num_heads
    )
    if settings.pretrained:
        load_prior(model, settings.pretrained)
    return model, encoder


def prior_path(name: str):
    """A pretrained motion prior's folder: a path, or the name of one shipped in
    ``lengthen/resources/motion_prior/`` (``scripts``: ``benchmarks/train_motion_prior.py``)."""
    from pathlib import Path

    path = Path(name)
    if path.is_dir():
        return path
    return Path(__file__).resolve().parents[1] / "resources" / "motion_prior" / name


def load_prior(model, name: str) -> None:
    """Start ``model`` from the pretrained motion prior ``name`` (same architecture, else EngineError)."""
    from ..models.motion_transformer import MotionTransformer

    path = prior_path(name)
    if not (path / "config.json").is_file():
        raise EngineError(f"pretrained motion prior {name!r} not found ({path})")
    prior = MotionTransformer.from_pretrained(path)
    keys = ("patch_size", "width", "num_blocks", "num_heads", "identity_dim", "flow_scale", "prior_channels")
    differ = [k for k in keys if prior.config[k] != model.config[k]]
    if differ:
        raise EngineError(f"pretrained motion prior {name!r} does not fit this model: {', '.join(differ)} differ")
    model.load_state_dict(prior.state_dict())


class _Windows:
    """Draws training windows (numpy Generator) from a ``MotionContext``."""

    def __init__(self, context: MotionContext, settings, rng: np.random.Generator) -> None:
        self.seqs = [context.sequence(False), context.sequence(True)]
        s = len(context.flows)
        if s < 2:
            raise EngineError(f"need at least 3 context frames to adapt, got {s + 1}")
        c, t = settings.context_frames, settings.target_frames
        if s < c + t:  # a short shot: keep the ratio, at least one of each
            t = max(1, (s * t) // (c + t))
            c = s - t
        self.c, self.t, self.rng, self.settings = c, t, rng, settings
        span = max(settings.window_span, c + t)
        self.ranges = [(max(0, s - span), s - c - t), (0, min(s, span) - c - t)]  # start ranges
        # held out (self-validation, ``BuiltinSettings.holdout_frames``): no window sees the last
        # frames before the cut, neither forward (their targets or context) nor backward in time
        # (reverse item j is frame T-2-j: items 0..H-1 touch the held-out frames)
        self.held_out = 0
        held = settings.holdout_frames if settings.validate else 0
        lo, hi = self.ranges[0]
        rlo, rhi = self.ranges[1]
        if held and hi - held >= lo and rhi >= rlo + held:
            self.held_out = held
            self.ranges = [(lo, hi - held), (rlo + held, rhi)]
        h, w = context.rgb.shape[-2:]
        p = settings.patch_size
        self.crop = (
            max(p, int(h * settings.crop_fraction) // p * p),
            max(p, int(w * settings.crop_fraction) // p * p),
        )
        self.size = (h, w)
        self._priors: dict[tuple[int, int], torch.Tensor] = {}

    def prior(self, reverse: bool, start: int) -> torch.Tensor:
        """The motion prior of a window's targets, from every flow before them (``t 2 h w`` px)."""
        key = (int(reverse), start)
        if key not in self._priors:
            flows = self.seqs[int(reverse)][1]
            self._priors[key] = prior_flows(flows[: start + self.c], self.t, self.settings)
        return self._priors[key]

    def start(self, reverse: bool) -> int:
        lo, hi = self.ranges[int(reverse)]
        return int(self.rng.integers(lo, hi + 1))

    def window(self, reverse: bool, start: int, crop: bool = True):
        rgb, flows, direction = self.seqs[int(reverse)]
        n = self.c + self.t
        (ch, cw), (h, w) = (self.crop if crop else self.size), self.size
        y0 = int(self.rng.integers(0, h - ch + 1))
        x0 = int(self.rng.integers(0, w - cw + 1))
        rgb = rgb[start : start + n, :, y0 : y0 + ch, x0 : x0 + cw].clone()  # n 3 ch cw
        rgb[self.c :] = rgb[self.c - 1]  # targets see the last known frame
        prior = self.prior(reverse, start)[:, :, y0 : y0 + ch, x0 : x0 + cw]
        return flows[start : start + n, :, y0 : y0 + ch, x0 : x0 + cw], rgb, direction, prior

    def batch(self, b: int):
        flows, rgbs, dirs, priors = [], [], [], []
        for _ in range(b):
            reverse = bool(self.rng.random() < self.settings.reverse_fraction)
            f, r, d, p = self.window(reverse, self.start(reverse))
            flows.append(f), rgbs.append(r), dirs.append(d), priors.append(p)
        # b n 2 h w, b n 3 h w, b, b t 2 h w
        return torch.stack(flows), torch.stack(rgbs), torch.tensor(dirs), torch.stack(priors)

    def diffusion_target(self, flows: torch.Tensor, prior: torch.Tensor, model):
        """Normalised ``(clean context flows, clean targets, prior)``: targets are the flows, or
        with a prior model their residual on the prior; prior None for a model without one."""
        scale, c = model.config.flow_scale, self.c
        x0 = flows / scale
        if not model.config.prior_channels:
            return x0[:, :c], x0[:, c:], None
        return x0[:, :c], x0[:, c:] - prior / scale, prior / scale


class _FaceStep:
    """The identity-preservation term on one full-size window whose last context frame has a face."""

    def __init__(self, faces: FaceSupervision, banks: Sequence[torch.Tensor], windows: _Windows, settings) -> None:
        import cv2

        self.faces, self.windows, self.settings = faces, windows, settings
        self.refs = torch.stack([b.float().mean(0) for b in banks])  # characters d
        lo, hi = windows.ranges[0]
        # window start s -> last context item s+c-1 -> frame s+c (generation order)
        self.starts = [s for s in range(lo, hi + 1) if bool(faces.present[s + windows.c].any())]
        height, width = faces.frames.shape[1:3]
        self.scale = min(1.0, settings.face_width / width)
        self.size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self._resize = lambda img: cv2.resize(img, self.size, interpolation=cv2.INTER_AREA)
        self._cache: dict[int, torch.Tensor] = {}

    def frame(self, i: int) -> torch.Tensor:  # 1 3 H W float 0..255
        if i not in self._cache:
            img = self.faces.frames[i]
            img = self._resize(img) if self.scale < 1 else img
            self._cache[i] = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float()[None]
        return self._cache[i]

    def loss(self, model, tokens, gen: torch.Generator):
        from ..identity.loss import identity_loss

        if not self.starts:
            return None
        w = self.windows
        s = self.starts[int(w.rng.integers(0, len(self.starts)))]
        flows, rgb, direction, prior = w.window(False, s, crop=False)
        scale = model.config.flow_scale
        ctx, target, prior = w.diffusion_target(flows[None], prior[None], model)
        sigma = 0.5 + 0.5 * torch.rand((1,), generator=gen)
        noise = torch.randn(target.shape, generator=gen)
        xt = torch.cat([ctx, (1 - sigma) * target + sigma * noise], dim=1)
        pred = model(xt, rgb[None], sigma, w.c, direction, tokens, self.settings.identity_strength, prior=prior)
        if prior is not None:
            pred = pred + prior
        frame = s + w.c
        affines = self.faces.affines[frame].float().clone()  # f 2 3
        affines *= self.scale  # image px of the downscaled frame (pixel centres: x' = s x + s/2 - 1/2)
        affines[:, :, 2] += 0.5 * self.scale - 0.5
        loss, _ = identity_loss(
            pred * scale,
            self.frame(frame),
            affines[None],
            self.faces.present[frame][None],
            self.refs[self.faces.characters][None],
            self.faces.embed_fn,
            chip_size=self.faces.chip_size,
            blur_sigma=self.settings.warp_blur_sigma,
            ref_weight=self.settings.identity_weight,
            smooth_weight=self.settings.identity_smooth_weight,
            relative=self.settings.identity_relative,
            rigid=self.settings.rigid_faces,
            rigid_radius=self.settings.rigid_face_radius,
        )
        return loss


def _add_capped_gradient(params, extra_loss, ratio: float) -> None:
    """Add ``extra_loss``'s gradient to the gradients already in ``params``, scaled down so its norm
    is at most ``ratio`` times theirs. The face embedder's gradient through the warp can be far
    larger than the flow-matching one; summed as it is, the joint clipping then scales the
    flow-matching gradient down on every identity step. Measured on Tears at ``draft`` (35 steps,
    seeds 0-2, PSNR of the first 4 frames against the hidden truth): no identity loss 26.19 dB,
    uncapped 25.65, capped at 0.5 25.66, at 0.2 25.90."""
    before = [None if p.grad is None else p.grad.clone() for p in params]
    base = torch.sqrt(
        sum((g.double() ** 2).sum() for g in before if g is not None) or torch.zeros((), dtype=torch.float64)
    )
    for p in params:
        p.grad = None
    extra_loss.backward()
    grads = [p.grad for p in params]
    norm = torch.sqrt(
        sum((g.double() ** 2).sum() for g in grads if g is not None) or torch.zeros((), dtype=torch.float64)
    )
    scale = float(min(1.0, ratio * float(base) / (float(norm) + 1e-12)))
    for p, old, new in zip(params, before, grads):
        if new is None:
            p.grad = old
        else:
            p.grad = new * scale if old is None else old + new * scale


def adapt(
    model,
    identity_encoder,
    context: MotionContext,
    settings,
    progress=None,
    banks: Sequence[torch.Tensor] | None = None,
    faces: FaceSupervision | None = None,
) -> AdaptResult:
    """Train ``model`` (and ``identity_encoder`` when ``banks`` are given) on the shot; see module doc."""
    with torch_threads(settings.threads):
        return _adapt(model, identity_encoder, context, settings, progress, banks, faces)


def _adapt(model, identity_encoder, context, settings, progress, banks, faces) -> AdaptResult:
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    gen = torch.Generator().manual_seed(settings.seed)
    windows = _Windows(context, settings, rng)
    use_identity = identity_encoder is not None and banks is not None and len(banks) > 0
    if faces is not None and not use_identity:
        raise ValueError("face supervision needs identity banks and an identity encoder")
    if faces is not None and faces.characters.numel() and int(faces.characters.max()) >= len(banks):
        raise ValueError(f"face slots name character {int(faces.characters.max())}, only {len(banks)} banks given")
    attend = use_identity and settings.identity_attention  # identity tokens (off: the loss alone, an ablation)
    params = list(model.parameters()) + (list(identity_encoder.parameters()) if attend else [])
    optim = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda i: min(1.0, (i + 1) / max(1, settings.warmup_steps)))
    face_step = _FaceStep(faces, banks, windows, settings) if (faces is not None and use_identity) else None
    frozen = []
    if face_step is not None and isinstance(faces.embed_fn, torch.nn.Module):
        frozen = [p for p in faces.embed_fn.parameters() if p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)

    model.train()
    if attend:
        identity_encoder.train()
    result = AdaptResult(model, identity_encoder if attend else None, 0, 0.0)
    start = time.monotonic()
    c = windows.c
    try:
        while True:
            elapsed = time.monotonic() - start
            if settings.adapt_steps is not None and result.steps >= settings.adapt_steps:
                break
            if settings.adapt_seconds is not None and elapsed >= settings.adapt_seconds:
                break
            if progress is not None:
                progress.check()
            flows, rgb, dirs, priors = windows.batch(settings.batch_size)  # b n 2 h w, b n 3 h w, b, b t 2 h w
            ctx, target, prior = windows.diffusion_target(flows, priors, model)
            b = ctx.shape[0]
            sigma = torch.rand((b,), generator=gen)
            if settings.sigma_one_fraction > 0:  # 1-step sampling reads sigma = 1; at 0 the draws stay as before
                sigma = torch.where(
                    torch.rand((b,), generator=gen) < settings.sigma_one_fraction, torch.ones_like(sigma), sigma
                )
            noise = torch.randn(target.shape, generator=gen)
            s = sigma.view(b, 1, 1, 1, 1)
            xt = torch.cat([ctx, (1 - s) * target + s * noise], dim=1)
            tokens = identity_encoder(list(banks)) if attend else None
            pred = model(xt, rgb, sigma, c, dirs, tokens, settings.identity_strength, prior=prior)
            loss = ((pred - target) ** 2).mean()
            optim.zero_grad(set_to_none=True)
            loss.backward()
            if face_step is not None and result.steps % settings.identity_every == 0:
                tokens = identity_encoder(list(banks)) if attend else None  # a graph of its own
                id_loss = face_step.loss(model, tokens, gen)
                if id_loss is not None:
                    _add_capped_gradient(params, id_loss, settings.identity_grad_ratio)
                    result.identity_losses.append(float(id_loss.detach()))
            torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
            optim.step()
            sched.step()
            result.steps += 1
            result.losses.append(float(loss.detach()))
            if progress is not None:
                done, of = (
                    (result.steps, settings.adapt_steps)
                    if settings.adapt_steps is not None
                    else (round(time.monotonic() - start, 1), settings.adapt_seconds)
                )
                progress.report("adapt", done, of, f"step {result.steps} loss {loss.item():.4f}")
    finally:
        for p in frozen:
            p.requires_grad_(True)
        model.eval()
        if use_identity:
            identity_encoder.eval()
    result.seconds = time.monotonic() - start
    result.held_out = windows.held_out
    return result
