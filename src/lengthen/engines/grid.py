"""Frame-grid and frame-rate maths shared by the diffusers engines (numpy and OpenCV only).

Space: the source frames are scaled, keeping their *display* aspect exactly (anamorphic sources
are unsqueezed by their pixel aspect ratio, so the model sees round faces), to fit a working area
on the model's spatial grid (sizes divisible by 16 for Wan/SkyReels, 32 for LTX), and the
leftover border is **padded** by repeating the edge pixels (never cropped), so no source pixel is
lost and the way back is exact: crop the padding off the generated frames and resize them to the
source's stored frame size (which squeezes anamorphic frames back).

Time: arrays here are ordered *away from the cut*: index 0 is the frame nearest the cut (for a
tail extension, the last context frame and then the first generated frame; for a head extension,
the first context frame and then the generated frame just before it). Rates within 0.1% of each
other are the same rate (:func:`same_rate`): 23.976 material runs frame for frame on a 24 fps
model (and keeps its own timecode, which is the pipeline's). Otherwise frames are re-timed by
**motion-compensated interpolation** (:func:`retime`): a frame wanted between two frames is the
nearer one of the two, warped along the optical flow between them (our Farneback flow,
:mod:`lengthen.flow`) to the wanted instant. One source frame per output frame, never a
cross-fade, so moving edges stay single and sharp.

* context -> model rate: native sample ``j`` lies ``j / native`` seconds from the edge, at
  source position ``j * rate / native`` (:func:`resample_context`);
* model rate -> clip rate: generated native frame ``k`` lies ``(k + 1) / native`` seconds past the
  edge, output frame ``m`` must lie ``(m + 1) / rate`` past it, so it is read at native position
  ``p = (m + 1) * native / rate - 1`` (position -1 is the edge context frame itself,
  :func:`conform`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

CONFORM_MODES = ("flow", "nearest")
SAME_RATE_TOLERANCE = Fraction(1, 1000)  # rates this close are one rate (23.976 and 24: 0.0999%)


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


def place(source_hw: tuple[int, int], area: int, multiple: int, pixel_aspect=1) -> Placement:
    """Scale ``source_hw`` to about ``area`` pixels keeping its display aspect (stored width times
    ``pixel_aspect``, the sample aspect ratio: 2 for 2x anamorphic), and pad to the grid."""
    h, w = (int(v) for v in source_hw)
    dw = w * float(Fraction(pixel_aspect))  # display width
    scale = math.sqrt(area / (h * dw))
    ch, cw = max(1, round(h * scale)), max(1, round(dw * scale))
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


def same_rate(a, b) -> bool:
    """Rates within 0.1% of each other are treated as one rate (frame for frame, no re-timing)."""
    a, b = Fraction(a), Fraction(b)
    return abs(a - b) <= SAME_RATE_TOLERANCE * max(a, b)


def native_rate(clip_rate: Fraction, fixed: Fraction | None, follow_up_to: Fraction | None) -> Fraction:
    """The rate the model works at: the clip's own rate when it is within 0.1% of the model's
    ``fixed`` rate (Wan 16, SkyReels 24) or when the model takes any rate up to ``follow_up_to``
    (LTX: up to 30); else ``fixed`` or that cap. Frames then map one to one."""
    clip_rate = Fraction(clip_rate)
    if follow_up_to is not None:
        cap = Fraction(follow_up_to)
        return clip_rate if clip_rate <= cap or same_rate(clip_rate, cap) else cap
    return clip_rate if same_rate(clip_rate, fixed) else Fraction(fixed)


def native_count(frames: int, clip_rate: Fraction, native: Fraction) -> int:
    """Native frames needed to cover ``frames`` output frames at ``clip_rate``."""
    return math.ceil(Fraction(frames) * Fraction(native) / Fraction(clip_rate))


def context_available(frames: int, clip_rate: Fraction, native: Fraction) -> int:
    """How many native-rate context samples ``frames`` source frames can give (sample ``j`` at
    source position ``j * rate / native`` must not lie beyond the last one)."""
    if frames < 1:
        return 0
    return math.floor(Fraction(frames - 1) * Fraction(native) / Fraction(clip_rate)) + 1


def source_frames_for(samples: int, clip_rate: Fraction, native: Fraction) -> int:
    """Source frames (at ``clip_rate``) needed for ``samples`` native-rate context samples."""
    if samples < 1:
        return 0
    return math.ceil(Fraction(samples - 1) * Fraction(clip_rate) / Fraction(native)) + 1


# ---- motion-compensated re-timing ------------------------------------------------------------


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full-resolution flow from uint8 frame ``a`` into ``b``, on ``a``'s grid (``a(p) ~ b(p +
    f(p))``): float32 ``(H, W, 2)`` in pixels (our Farneback flow, measured at 320 px wide)."""
    from .. import flow

    h, w = a.shape[:2]
    return flow.one_flow(a, b, (w, h), settings=flow.RETIME_FARNEBACK).transpose(1, 2, 0).copy()


