"""Cut detection inside a context window, so an engine never learns from the shot before a cut."""

from __future__ import annotations

import numpy as np


def _hist(frame: np.ndarray, bins: int = 16) -> np.ndarray:
    small = frame[::4, ::4].reshape(-1, 3).astype(np.int32) * bins // 256
    codes = small[:, 0] * bins * bins + small[:, 1] * bins + small[:, 2]
    h = np.bincount(codes, minlength=bins**3).astype(np.float32)
    return h / max(1.0, h.sum())


def detect_cuts(frames: np.ndarray, threshold: float = 0.5) -> list[int]:
    """Indices ``i`` where ``frames[i]`` starts a new shot (colour-histogram distance, in [0, 1]).

    A hard cut moves most of the histogram mass (distance well above 0.5); camera moves and
    lighting changes inside a shot stay far below it.
    """
    cuts = []
    prev = None
    for i, frame in enumerate(frames):
        h = _hist(frame)
        if prev is not None and 0.5 * np.abs(h - prev).sum() > threshold:
            cuts.append(i)
        prev = h
    return cuts


def trim_to_last_shot(frames: np.ndarray, direction: str, threshold: float = 0.5) -> tuple[np.ndarray, int]:
    """Keep only the frames on the cut's side of any shot change inside the window.

    ``direction`` "tail": keep frames after the last cut; "head": keep frames before the first.
    Returns (frames kept, frames dropped).
    """
    cuts = detect_cuts(frames, threshold)
    if not cuts:
        return frames, 0
    if direction == "tail":
        return frames[cuts[-1] :], cuts[-1]
    return frames[: cuts[0]], len(frames) - cuts[0]
