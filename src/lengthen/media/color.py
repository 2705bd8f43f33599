"""Seam colour matching: make generated frames sit on the source's colour and levels.

VAE round trips and warps shift colour a little; at a cut from a source frame to a generated one
that shift is what an editor sees first. We estimate one per-channel gain and offset that maps the
generated frame nearest the cut onto the source frame at the cut (robust percentiles, not means,
so a face moving in does not skew it) and apply it to every generated frame, so levels stay
consistent through the extension. Work is in float, in RGB, after decoding.
"""

from __future__ import annotations

import numpy as np

_PCTS = np.array([5.0, 25.0, 50.0, 75.0, 95.0])


def _channel_fit(src: np.ndarray, gen: np.ndarray) -> tuple[float, float]:
    """Least-squares gain/offset mapping gen's percentiles onto src's (one channel)."""
    ps = np.percentile(src, _PCTS)
    pg = np.percentile(gen, _PCTS)
    spread = pg[-1] - pg[0]
    if spread < 1.0:  # flat channel: offset only
        return 1.0, float(np.median(src) - np.median(gen))
    gain, offset = np.polyfit(pg, ps, 1)
    gain = float(np.clip(gain, 0.8, 1.25))  # a seam fix, not a grade
    offset = float(np.median(ps - gain * pg))
    return gain, offset


def seam_correction(source_edge: np.ndarray, generated_edge: np.ndarray) -> np.ndarray:
    """(3, 2) gain/offset per channel mapping ``generated_edge`` onto ``source_edge`` (uint8 HxWx3)."""
    return np.array(
        [
            _channel_fit(source_edge[..., c].astype(np.float32), generated_edge[..., c].astype(np.float32))
            for c in range(3)
        ],
        dtype=np.float32,
    )


def apply_correction(frames: np.ndarray, correction: np.ndarray) -> np.ndarray:
    """Apply a (3, 2) gain/offset to uint8 frames (..., H, W, 3); returns uint8."""
    out = frames.astype(np.float32) * correction[:, 0] + correction[:, 1]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def match_seam(generated: np.ndarray, source_edge: np.ndarray, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """Colour-match generated frames (time order) to the source frame at the cut.

    ``direction`` "tail": the cut is before ``generated[0]``; "head": after ``generated[-1]``.
    Returns (matched frames, the (3, 2) correction used).
    """
    edge = generated[0] if direction == "tail" else generated[-1]
    correction = seam_correction(source_edge, edge)
    return apply_correction(generated, correction), correction
