"""Identity scoring and best-of-N reranking of candidate extensions on the identity banks.

Similarity is the cosine between a face's L2-normalised embedding and a bank's centroid (for the
dlib backend, cosine 0.82 is about dlib's published same-person distance of 0.6). A character
counts as *missing* in a scored frame when no face there is closer to it than to any other bank
and above ``present_threshold``: losing the face is the real failure signal of a video model.
"""

from __future__ import annotations

import numpy as np

PRESENT_THRESHOLD = 0.5


def _frame_embeddings(frame: np.ndarray, backend) -> np.ndarray:
    dets = backend.detect(frame)
    min_px = getattr(backend, "min_face", 0) or 0
    dets = [d for d in dets if d.height >= min_px]
    if not dets:
        return np.zeros((0, backend.embedding_dim), dtype=np.float32)
    return backend.embed(backend.align(frame, dets))


def identity_scores(frames: np.ndarray, banks, backend, stride: int = 4, present_threshold: float = PRESENT_THRESHOLD) -> dict:
    """Per bank id: mean / min similarity over scored frames and how many frames lost the face."""
    if not banks or backend is None or len(frames) == 0:
        return {}
    picks = sorted(set(list(range(0, len(frames), max(1, stride))) + [len(frames) - 1]))
    centroids = np.stack([np.asarray(b.centroid, dtype=np.float32) for b in banks])  # (B, D)
    per_bank: list[list[float | None]] = [[] for _ in banks]
    for t in picks:
        emb = _frame_embeddings(frames[t], backend)  # (F, D)
        if len(emb) == 0:
            for scores in per_bank:
                scores.append(None)
            continue
        sims = emb @ centroids.T  # (F, B)
        owner = sims.argmax(axis=1)  # each face goes to its closest bank
        for b in range(len(banks)):
            mine = sims[owner == b, b]
            best = float(mine.max()) if len(mine) else None
            per_bank[b].append(best if best is not None and best >= present_threshold else None)
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