def warp_along(frame: np.ndarray, motion: np.ndarray, t: float, iterations: int = 4) -> np.ndarray:
    """``frame`` moved ``t`` of the way along its own motion field ``motion`` (``(H, W, 2)``, on
    ``frame``'s grid, pixels per frame interval): the output at ``x`` is ``frame(q)`` where
    ``q + t * motion(q) = x``, found by fixed-point iteration (the motion is read where the pixel
    comes from, so moving objects carry their own velocity). One source frame, bilinear samples."""
    import cv2

    h, w = frame.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    qx, qy = xs.copy(), ys.copy()
    for _ in range(iterations):
        m = cv2.remap(motion, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        qx, qy = xs - t * m[..., 0], ys - t * m[..., 1]
    return cv2.remap(frame, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def retime(frames: np.ndarray, positions) -> np.ndarray:
    """uint8 ``(T, H, W, 3)`` frames at integer positions ``0..T-1`` -> one frame per position
    (exact fractions or floats in ``[0, T-1]``). Whole positions copy the frame; a position
    between frames ``i`` and ``i + 1`` is the nearer of the two warped along the flow between
    them to that instant (:func:`warp_along`); flows are measured once per pair used."""
    positions = [Fraction(p) for p in positions]
    if positions and (min(positions) < 0 or max(positions) > len(frames) - 1):
        raise ValueError(f"positions {min(positions)}..{max(positions)} outside 0..{len(frames) - 1}")
    flows: dict[tuple[int, int], np.ndarray] = {}  # (from, to) -> flow, measured once, only where used
    out = np.empty((len(positions), *frames.shape[1:]), np.uint8)
    for n, p in enumerate(positions):
        i = math.floor(p)
        t = p - i
        if t == 0:
            out[n] = frames[i]
            continue
        # the nearer frame moves towards the instant: forwards by t, or backwards by 1 - t
        src, dst, step = (i, i + 1, t) if t <= Fraction(1, 2) else (i + 1, i, 1 - t)
        if (src, dst) not in flows:
            flows[(src, dst)] = _flow(frames[src], frames[dst])
        out[n] = warp_along(frames[src], flows[(src, dst)], float(step))
    return out


def resample_context(away: np.ndarray, clip_rate: Fraction, native: Fraction, count: int) -> np.ndarray:
    """Context ordered away from the cut -> ``count`` native-rate frames; sample ``j`` lies
    ``j / native`` seconds from the edge (motion-compensated between source frames; frame for
    frame when the rates are the same). Needs enough source frames."""
    if same_rate(clip_rate, native):
        if count > len(away):
            raise ValueError(f"{count} native frames need {count} context frames, got {len(away)}")
        return away[:count]
    positions = [Fraction(j) * Fraction(clip_rate) / Fraction(native) for j in range(count)]
    if positions and positions[-1] > len(away) - 1:
        raise ValueError(
            f"{count} native frames need {source_frames_for(count, clip_rate, native)} context frames, got {len(away)}"
        )
    return retime(away, positions)


def conform(
    generated: np.ndarray, edge: np.ndarray, native: Fraction, clip_rate: Fraction, frames: int, mode: str = "flow"
) -> np.ndarray:
    """Native-rate generated frames (away from the cut) -> ``frames`` frames at ``clip_rate``.

    ``edge`` is the context frame at the cut (native position -1). ``mode`` ``"flow"``: motion-
    compensated (see :func:`retime`); ``"nearest"``: the nearest native frame (repeats or skips,
    like a plain frame-rate conversion). Rates within 0.1% map frame for frame.
    """
    if mode not in CONFORM_MODES:
        raise ValueError(f"unknown conform mode {mode!r}; choose one of {', '.join(CONFORM_MODES)}")
    if same_rate(native, clip_rate):
        if len(generated) < frames:
            raise ValueError(f"{frames} frames need {frames} native frames at the same rate, got {len(generated)}")
        return np.ascontiguousarray(generated[:frames])
    need = native_count(frames, clip_rate, native)
    if len(generated) < need:
        raise ValueError(f"{frames} frames at {clip_rate} fps need {need} native frames, got {len(generated)}")
    seq = np.concatenate([edge[None], generated[:need]])  # position p lives at seq[p + 1]
    positions = [Fraction(m + 1) * Fraction(native) / Fraction(clip_rate) for m in range(frames)]
    if mode == "nearest":
        return np.stack([seq[min(int(p + Fraction(1, 2)), need)] for p in positions])
    return retime(seq, positions)
