"""Frame-grid and frame-rate maths shared by the diffusers engines (numpy and OpenCV only).

Space: the source frames are scaled, keeping their aspect exactly, to fit a working area on the
model's spatial grid (sizes divisible by 16 for Wan/SkyReels, 32 for LTX), and the leftover
border is **padded** by repeating the edge pixels (never cropped), so no source pixel is lost and
the way back is exact: crop the padding off the generated frames and resize them to the source's
frame size.

Time: arrays here are always ordered *away from the cut*: index 0 is the frame nearest the cut
(for a tail extension, the last context frame and then the first generated frame; for a head
extension, the first context frame and then the generated frame just before it). Context frames
are resampled to the model's native rate by picking, for each native sample ``j`` (at ``j /
native`` seconds from the edge), the nearest source frame. Generated native frame ``k`` lies
``(k + 1) / native`` seconds past the edge; output frame ``m`` must lie ``(m + 1) / rate`` past
it, so it is read at native position ``p = (m + 1) * native / rate - 1`` (exact fractions):

* ``"blend"`` (default): a linear cross-fade of the two native frames around ``p`` (position -1
  is the edge context frame itself). Motion speed is preserved on average and per frame.
* ``"nearest"``: the native frame nearest ``p``: no blending, some frames repeat or are skipped
  (as a plain frame-rate conversion would), and motion speed is preserved on average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

CONFORM_MODES = ("blend", "nearest")


def on_grid(n: int, multiple: int) -> int:
    """The smallest frame count ``k * multiple + 1`` that is at least ``n``."""
    return max(0, math.ceil((n - 1) / multiple)) * multiple + 1


def below_grid(n: int, multiple: int) -> int:
    """The largest frame count ``k * multiple + 1`` that is at most ``n`` (n >= 1)."""
    return (n - 1) // multiple * multiple + 1


@dataclass(frozen=True)
class Placement:
    """Where the scaled source sits inside the padded working frame."""

    source: tuple[int, int]  # (H, W) of the source frames
    content: tuple[int, int]  # (h, w) of the scaled source inside the working frame
    grid: tuple[int, int]  # (H, W) of the working frame, divisible by the spatial multiple
    offset: tuple[int, int]  # (top, left) of the content in the working frame


def place(source_hw: tuple[int, int], area: int, multiple: int) -> Placement:
    """Scale ``source_hw`` to about ``area`` pixels keeping its aspect, and pad to the grid."""
    h, w = (int(v) for v in source_hw)
    scale = math.sqrt(area / (h * w))
    ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
    gh, gw = math.ceil(ch / multiple) * multiple, math.ceil(cw / multiple) * multiple
    return Placement((h, w), (ch, cw), (gh, gw), ((gh - ch) // 2, (gw - cw) // 2))


def _resize(frames: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    import cv2

    h, w = hw
    if frames.shape[1:3] == (h, w):
        return frames
    shrink = h * w < frames.shape[1] * frames.shape[2]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in frames])


def to_working(frames: np.ndarray, p: Placement) -> np.ndarray:
    """uint8 (T, H, W, 3) source frames -> (T, gh, gw, 3) on the grid (scaled, edge-padded)."""
    scaled = _resize(frames, p.content)  # t h w c
    top, left = p.offset
    bottom, right = p.grid[0] - p.content[0] - top, p.grid[1] - p.content[1] - left
    return np.pad(scaled, ((0, 0), (top, bottom), (left, right), (0, 0)), mode="edge")


def from_working(frames: np.ndarray, p: Placement) -> np.ndarray:
    """(T, gh, gw, 3) generated frames -> (T, H, W, 3) at the source size (padding cropped)."""
    top, left = p.offset
    content = frames[:, top : top + p.content[0], left : left + p.content[1]]
    return _resize(np.ascontiguousarray(content), p.source)


def native_rate(clip_rate: Fraction, fixed: Fraction | None, follow_up_to: Fraction | None) -> Fraction:
    """The rate the model works at: ``fixed`` (Wan 16, SkyReels 24), or the clip's own rate when
    the model takes any rate up to ``follow_up_to`` (LTX: up to 30), else that cap."""
    if follow_up_to is not None:
        return min(Fraction(clip_rate), Fraction(follow_up_to))
    return Fraction(fixed)


def native_count(frames: int, clip_rate: Fraction, native: Fraction) -> int:
    """Native frames needed to cover ``frames`` output frames at ``clip_rate``."""
    return math.ceil(Fraction(frames) * Fraction(native) / Fraction(clip_rate))


def resample_context(away: np.ndarray, clip_rate: Fraction, native: Fraction, count: int) -> np.ndarray:
    """Context ordered away from the cut -> ``count`` native-rate frames (nearest source frame);
    sample ``j`` is ``j / native`` seconds from the edge. Needs enough source frames."""
    idx = [math.floor(Fraction(j) * Fraction(clip_rate) / Fraction(native) + Fraction(1, 2)) for j in range(count)]
    if idx and idx[-1] >= len(away):
        raise ValueError(f"{count} native frames need {idx[-1] + 1} context frames, got {len(away)}")
    return away[idx]


def context_available(frames: int, clip_rate: Fraction, native: Fraction) -> int:
    """How many native-rate context samples ``frames`` source frames can give."""
    # sample j reads source frame floor(j * rate / native + 1/2), which must be < frames
    return max(0, math.ceil((Fraction(frames) - Fraction(1, 2)) * Fraction(native) / Fraction(clip_rate)))


def conform(
    generated: np.ndarray, edge: np.ndarray, native: Fraction, clip_rate: Fraction, frames: int, mode: str = "blend"
) -> np.ndarray:
    """Native-rate generated frames (away from the cut) -> ``frames`` frames at ``clip_rate``.

    ``edge`` is the context frame at the cut (native position -1). See the module docstring.
    """
    if mode not in CONFORM_MODES:
        raise ValueError(f"unknown conform mode {mode!r}; choose one of {', '.join(CONFORM_MODES)}")
    need = native_count(frames, clip_rate, native)
    if len(generated) < need:
        raise ValueError(f"{frames} frames at {clip_rate} fps need {need} native frames, got {len(generated)}")
    seq = np.concatenate([edge[None], generated[:need]])  # position p lives at seq[p + 1]
    out = np.empty((frames, *generated.shape[1:]), np.uint8)
    for m in range(frames):
        p = Fraction(m + 1) * Fraction(native) / Fraction(clip_rate)  # native position + 1
        if mode == "nearest":
            out[m] = seq[min(int(p + Fraction(1, 2)), need)]
            continue
        lo = min(math.floor(p), need)
        t = float(p - lo)
        if t == 0.0 or lo == need:
            out[m] = seq[lo]
        else:
            mix = (1.0 - t) * seq[lo].astype(np.float32) + t * seq[lo + 1].astype(np.float32)
            out[m] = np.clip(np.rint(mix), 0, 255).astype(np.uint8)
    return out
