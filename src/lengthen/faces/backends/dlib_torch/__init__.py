"""dlib's CC0 face models (MMOD detector, 5-point shape predictor, 128-d ResNet) re-implemented
in PyTorch/numpy from the file-format spec, without dlib. See ``backend.DlibBackend``.

Public differentiable helpers (for identity losses): :func:`chip_affines` (landmarks -> chip
affines), :func:`extract_chips_torch` (frames + affines -> chips, via grid_sample) and
``DlibBackend(...).embedder`` (chips in 0..255 RGB -> raw 128-d descriptors).
Importing this package imports numpy only; torch loads with the backend's parts.
"""

from .align import chip_affines, chip_details, extract_chip, extract_chips_torch
from .backend import DlibBackend, DlibOptions

__all__ = ["DlibBackend", "DlibOptions", "chip_affines", "chip_details", "extract_chip", "extract_chips_torch"]
