"""Group tracks (or faces) into characters: average-linkage agglomerative clustering on cosine
similarity, with "cannot-link" pairs.

Each item is one L2-normalised vector (a track's mean embedding). Clusters merge, most similar
pair first, while their average similarity (Lance-Williams update, weighted by item counts)
reaches ``threshold``. Two items that cannot be the same person (two faces seen in the same
frame) keep their clusters apart forever.

Thresholds are cosine similarities on L2-normalised embeddings and depend on the backend; see
:data:`SAME_PERSON` and ``benchmarks/verification.py`` for how they were chosen.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

# Cosine similarity above which two embeddings are taken as the same person, per backend.
# dlib: the published rule is Euclidean distance < 0.6 between RAW 128-d descriptors. Raw dlib
# descriptors are not unit length (norms about 1.3-1.6, measured here and in dlib's own output),
# so that rule is about cosine 0.90-0.91 between normalised ones, not 0.82 as unit vectors would
# give. Calibrated on shared/testdata/identities by benchmarks/verification.py: cosine 0.90 gives
# the best accuracy there (96.9 % of all 703 pairs, 94.3 % balanced), a little better than
# dlib's own rule on the raw descriptors (96.2 % / 92.2 %). insightface ArcFace (buffalo_l /
# antelopev2): the usual verification threshold on normalised 512-d features is about 0.3-0.4.
SAME_PERSON = {"dlib": 0.90, "insightface": 0.35}
# Tracking links overlapping boxes at a looser similarity than this (see track.py).
TRACK_WEAK = {"dlib": 0.80, "insightface": 0.20}


def same_person_threshold(backend: str) -> float:
    return SAME_PERSON.get(backend, SAME_PERSON["dlib"])


def track_weak_threshold(backend: str) -> float:
    return TRACK_WEAK.get(backend, TRACK_WEAK["dlib"])


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return v @ v.T


def agglomerate(
    vectors: np.ndarray,
    threshold: float,
    cannot_link: Iterable[tuple[int, int]] = (),
    weights: np.ndarray | None = None,
) -> list[list[int]]:
    """Cluster ``vectors (N, D)``; returns clusters as sorted index lists, ordered by smallest index.

    weights: (N,) how many items each vector stands for (default 1 each)."""
    n = len(vectors)
    if n == 0:
        return []
    sim = cosine_matrix(vectors)  # n n
    np.fill_diagonal(sim, -np.inf)
    blocked = np.zeros((n, n), bool)
    for a, b in cannot_link:
        blocked[a, b] = blocked[b, a] = True
    sim[blocked] = -np.inf
    size = np.ones(n) if weights is None else np.asarray(weights, np.float64).copy()
    members = {i: [i] for i in range(n)}
    alive = np.ones(n, bool)
    while len(members) > 1:
        flat = int(np.argmax(sim))
        a, b = divmod(flat, n)
        if not np.isfinite(sim[a, b]) or sim[a, b] < threshold:
            break
        # merge b into a: average linkage, blocked pairs stay blocked
        merged = (size[a] * sim[a] + size[b] * sim[b]) / (size[a] + size[b])
        either_blocked = np.isneginf(sim[a]) | np.isneginf(sim[b])
        merged[either_blocked] = -np.inf
        merged[~alive] = -np.inf
        sim[a], sim[:, a] = merged, merged
        sim[a, a] = -np.inf
        sim[b], sim[:, b] = -np.inf, -np.inf
        alive[b] = False
        size[a] += size[b]
        members[a].extend(members.pop(b))
    clusters = [sorted(m) for m in members.values()]
    return sorted(clusters, key=lambda c: c[0])
