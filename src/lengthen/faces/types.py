"""Plain data shared by every face backend, and the protocol they satisfy.

Coordinates are pixels of the image as given (x right, y down), floats. Boxes are
``(left, top, right, bottom)``. Landmarks are five ``(x, y)`` points in the backend's own order,
documented by ``FaceBackend.landmark_names``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # left, top, right, bottom
    score: float
    landmarks: np.ndarray = field(repr=False)  # (5, 2) float32

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]


def check_image(image) -> np.ndarray:
    """The image a backend was given, as a contiguous uint8 RGB (H, W, 3) array; FaceError otherwise."""
    from ..errors import FaceError

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise FaceError(f"expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


@runtime_checkable
class FaceBackend(Protocol):
    """detect -> boxes, scores, 5 landmarks; align -> chips; embed -> L2-normalised vectors."""

    name: str
    embedding_dim: int
    chip_size: int
    landmark_names: tuple[str, ...]

    def detect(self, image: np.ndarray) -> list[Detection]:
        """image: uint8 RGB (H, W, 3). Returns detections with landmarks filled in."""

    def align(self, image: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        """uint8 RGB chips (N, chip_size, chip_size, 3), one per detection."""

    def embed(self, chips: np.ndarray) -> np.ndarray:
        """float32 (N, embedding_dim), each row L2-normalised."""
