"""Optional face backend ``insightface``: SCRFD detection + ArcFace 512-d embeddings.

Uses ``insightface.app.FaceAnalysis`` with a model pack (``buffalo_l`` by default, or
``antelopev2``) from a LOCAL model root: option ``root``, else ``$LENGTHEN_INSIGHTFACE_ROOT``,
else ``~/.insightface``. The pack's ``.onnx`` files must be in ``<root>/models/<pack>/``.

It never downloads unless ``allow_download=True``: insightface's own ``FaceAnalysis`` fetches a
missing pack from the network, so the folder is checked first and a missing pack raises
:class:`~lengthen.errors.ModelError` saying where to put the files.

Licence: the insightface code is MIT, but its pretrained model packs (buffalo_l, antelopev2)
are for non-commercial research only. The default ``dlib`` backend has no such restriction.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ...errors import FaceError, MissingDependency, ModelError
from ..types import Detection
from ..types import check_image as _check_image  # one image check for every backend

PACKS = ("buffalo_l", "antelopev2")
LICENCE_NOTE = (
    "insightface model packs are licensed for non-commercial research use only; "
    "use the default 'dlib' backend for commercial work"
)


def default_root() -> Path:
    return Path(os.environ.get("LENGTHEN_INSIGHTFACE_ROOT") or "~/.insightface").expanduser()


def pack_dir(root: str | Path | None, pack: str) -> Path:
    return Path(root).expanduser() / "models" / pack if root else default_root() / "models" / pack


def check_models(root: str | Path | None, pack: str) -> Path:
    """The pack folder if it holds .onnx files; otherwise a ModelError saying where to put them."""
    folder = pack_dir(root, pack)
    if not any(folder.glob("*.onnx")):
        raise ModelError(
            f"insightface model pack {pack!r} not found: put its .onnx files (from "
            f"{pack}.zip, e.g. det_10g.onnx and w600k_r50.onnx for buffalo_l) in {folder} "
            f"(model root: option root=, or $LENGTHEN_INSIGHTFACE_ROOT, default ~/.insightface; "
            f"known packs: {', '.join(PACKS)}), or pass --allow-download to let insightface "
            f"fetch it. Note: {LICENCE_NOTE}.",
            path=folder,
        )
    return folder


class InsightFaceBackend:
    name = "insightface"
    embedding_dim = 512
    chip_size = 112
    # insightface's kps order (image coordinates as seen: "left" = image left)
    landmark_names = ("eye_image_left", "eye_image_right", "nose_tip", "mouth_image_left", "mouth_image_right")

    def __init__(
        self,
        root: str | Path | None = None,
        pack: str = "buffalo_l",
        allow_download: bool = False,
        det_size: int = 640,
        det_thresh: float = 0.5,
    ) -> None:
        self.root = Path(root).expanduser() if root else default_root()
        self.pack = pack
        self.allow_download = bool(allow_download)
        self.det_size = int(det_size)
        self.det_thresh = float(det_thresh)
        self._app = None
        if not self.allow_download:
            check_models(self.root, pack)  # fail now, before anything can reach the network

    @property
    def app(self):
        if self._app is None:
            try:
                from insightface.app import FaceAnalysis
            except ImportError:
                raise MissingDependency("insightface", "insightface") from None
            if self.allow_download:
                target = self.pack  # FaceAnalysis fetches <root>/models/<pack> when missing
            else:
                target = str(check_models(self.root, self.pack))  # a folder: never downloads
            app = FaceAnalysis(
                name=target,
                root=str(self.root),
                allowed_modules=["detection", "recognition"],
                providers=["CPUExecutionProvider"],
            )
            if "recognition" not in app.models:
                raise ModelError(
                    f"the insightface pack {self.pack!r} has no recognition model", path=pack_dir(self.root, self.pack)
                )
            app.prepare(ctx_id=-1, det_thresh=self.det_thresh, det_size=(self.det_size, self.det_size))
            self._app = app
        return self._app

    def detect(self, image: np.ndarray) -> list[Detection]:
        image = _check_image(image)
        bgr = np.ascontiguousarray(image[:, :, ::-1])  # insightface works on BGR
        boxes, kpss = self.app.det_model.detect(bgr, max_num=0, metric="default")
        out = []
        for i in range(len(boxes)):
            l, t, r, b, score = (float(v) for v in boxes[i][:5])
            kps = np.asarray(kpss[i], np.float32).reshape(5, 2) if kpss is not None else np.zeros((5, 2), np.float32)
            out.append(Detection((l, t, r, b), score, kps))
        return out

    def align(self, image: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        import warnings

        try:
            from insightface.utils.face_align import norm_crop
        except ImportError:
            raise MissingDependency("insightface", "insightface") from None

        image = _check_image(image)
        with warnings.catch_warnings():  # norm_crop uses scikit-image's deprecated `estimate`
            warnings.filterwarnings("ignore", message=".*estimate.* is deprecated", category=FutureWarning)
            chips = [
                norm_crop(image, np.asarray(d.landmarks, np.float32), image_size=self.chip_size) for d in detections
            ]
        return np.stack(chips) if chips else np.zeros((0, self.chip_size, self.chip_size, 3), np.uint8)

    def embed(self, chips: np.ndarray) -> np.ndarray:
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (self.chip_size, self.chip_size, 3):
            raise FaceError(f"chips must be (N, {self.chip_size}, {self.chip_size}, 3), got {chips.shape}")
        if len(chips) == 0:
            return np.zeros((0, self.embedding_dim), np.float32)
        rec = self.app.models["recognition"]
        feats = rec.get_feat([np.ascontiguousarray(c[:, :, ::-1]) for c in chips])  # BGR in, (N, 512)
        feats = np.asarray(feats, np.float32).reshape(len(chips), -1)
        return feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
