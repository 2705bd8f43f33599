"""MotionTransformer: a small video diffusion transformer that generates *motion* (flow fields).

It continues a shot's motion: given context frames (their flows and RGB, clean) it predicts the
flows of the next frames from noised flows (flow matching, **x0 objective**: the output is the
clean flow). The engine then composes the flows and warps the real last frame (``lengthen.flow``).

Input per frame (working resolution ``h x w``, both multiples of ``patch_size``):
- flow: 2 channels, the frame's backward flow (``lengthen.flow`` conventions) in working pixels per
  frame divided by ``flow_scale`` (config, default 2 px/frame): ``flow_norm = flow_px / flow_scale``.
  Context frames carry their measured flow (clean), target frames the noised flow
  ``x_t = (1 - sigma) * x0 + sigma * noise``.
- rgb: 3 conditioning channels in [-1, 1]: the frame itself for context frames; for target frames
  the **last known frame's RGB** (during sampling: the last real frame warped by the flows made
  so far, which is the same thing for the first chunk).
- prior (only with ``prior_channels=2``): the target frames' **motion prior**, the smoothed, damped
  extrapolation of the motion before them (normalised like the flows; zeros on context frames).
  The diffusion variable of a target frame is then its *residual* ``flow - prior``: target flow
  channels carry the noised residual and the model predicts the clean residual, which the caller
  adds to the prior. An untrained model thus continues the shot as the ``motion`` engine does.
Frames are ordered ``[context (num_context) | targets]``; a per-token *role* embedding (clean
context / noised target), a temporal sin-cos embedding of the frame's offset from the cut (targets
0, 1, ...; context -1, -2, ...), a 2-D sin-cos embedding of the patch position, the noise level
(adaLN) and a *direction* embedding (0 = tail: generation order is real time; 1 = head: the engine
reversed the context) condition the model, so one model continues either way.

Per block: spatial self-attention within each frame, temporal self-attention across frames at
each patch position, identity cross-attention to identity tokens (``identity.attention``), MLP;
each sub-layer pre-norm with adaLN shift/scale/gate from (noise level + direction).
The output projection is zero-initialised: an untrained model predicts exactly zero (flow, or
residual on the prior), i.e. a freeze of the last frame or the prior's motion, never noise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from einops import rearrange
from torch import nn

from ..identity.attention import IdentityCrossAttention

TAIL, HEAD = 0, 1  # direction labels


def sincos(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """``positions (n,)`` float -> ``(n, dim)`` sin-cos features (dim even)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device) / half)
    angles = positions.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.q_norm = nn.RMSNorm(dim // num_heads)
        self.k_norm = nn.RMSNorm(dim // num_heads)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # b l d
        q, k, v = rearrange(self.qkv(x), "b l (three h d) -> three b h l d", three=3, h=self.num_heads)
        o = F.scaled_dot_product_attention(self.q_norm(q), self.k_norm(k), v)
        return self.out(rearrange(o, "b h l d -> b l (h d)"))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    # x: b f n d; shift/scale: b d
    return x * (1 + scale[:, None, None]) + shift[:, None, None]


class MotionBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, identity_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.spatial = SelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.temporal = SelfAttention(dim, num_heads)
        self.identity = IdentityCrossAttention(dim, identity_dim, num_heads)
        self.norm3 = nn.LayerNorm(dim, elementwise_affine=False)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        # adaLN: 3 sub-layers x (shift, scale, gate); zero-init -> plain pre-norm residual block, gate 1
        self.ada = nn.Linear(dim, 9 * dim)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x, cond, identity_tokens, identity_strength):
        # x: b f n d (f frames, n patches per frame); cond: b d
        b, f, n, _ = x.shape
        mods = self.ada(F.silu(cond)).chunk(9, dim=-1)  # 9 x (b d)
        gate = lambda g: (1 + g)[:, None, None]  # noqa: E731

        h = modulate(self.norm1(x), mods[0], mods[1])
        h = rearrange(self.spatial(rearrange(h, "b f n d -> (b f) n d")), "(b f) n d -> b f n d", b=b)
        x = x + gate(mods[2]) * h

        h = modulate(self.norm2(x), mods[3], mods[4])
        h = rearrange(self.temporal(rearrange(h, "b f n d -> (b n) f d")), "(b n) f d -> b f n d", b=b)
        x = x + gate(mods[5]) * h

        if identity_tokens is not None and identity_strength != 0:
            flat = rearrange(x, "b f n d -> b (f n) d")
            x = rearrange(self.identity(flat, identity_tokens, identity_strength), "b (f n) d -> b f n d", f=f)

        h = modulate(self.norm3(x), mods[6], mods[7])
        return x + gate(mods[8]) * self.mlp(h)


class MotionTransformer(ModelMixin, ConfigMixin):
    """See the module docstring. ``forward`` returns predicted clean (normalised) flows of the
    target frames, ``(B, F - num_context, 2, h, w)``."""

    @register_to_config
    def __init__(
        self,
        patch_size: int = 8,
        width: int = 128,
        num_blocks: int = 4,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        identity_dim: int = 128,
        flow_scale: float = 2.0,
        flow_channels: int = 2,
        cond_channels: int = 3,
        prior_channels: int = 0,
    ) -> None:
        super().__init__()
        p = patch_size
        if prior_channels not in (0, flow_channels):
            raise ValueError(f"prior_channels must be 0 or {flow_channels}, got {prior_channels}")
        self.patch_in = nn.Linear((flow_channels + cond_channels + prior_channels) * p * p, width)
        self.role_embed = nn.Embedding(2, width)  # 0 = clean context, 1 = noised target
        self.direction_embed = nn.Embedding(2, width)  # TAIL, HEAD
        self.time_proj = Timesteps(width, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(width, width)
        self.blocks = nn.ModuleList(MotionBlock(width, num_heads, mlp_ratio, identity_dim) for _ in range(num_blocks))
        self.norm_out = nn.LayerNorm(width, elementwise_affine=False)
        self.ada_out = nn.Linear(width, 2 * width)
        nn.init.zeros_(self.ada_out.weight)
        nn.init.zeros_(self.ada_out.bias)
        self.patch_out = nn.Linear(width, flow_channels * p * p)
        nn.init.zeros_(self.patch_out.weight)  # untrained model -> zero flow (a freeze)
        nn.init.zeros_(self.patch_out.bias)

    def forward(
        self,
        flows: torch.Tensor,
        rgb: torch.Tensor,
        sigma: torch.Tensor,
        num_context: int,
        direction: torch.Tensor | int = TAIL,
        identity_tokens: torch.Tensor | None = None,
        identity_strength: float = 1.0,
        prior: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """flows ``(B, F, 2, h, w)`` normalised (context clean, targets noised); rgb ``(B, F, 3, h, w)``
        in [-1, 1]; sigma ``(B,)`` noise level in [0, 1]; direction ``(B,)`` long or an int;
        identity_tokens ``(M, Di)`` or ``(B, M, Di)`` or None; prior ``(B, F - num_context, 2, h, w)``
        normalised (models with ``prior_channels`` only; None = zeros). Returns x0
        ``(B, F - num_context, 2, h, w)``: the clean flow, or with a prior the clean residual."""
        b, f, _, h, w = flows.shape
        p = self.config.patch_size
        if h % p or w % p:
            raise ValueError(f"working size {w}x{h} is not a multiple of the patch size {p}")
        if not 0 <= num_context < f:
            raise ValueError(f"num_context {num_context} must leave at least one target frame of {f}")
        gh, gw = h // p, w // p
        parts = [flows, rgb]
        if self.config.prior_channels:
            full = flows.new_zeros((b, f, self.config.prior_channels, h, w))
            if prior is not None:
                full[:, num_context:] = prior
            parts.append(full)
        elif prior is not None:
            raise ValueError("this model was built without prior channels (prior_channels=0)")
        x = torch.cat(parts, dim=2)
        x = rearrange(x, "b f c (gh p1) (gw p2) -> b f (gh gw) (c p1 p2)", p1=p, p2=p)
        x = self.patch_in(x)  # b f n d

        d = self.config.width
        roles = (torch.arange(f, device=x.device) >= num_context).long()
        offsets = torch.arange(f, device=x.device) - num_context  # context < 0, targets >= 0
        ys, xs = torch.meshgrid(torch.arange(gh, device=x.device), torch.arange(gw, device=x.device), indexing="ij")
        pos2d = torch.cat([sincos(ys.flatten(), d // 2), sincos(xs.flatten(), d // 2)], dim=-1)  # n d
        x = x + (self.role_embed(roles) + sincos(offsets, d))[None, :, None] + pos2d[None, None]

        if isinstance(direction, int):
            direction = torch.full((b,), direction, dtype=torch.long, device=x.device)
        sigma = sigma.to(x.device, torch.float32).expand(b)
        cond = self.time_embed(self.time_proj(sigma * 1000.0).to(x.dtype)) + self.direction_embed(direction)  # b d

        for block in self.blocks:
            x = block(x, cond, identity_tokens, identity_strength)

        shift, scale = self.ada_out(F.silu(cond)).chunk(2, dim=-1)
        x = self.patch_out(modulate(self.norm_out(x[:, num_context:]), shift, scale))  # b t n (c p p)
        return rearrange(x, "b t (gh gw) (c p1 p2) -> b t c (gh p1) (gw p2)", gh=gh, p1=p, p2=p)
