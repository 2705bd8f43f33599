"""Identity scoring and best-of-N reranking of candidate extensions on the identity banks.

Similarity is the cosine between a face's L2-normalised embedding and a bank's centroid (for the
dlib backend the calibrated same-person threshold is 0.90, see ``faces.cluster.SAME_PERSON``). A
character counts as *missing* in a scored frame when no face there is closer to it than to any
other bank and at least as similar as the tracker's weak-link threshold
(``faces.cluster.TRACK_WEAK``, 0.80 for dlib): losing the face is the real failure signal of a
video model.
"""

from __future__ import annotations

import numpy as np


def present_threshold(backend) -> float:
    from ..faces.cluster import TRACK_WEAK

    return TRACK_WEAK.get(getattr(backend, "name", ""), 0.5)


def scoring_settings(banks):
    """Detection settings for scoring: look for faces down to 70% of the banks' typical face
    height, so frames are enlarged only as much as these characters need. Never below 40 px
    (frames enlarged at most 2x for dlib): scoring runs on every candidate, and a face too small
    to score is reported as lost in source and generated frames alike."""
    from ..faces.scan import ScanSettings

    sizes = [q.size_px for b in banks for q in getattr(b, "quality", ())]
    min_px = max(40, int(0.7 * float(np.median(sizes)))) if sizes else 40
    return ScanSettings(min_face_px=min_px)


def _frame_embeddings(frame: np.ndarray, backend, settings) -> np.ndarray:
    from ..faces.scan import detect_faces

    dets = detect_faces(backend, frame, settings)
    if not dets:
        return np.zeros((0, backend.embedding_dim), dtype=np.float32)
    return backend.embed(backend.align(frame, dets))


def identity_scores(frames: np.ndarray, banks, backend, stride: int = 4, threshold: float | None = None) -> dict:
    """Per bank id: mean / min similarity over scored frames and how many frames lost the face."""
    if not banks or backend is None or len(frames) == 0:
        return {}
    threshold = present_threshold(backend) if threshold is None else threshold
    settings = scoring_settings(banks)
    picks = sorted(set(list(range(0, len(frames), max(1, stride))) + [len(frames) - 1]))
    centroids = np.stack([np.asarray(b.centroid, dtype=np.float32) for b in banks])  # (B, D)
    per_bank: list[list[float | None]] = [[] for _ in banks]
    for t in picks:
        emb = _frame_embeddings(frames[t], backend, settings)  # (F, D)
        if len(emb) == 0:
            for scores in per_bank:
                scores.append(None)
            continue
        sims = emb @ centroids.T  # (F, B)
        owner = sims.argmax(axis=1)  # each face goes to its closest bank
        for b in range(len(banks)):
            mine = sims[owner == b, b]
            best = float(mine.max()) if len(mine) else None
            per_bank[b].append(best if best is not None and best >= threshold else None)
    out = {}
    for bank, scores in zip(banks, per_bank):
        found = [s for s in scores if s is not None]
        out[bank.id] = {
            "name": bank.name,
            "mean": round(float(np.mean(found)), 4) if found else None,
            "min": round(float(np.min(found)), 4) if found else None,
            "per_frame": [None if s is None else round(s, 4) for s in scores],
            "frames": picks,
            "missing": len(scores) - len(found),
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
