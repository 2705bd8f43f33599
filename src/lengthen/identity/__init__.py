"""Identity conditioning: bank embeddings -> identity tokens (``encoder``), the cross-attention that
reads them (``attention``), and the identity-preservation loss (``loss``).

Importing this package is cheap; ``from lengthen.identity import IdentityEncoder`` loads torch.
"""

from __future__ import annotations

__all__ = ["IdentityEncoder", "IdentityCrossAttention"]


def __getattr__(name: str):
    if name == "IdentityEncoder":
        from .encoder import IdentityEncoder

        return IdentityEncoder
    if name == "IdentityCrossAttention":
        from .attention import IdentityCrossAttention

        return IdentityCrossAttention
    raise AttributeError(name)
