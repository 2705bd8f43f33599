"""``DlibBackend``: the default face backend, dlib's CC0 models re-implemented in torch/numpy.

detect  = MMOD CNN detector (+ dlib's Python-wrapper ``upsample``) and the 5-point shape
          predictor on every box;
align   = dlib's ``get_face_chip_details(shape, 150, 0.25)`` + ``extract_image_chip``;
embed   = the 128-d ResNet, batched, on ``device``.

Conventions:

* ``Detection.box`` is dlib's integer rectangle as floats ``(left, top, right, bottom)`` with
  right/bottom INCLUSIVE (dlib's own numbers; dlib's width is ``right - left + 1``);
  ``Detection.score`` is the raw MMOD score (> 0, clear faces about 1.0 to 1.1);
  ``Detection.landmarks`` are dlib's integer 5 points as float32 (5, 2), order
  :attr:`DlibBackend.landmark_names`.
* ``embed(chips)`` returns L2-normalised float32 (N, 128) (the protocol);
  ``embed(chips, normalize=False)`` / :meth:`descriptors` return dlib's RAW descriptors, the
  ones dlib's "same person if Euclidean distance < 0.6" rule (:attr:`match_threshold`) is for.
* ``min_face`` (default 40 px): detections with ``box height < min_face`` are reported by
  :meth:`too_small` and should not be embedded (chips upsampled from tiny faces give unreliable
  descriptors). Without ``upsample`` the MMOD detector finds no face smaller than about 80 px
  anyway; with ``upsample=1`` it goes down to about 40 px.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ....errors import FaceError, UsageError
from ...types import Detection
from ...types import check_image as _check_image  # one image check for every backend
from . import align as _align
from .weights import load_tensors


@dataclass(frozen=True)
class DlibOptions:
    upsample: int = 0  # dlib's upsample_num_times: each step doubles the image before detection
    min_face: int = 40  # px of box height below which a face is too small to embed
    device: str | None = None  # torch device; None = "cuda" if available else "cpu"
    threshold: float = 0.0  # MMOD score threshold (dlib's Python API uses 0)
    batch_size: int = 32  # chips per embedder forward pass


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class DlibBackend:
    name = "dlib"
    embedding_dim = 128
    chip_size = _align.CHIP_SIZE
    landmark_names = (
        "eye_image_right_outer",
        "eye_image_right_inner",
        "eye_image_left_outer",
        "eye_image_left_inner",
        "nose_bottom",
    )
    match_threshold = 0.6  # on raw descriptors (embed(..., normalize=False))

    def __init__(self, upsample: int = 0, min_face: int = 40, device: str | None = None,
                 threshold: float = 0.0, batch_size: int = 32) -> None:  # fmt: skip
        if not isinstance(upsample, int) or not 0 <= upsample <= 3:
            raise UsageError(f"dlib upsample must be an integer 0..3, got {upsample!r}")
        if min_face < 0 or batch_size < 1:
            raise UsageError(f"bad dlib options: min_face={min_face!r}, batch_size={batch_size!r}")
        self.options = DlibOptions(
            upsample, int(min_face), device or _default_device(), float(threshold), int(batch_size)
        )
        self._detector = self._shape = self._embedder = None

    # ------------------------------------------------------------------ lazily loaded parts
    @property
    def device(self) -> str:
        return self.options.device  # type: ignore[return-value]

    @property
    def detector(self):
        if self._detector is None:
            from .mmod import MMODDetector

            self._detector = MMODDetector(load_tensors("mmod"), self.device)
        return self._detector

    @property
    def shape_predictor(self):
        if self._shape is None:
            from .shape import ShapePredictor

            self._shape = ShapePredictor(load_tensors("shape5"))
        return self._shape

    @property
    def embedder(self):
        """The ResNet nn.Module: float (N, 3, 150, 150) RGB 0..255 -> raw (N, 128); differentiable."""
        if self._embedder is None:
            import torch

            from .resnet import DlibResNet

            # built outside inference mode even if first used inside it (embed() is), so the
            # weights are normal tensors and gradients can flow through the module later
            with torch.inference_mode(False):
                self._embedder = DlibResNet(load_tensors("resnet")).to(self.device)
        return self._embedder

    # ------------------------------------------------------------------ FaceBackend protocol
    def detect(self, image: np.ndarray) -> list[Detection]:
        from .shape import grey

        image = _check_image(image)
        boxes = self.detector(image, self.options.upsample, self.options.threshold)
        g = grey(image)
        out = []
        for score, box in boxes:
            lms = self.shape_predictor(g, box).astype(np.float32)
            out.append(Detection(tuple(float(v) for v in box), float(score), lms))
        return out

    def propose(self, image: np.ndarray, scale: float = 1.0, threshold: float = -0.5) -> list[tuple[float, tuple]]:
        """Fast approximate candidate boxes ``[(score, (l, t, r, b))]`` in ``image`` pixels, the
        image enlarged by ``scale`` for the search (see :meth:`MMODDetector.proposals`); confirm
        each with :meth:`detect` on a crop before using it."""
        return self.detector.proposals(_check_image(image), scale, threshold)

    def too_small(self, det: Detection) -> bool:
        return det.height < self.options.min_face

    def align(self, image: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        image = _check_image(image)
        chips = [_align.extract_chip(image, _align.chip_details(d.landmarks)) for d in detections]
        return np.stack(chips) if chips else np.zeros((0, self.chip_size, self.chip_size, 3), np.uint8)

    def embed(self, chips: np.ndarray, normalize: bool = True) -> np.ndarray:
        """uint8 (N, 150, 150, 3) -> float32 (N, 128): L2-normalised, or dlib's raw descriptor."""
        import torch

        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (self.chip_size, self.chip_size, 3):
            raise FaceError(f"chips must be (N, {self.chip_size}, {self.chip_size}, 3), got {chips.shape}")
        out = np.zeros((len(chips), self.embedding_dim), np.float32)
        bs = self.options.batch_size
        with torch.inference_mode():
            for i in range(0, len(chips), bs):
                x = torch.from_numpy(np.ascontiguousarray(chips[i : i + bs])).to(self.device)
                x = x.permute(0, 3, 1, 2).float()  # n 3 150 150, 0..255
                out[i : i + bs] = self.embedder(x).float().cpu().numpy()
        if normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """dlib's raw 128-d descriptors (not normalised), float32 (N, 128)."""
        return self.embed(chips, normalize=False)

    # ------------------------------------------------------------------ differentiable path
    @staticmethod
    def chip_affines(landmarks: np.ndarray) -> np.ndarray:
        """(N, 5, 2) landmarks -> (N, 2, 3): image (x, y) = A @ (chip col, chip row, 1)."""
        return _align.chip_affines(landmarks)

    @staticmethod
    def extract_chips_torch(frames, affines, size: int = _align.CHIP_SIZE):
        return _align.extract_chips_torch(frames, affines, size)
