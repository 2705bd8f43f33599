"""Identity scoring and best-of-N reranking of candidate extensions on the identity banks.

Similarity is the cosine between a face's L2-normalised embedding and a bank's centroid. A face
is a character's when it is closer to that bank than to any other and at least as similar as the
backend's calibrated same-person threshold (0.90 for dlib, see ``faces.cluster.SAME_PERSON``);
a face below it for every bank is **unknown** (someone the scan did not make a character, or a
face the engine lost), never read as the nearest character. A character counts as *missing* in a
scored frame when none of its faces is there: losing the face is the real failure signal of a
video model. The scores carry ``threshold`` and ``unknown`` (see :class:`IdentityScores`).
"""

from __future__ import annotations

import numpy as np


def present_threshold(backend) -> float:
    """The similarity at which a face counts as a character: the backend's same-person threshold."""
    from ..faces.cluster import SAME_PERSON

    return SAME_PERSON.get(getattr(backend, "name", ""), 0.5)


class IdentityScores(dict):
    """bank id -> scores (a plain dict to iterate), plus ``threshold`` (the similarity a face
    needs to count as a character) and ``unknown``: the faces that matched no character,
    ``{"faces": n, "frames": scored frames with one, "nearest": {name: best similarity}}``."""

    threshold: float | None = None
    unknown: dict

    def __init__(self, *args, threshold=None, unknown=None) -> None:
        super().__init__(*args)
        self.threshold = threshold
        self.unknown = unknown if unknown is not None else {"faces": 0, "frames": 0, "nearest": {}}

    def readout(self) -> dict:
        """What reports keep: the threshold and the unknown faces."""
        return {"threshold": self.threshold, "unknown": self.unknown}


def scoring_settings(banks):
    """Detection settings for scoring: look for faces down to 70% of the banks' typical face
    height, so frames are enlarged only as much as these characters need. Never below 40 px
    (frames enlarged at most 2x for dlib): scoring runs on every candidate, and a face too small
    to score is reported as lost in source and generated frames alike."""
    from ..faces.scan import ScanSettings

    sizes = [q.size_px for b in banks for q in getattr(b, "quality", ())]
    min_px = max(40, int(0.7 * float(np.median(sizes)))) if sizes else 40
    return ScanSettings(min_face_px=min_px)


def identity_scores(
    frames: np.ndarray,
    banks,
    backend,
    stride: int = 4,
    threshold: float | None = None,
    *,
    faces=None,
    picks=None,
    progress=None,
) -> IdentityScores:
    """Per bank id: mean / min similarity over scored frames and how many frames lost the face;
    faces below ``threshold`` (default: the same-person threshold) for every bank are unknown.
    ``faces``: a :class:`~lengthen.faces.detections.FrameFaces` over ``frames`` whose detections
    are shared with other readers (default: a fresh one); ``picks``: the frames to score (default
    every ``stride``-th and the last). Reports ``score`` progress and honours cancel."""
    from ..faces.detections import FrameFaces

    if not banks or backend is None or len(frames) == 0:
        return IdentityScores()
    threshold = present_threshold(backend) if threshold is None else threshold
    if faces is None:
        faces = FrameFaces(frames, backend, scoring_settings(banks))
    if picks is None:
        picks = range(0, len(frames), max(1, stride))
    picks = sorted({int(t) for t in picks} | {len(frames) - 1})
    centroids = np.stack([np.asarray(b.centroid, dtype=np.float32) for b in banks])  # (B, D)
    per_bank: list[list[float | None]] = [[] for _ in banks]
    unknown_faces, unknown_frames, nearest = 0, 0, {}
    for k, t in enumerate(picks):
        if progress is not None:
            progress.check()
            progress.report("score", k, len(picks))
        found = faces.get(t)
        if not found:
            for scores in per_bank:
                scores.append(None)
            continue
        emb = np.stack([f.embedding for f in found])  # (F, D)
        sims = emb @ centroids.T  # (F, B)
        owner = sims.argmax(axis=1)  # each face goes to its closest bank ...
        best_of_face = sims.max(axis=1)
        strangers = best_of_face < threshold  # ... unless it is below the threshold for all: unknown
        if strangers.any():
            unknown_faces += int(strangers.sum())
            unknown_frames += 1
            for f in np.flatnonzero(strangers):
                name = banks[int(owner[f])].name
                nearest[name] = round(max(nearest.get(name, -1.0), float(best_of_face[f])), 4)
        for b in range(len(banks)):
            mine = sims[owner == b, b]
            best = float(mine.max()) if len(mine) else None
            per_bank[b].append(best if best is not None and best >= threshold else None)
    if progress is not None:
        progress.report("score", len(picks), len(picks))
    out = IdentityScores(
        threshold=round(float(threshold), 4),
        unknown={"faces": unknown_faces, "frames": unknown_frames, "nearest": nearest},
    )
    for bank, scores in zip(banks, per_bank):
        found = [s for s in scores if s is not None]
        out[bank.id] = {
            "name": bank.name,
            "mean": round(float(np.mean(found)), 4) if found else None,
            "min": round(float(np.min(found)), 4) if found else None,
            "per_frame": [None if s is None else round(s, 4) for s in scores],
            "frames": picks,
            "missing": len(scores) - len(found),
            "threshold": round(float(threshold), 4),
        }
    return out


def candidate_score(scores: dict, seam_jump: float) -> float:
    """Higher is better: identity (mean similarity, missing faces cost 0.5 each as a fraction)
    first, then a smooth seam."""
    identity = 0.0
    if scores:
        parts = []
        for s in scores.values():
            n = len(s["per_frame"]) or 1
            parts.append((s["mean"] or 0.0) - 0.5 * s["missing"] / n)
        identity = float(np.mean(parts))
    return identity - 0.02 * float(seam_jump)
