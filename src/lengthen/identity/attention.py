"""Identity cross-attention: video tokens attend to identity tokens (from ``IdentityEncoder``).

Used inside every block of ``MotionTransformer`` and meant to be reusable by other engines' models.
Full cross-attention over all identity tokens (no face-region mask): the separator tokens and the
per-character index embeddings that ``IdentityEncoder`` adds keep characters apart, and the motion
model's job is global enough (motion of a whole frame) that a mask adds little. The output
projection is zero-initialised, so a fresh branch changes nothing; ``strength`` scales it and
``strength == 0`` (or no tokens) skips it entirely, so the result is *exactly* the input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


class IdentityCrossAttention(nn.Module):
    """``x (B, L, dim)`` + ``tokens (B, M, identity_dim)`` -> ``x + strength * attn(x, tokens)``."""

    def __init__(self, dim: int, identity_dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.norm = nn.LayerNorm(dim)
        self.norm_tokens = nn.LayerNorm(identity_dim)
        self.to_q = nn.Linear(dim, dim)
        self.to_kv = nn.Linear(identity_dim, 2 * dim)
        self.to_out = nn.Linear(dim, dim)
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor | None, strength: float = 1.0) -> torch.Tensor:
        if tokens is None or strength == 0:
            return x
        if tokens.dim() == 2:  # m d -> b m d (one shot's identity for the whole batch)
            tokens = tokens.unsqueeze(0).expand(x.shape[0], -1, -1)
        q = rearrange(self.to_q(self.norm(x)), "b l (h d) -> b h l d", h=self.num_heads)
        k, v = rearrange(self.to_kv(self.norm_tokens(tokens)), "b m (two h d) -> two b h m d", two=2, h=self.num_heads)
        out = F.scaled_dot_product_attention(q, k, v)  # b h l d
        return x + strength * self.to_out(rearrange(out, "b h l d -> b l (h d)"))
