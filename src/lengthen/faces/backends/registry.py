"""Face backends by name. Adding one is one line in ``BACKENDS``: ``name -> "module:Class"``,
imported only when that backend is asked for (so a broken optional backend never breaks the
others, and ``import lengthen`` stays light)."""

from __future__ import annotations

import importlib

from ...errors import UsageError

DEFAULT_BACKEND = "dlib"
BACKENDS: dict[str, str] = {
    "dlib": "lengthen.faces.backends.dlib_torch.backend:DlibBackend",
    "insightface": "lengthen.faces.backends.insightface:InsightFaceBackend",
}


def available_backends() -> tuple[str, ...]:
    return tuple(BACKENDS)


def get_backend(name: str = DEFAULT_BACKEND, **opts):
    """A new backend instance (a :class:`lengthen.faces.types.FaceBackend`) built with ``opts``."""
    target = BACKENDS.get(name)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise UsageError(f"unknown face backend {name!r}; known backends: {known}")
    module_name, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(**opts)
