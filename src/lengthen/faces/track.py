"""Link faces across the sampled frames of one media file into tracks.

Frame by frame (in sampling order) each detection is assigned to at most one live track by the
Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) on the cost
``-(similarity + iou)``. A pair may link only if

* the embedding similarity (cosine to the track's running mean) reaches ``strong``, or
* the boxes overlap (IoU to the track's last box >= ``min_iou``) and the similarity reaches
  ``weak``, a looser bar: position is evidence too.

A track that found no face for more than ``max_gap`` sampled frames ends; unmatched faces start
new tracks. Faces in the same frame never share a track.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

BLOCKED = 1e6


@dataclass(frozen=True)
class TrackSettings:
    strong: float  # cosine similarity that links faces wherever they are
    weak: float  # cosine similarity that links overlapping faces
    min_iou: float = 0.3
    max_gap: int = 3  # sampled frames a track may miss before it ends


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a (N, 4)`` and ``b (M, 4)`` (left, top, right, bottom) -> ``(N, M)``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])  # n m 2
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)  # n m
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def track_faces(
    frames: Sequence[Sequence[int]],
    boxes: np.ndarray,
    embeddings: np.ndarray,
    settings: TrackSettings,
) -> list[list[int]]:
    """Group face indices into tracks.

    frames: for each sampled frame in order, the indices of its faces (into boxes/embeddings);
    boxes: (F, 4); embeddings: (F, D) L2-normalised. Returns tracks as lists of face indices in
    time order, ordered by their first face."""
    from scipy.optimize import linear_sum_assignment

    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    embeddings = np.asarray(embeddings, np.float64)
    tracks: list[list[int]] = []
    sums: list[np.ndarray] = []  # running sum of each track's embeddings (D,)
    last_seen: list[int] = []  # sampled-frame position of each track's last face
    for pos, faces in enumerate(frames):
        faces = list(faces)
        if not faces:
            continue
        live = [t for t in range(len(tracks)) if pos - last_seen[t] <= settings.max_gap + 1]
        assigned: dict[int, int] = {}
        if live:
            means = np.stack([_normalise(sums[t]) for t in live])  # t d
            sim = means @ embeddings[faces].T  # t f
            iou = box_iou(boxes[[tracks[t][-1] for t in live]], boxes[faces])  # t f
            ok = (sim >= settings.strong) | ((iou >= settings.min_iou) & (sim >= settings.weak))
            cost = np.where(ok, -(sim + iou), BLOCKED)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if ok[r, c]:
                    assigned[c] = live[r]
        for c, face in enumerate(faces):
            t = assigned.get(c)
            if t is None:
                tracks.append([face])
                sums.append(embeddings[face].copy())
                last_seen.append(pos)
            else:
                tracks[t].append(face)
                sums[t] = sums[t] + embeddings[face]
                last_seen[t] = pos
    return tracks
