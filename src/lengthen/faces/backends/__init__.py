"""Face backends (detect -> align -> embed), found by name through :mod:`.registry`.

``dlib`` (default): our torch/numpy port of dlib's CC0 models. ``insightface``: optional,
non-commercial models. Nothing heavy is imported here.
"""

from .registry import available_backends, get_backend

__all__ = ["available_backends", "get_backend"]
