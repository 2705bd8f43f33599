"""IdentityEncoder: characters' identity-bank embeddings -> identity tokens for cross-attention.

Per character: bank embeddings ``(K, face_dim)`` (128 for dlib, 512 for insightface) are
L2-normalised, projected to ``width``, and ``num_tokens`` learned queries cross-attend to them
(then an MLP): ``M = num_tokens`` tokens that summarise the bank whatever its size ``K``. Each
character's tokens get that character's **index embedding** (slot 0, 1, ...), and a learned
**separator** token sits between characters:

    [char 0 tokens (M)] [sep] [char 1 tokens (M)] [sep] ... [char C-1 tokens (M)]
    -> (C * M + C - 1, width)

Characters are encoded independently, so one character's tokens never depend on another's bank;
the index embedding is added last, so moving a character to another slot changes its tokens by
exactly ``index_embed[new] - index_embed[old]``. ``token_slices(C)`` says where each one lives.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from einops import rearrange
from torch import nn

from ..errors import FaceError


class IdentityEncoder(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        face_dim: int = 128,
        width: int = 128,
        num_tokens: int = 4,
        num_heads: int = 4,
        max_characters: int = 8,
    ) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(face_dim, width), nn.LayerNorm(width))
        self.queries = nn.Parameter(torch.randn(num_tokens, width) * 0.02)
        self.to_q = nn.Linear(width, width)
        self.to_kv = nn.Linear(width, 2 * width)
        self.to_out = nn.Linear(width, width)
        self.mlp = nn.Sequential(
            nn.LayerNorm(width), nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width)
        )
        self.index_embed = nn.Embedding(max_characters, width)
        self.separator = nn.Parameter(torch.randn(1, width) * 0.02)

    def encode_character(self, bank: torch.Tensor) -> torch.Tensor:
        """One character's bank ``(K, face_dim)`` -> ``(M, width)`` tokens (no index embedding)."""
        h = self.config.num_heads
        kv = self.proj(F.normalize(bank.float(), dim=-1))  # k d
        q = rearrange(self.to_q(self.queries), "m (h d) -> h m d", h=h)
        k, v = rearrange(self.to_kv(kv), "k (two h d) -> two h k d", two=2, h=h)
        pooled = rearrange(F.scaled_dot_product_attention(q, k, v), "h m d -> m (h d)")
        tokens = self.queries + self.to_out(pooled)  # m d
        return tokens + self.mlp(tokens)

    def forward(self, banks: Sequence[torch.Tensor]) -> torch.Tensor:
        """``banks``: one ``(K_i, face_dim)`` tensor per character, in slot order.
        Returns ``(C * M + C - 1, width)``."""
        if len(banks) == 0:
            raise FaceError("no identity bank given (pass None instead of identity tokens)")
        if len(banks) > self.config.max_characters:
            raise FaceError(f"{len(banks)} characters given, this encoder handles {self.config.max_characters}")
        parts = []
        for i, bank in enumerate(banks):
            if bank.dim() != 2 or bank.shape[0] == 0 or bank.shape[1] != self.config.face_dim:
                raise FaceError(
                    f"identity bank {i} must be (K>=1, {self.config.face_dim}) embeddings, got {tuple(bank.shape)}"
                )
            if i:
                parts.append(self.separator)
            parts.append(self.encode_character(bank.to(self.queries.device)) + self.index_embed.weight[i])
        return torch.cat(parts)

    def token_slices(self, num_characters: int) -> list[slice]:
        """Rows of ``forward``'s output that hold each character's tokens."""
        m = self.config.num_tokens
        return [slice(i * (m + 1), i * (m + 1) + m) for i in range(num_characters)]
