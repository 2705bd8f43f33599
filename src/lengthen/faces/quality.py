"""How good is one face for identity work, and which faces best represent a character.

Four measures, each mapped to ``[0, 1]``, and a combined score (their geometric mean, each
floored at 0.05 so one poor measure lowers a face without zeroing it):

* ``size``: face-box height in source pixels (``size_px / 112``, capped at 1: recognition chips
  are 112-150 px, bigger faces add nothing);
* ``sharpness``: variance of the Laplacian of the grey chip, ``1 - exp(-var / 150)``;
* ``frontal``: from the five landmarks, how far the nose sits from the middle of the eyes along
  the eye line (0 at the centre = frontal; a profile puts it near one eye) and how level the eyes
  are;
* ``detector``: the detector's confidence, clipped to ``[0, 1]``.

References are chosen by quality and diversity: among the good faces (combined score at least
half of the best one), start from the best face and repeatedly add the face farthest (in
embedding distance) from those already chosen, weighting distance by quality.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

SIZE_FULL_PX = 112.0
SHARPNESS_SCALE = 150.0
FLOOR = 0.05


@dataclass(frozen=True)
class FaceQuality:
    size_px: float  # face-box height in source pixels
    sharpness: float  # raw variance of the Laplacian of the grey chip
    frontal: float  # 0 (profile) .. 1 (frontal)
    detector: float  # detector's own score
    combined: float  # 0 .. 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FaceQuality":
        return cls(**{k: float(d[k]) for k in ("size_px", "sharpness", "frontal", "detector", "combined")})


def laplacian_variance(chip: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a uint8 RGB chip ``(S, S, 3)`` in grey levels."""
    grey = chip.astype(np.float64) @ np.array([0.299, 0.587, 0.114])  # (S, S)
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * grey[1:-1, 1:-1]  # (S-2, S-2)
    return float(lap.var())


def _roles(names: Sequence[str] | None) -> tuple[list[int], int]:
    """Indices of the eye points and of the nose point, from the backend's landmark names.

    Without usable names: dlib's order (four eye corners, then the nose base)."""
    if names and len(names) == 5:
        low = [n.lower() for n in names]
        eyes = [i for i, n in enumerate(low) if "eye" in n]
        nose = [i for i, n in enumerate(low) if "nose" in n]
        if len(eyes) >= 2 and len(nose) == 1:
            return eyes, nose[0]
    return [0, 1, 2, 3], 4


def frontal_score(landmarks: np.ndarray, names: Sequence[str] | None = None) -> float:
    """1 for a frontal, level face; towards 0 as it turns to profile or tilts past 45 degrees."""
    pts = np.asarray(landmarks, np.float64).reshape(5, 2)
    eyes, nose = _roles(names)
    eye_pts = pts[eyes]
    order = np.argsort(eye_pts[:, 0])
    half = len(order) // 2
    left = eye_pts[order[:half]].mean(0)  # image-left eye centre
    right = eye_pts[order[-half:]].mean(0)
    axis = right - left
    dist = float(np.hypot(*axis))
    if dist < 1e-6:
        return 0.0
    unit = axis / dist
    mid = (left + right) / 2
    offset = float(np.dot(pts[nose] - mid, unit)) / dist  # 0 frontal, about +-0.5 in profile
    yaw = max(0.0, 1.0 - 2.0 * abs(offset))
    roll = abs(math.atan2(axis[1], axis[0]))  # radians from level
    tilt = max(0.0, 1.0 - roll / (math.pi / 4))
    return float(yaw * (0.5 + 0.5 * tilt))


def face_quality(
    chip: np.ndarray,
    box: Sequence[float],
    landmarks: np.ndarray,
    detector_score: float,
    landmark_names: Sequence[str] | None = None,
) -> FaceQuality:
    size_px = float(box[3] - box[1])
    sharp = laplacian_variance(chip)
    frontal = frontal_score(landmarks, landmark_names)
    terms = (
        min(1.0, size_px / SIZE_FULL_PX),
        1.0 - math.exp(-sharp / SHARPNESS_SCALE),
        frontal,
        min(1.0, max(0.0, float(detector_score))),
    )
    combined = math.exp(sum(math.log(max(FLOOR, t)) for t in terms) / len(terms))
    return FaceQuality(size_px, sharp, frontal, float(detector_score), float(combined))


def select_references(embeddings: np.ndarray, combined: Sequence[float], k: int) -> list[int]:
    """Up to ``k`` face indices, good and different from each other (greedy max-min).

    embeddings: (N, D) L2-normalised; combined: (N,) quality in [0, 1]."""
    n = len(combined)
    if n == 0 or k <= 0:
        return []
    q = np.asarray(combined, np.float64)
    good = np.flatnonzero(q >= 0.5 * q.max())
    if len(good) < min(k, n):  # not enough good faces: fill from the rest, best first
        good = np.argsort(-q, kind="stable")[: max(k, len(good))]
    emb = np.asarray(embeddings, np.float64)[good]  # g d
    chosen = [int(np.argmax(q[good]))]
    min_dist = np.linalg.norm(emb - emb[chosen[0]], axis=1)  # (g,)
    while len(chosen) < min(k, len(good)):
        score = min_dist * (0.5 + 0.5 * q[good])
        score[chosen] = -1.0
        nxt = int(np.argmax(score))
        if score[nxt] < 0:
            break
        chosen.append(nxt)
        min_dist = np.minimum(min_dist, np.linalg.norm(emb - emb[nxt], axis=1))
    return [int(good[i]) for i in chosen]
