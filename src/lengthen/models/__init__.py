"""Our diffusers models (``ModelMixin`` + ``ConfigMixin``), one architecture per file.

Importing this package is cheap; the classes load torch/diffusers on first access:
``from lengthen.models import MotionTransformer``.
"""

from __future__ import annotations

__all__ = ["MotionTransformer"]


def __getattr__(name: str):
    if name == "MotionTransformer":
        from .motion_transformer import MotionTransformer

        return MotionTransformer
    raise AttributeError(name)
