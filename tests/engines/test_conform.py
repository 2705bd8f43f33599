"""Rate conforming between a model's rate and the clip's, measured on a synthetic moving pattern:
edges stay single and sharp and in the right place after 16 -> 23.976 and 24 -> 29.97 (our
motion-compensated re-timing), where a cross-fade of the two nearest frames shows double edges;
rates within 0.1% map frame for frame; the context is re-timed to the model's rate the same way."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from lengthen.engines import grid

BAR_WIDTH, BAR_GAP, BARS, LEFT = 12, 40, 4, 20


def bars(n: int, speed: float, start: float = 0.0, size=(48, 256)) -> np.ndarray:
    """(n, h, w, 3) frames: four light bars (12 px wide, anti-aliased) on a dark ground, the group's
    left edge at ``LEFT + start + speed * i`` in frame i."""
    h, w = size
    xs = np.arange(w)[None, :] + 0.5
    out = np.full((n, h, w, 3), 20, np.uint8)
    for i in range(n):
        x0 = LEFT + start + speed * i
        cover = np.zeros((1, w))
        for b in range(BARS):
            left = x0 + b * BAR_GAP
            cover = np.maximum(cover, np.clip(np.minimum(xs - left + 0.5, left + BAR_WIDTH - xs + 0.5), 0, 1))
        out[i, 8:40] = (cover[..., None] * 220 + 20).round().astype(np.uint8)
    return out


def double_edge_score(frames: np.ndarray, threshold: float = 25.0) -> np.ndarray:
    """Per frame: edges found in the bars' row profile (steps larger than ``threshold`` grey levels,
    adjacent steps counted once) over the edges there are (two per bar). 1.0: every edge single;
    2.0: every edge doubled (a cross-fade of two frames with the bars in two places)."""
    profile = frames[:, 16:32].astype(np.float64).mean(axis=(1, 3))  # (n, w)
    step = np.abs(np.diff(profile, axis=1)) > threshold
    runs = (step[:, 1:] & ~step[:, :-1]).sum(1) + step[:, 0]
    return runs / (2.0 * BARS)


def left_edges(frames: np.ndarray) -> np.ndarray:
    """Sub-pixel position of the first bar's left edge (where the row crosses mid-grey)."""
    row = frames[:, 24, :, 0].astype(np.float64)
    mid = (20 + 240) / 2
    i = np.argmax(row > mid, axis=1)
    lo, hi = row[np.arange(len(row)), i - 1], row[np.arange(len(row)), i]
    return i - 0.5 + (mid - lo) / (hi - lo)  # pixel centres at x + 0.5


def bar_widths(frames: np.ndarray) -> np.ndarray:
    """Width of the first bar: its area in the row between 8 px before its left edge and the gap."""
    row = frames[:, 24, :, 0].astype(np.float64) - 20
    starts = np.floor(left_edges(frames)).astype(int) - 8
    return np.array([r[s : s + BAR_GAP - 4].sum() / 220 for r, s in zip(row, starts)])


def crossfade_conform(generated, edge, native, rate, frames) -> np.ndarray:
    """The conform we replaced: a linear mix of the two native frames around each output instant."""
    seq = np.concatenate([edge[None], generated]).astype(np.float64)
    out = []
    for m in range(frames):
        p = Fraction(m + 1) * native / rate
        lo, t = int(p), float(p - int(p))
        out.append(seq[lo] if t == 0 else (1 - t) * seq[lo] + t * seq[lo + 1])
    return np.clip(np.rint(np.stack(out)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "native,rate,speed", [(Fraction(16), Fraction(24000, 1001), 6.0), (Fraction(24), Fraction(30000, 1001), 5.0)]
)
def test_conform_keeps_edges_single_where_a_crossfade_doubles_them(native, rate, speed):
    frames = 24
    need = grid.native_count(frames, rate, native)
    generated = bars(need, speed, start=speed)  # native frame k sits (k + 1) native frames past the edge
    edge = bars(1, speed)[0]
    ours = grid.conform(generated, edge, native, rate, frames)
    theirs = crossfade_conform(generated, edge, native, rate, frames)
    assert ours.shape == (frames, 48, 256, 3)
    ours_score, theirs_score = double_edge_score(ours), double_edge_score(theirs)
    assert ours_score.max() == 1.0, ours_score  # every edge of every frame single
    assert theirs_score.mean() > 1.5, theirs_score  # the cross-fade fails the same measure
    # the bars are where the clip's clock puts them and keep their width (no smear, no stretch)
    want = LEFT + speed * np.array([float(Fraction(m + 1) * native / rate) for m in range(frames)])
    assert np.abs(left_edges(ours) - want).max() < 0.35
    assert np.abs(bar_widths(ours) - BAR_WIDTH).max() < 0.6


def test_rates_within_a_thousandth_map_frame_for_frame():
    assert grid.same_rate(Fraction(24000, 1001), 24) and grid.same_rate(Fraction(30000, 1001), 30)
    assert not grid.same_rate(25, 24) and not grid.same_rate(Fraction(24000, 1001), 25)
    # 23.976 material on a 24 fps model runs at its own rate: one generated frame per output frame
    assert grid.native_rate(Fraction(24000, 1001), Fraction(24), None) == Fraction(24000, 1001)
    assert grid.native_rate(Fraction(30000, 1001), None, Fraction(30)) == Fraction(30000, 1001)
    assert grid.native_rate(Fraction(25), Fraction(24), None) == 24
    assert grid.native_rate(Fraction(60), None, Fraction(30)) == 30
    gen = bars(10, 3.0)
    assert np.array_equal(grid.conform(gen, gen[0], Fraction(24), Fraction(24000, 1001), 10), gen)
    away = bars(6, 2.0)
    assert np.array_equal(grid.resample_context(away, Fraction(24000, 1001), Fraction(24), 6), away)


def test_context_is_retimed_to_the_model_rate_by_motion_not_by_picking_frames():
    """23.976 context read at 16 fps: sample j lies j / 16 s from the edge, between source frames."""
    rate, native, speed = Fraction(24000, 1001), Fraction(16), 4.0
    away = bars(20, speed)
    n = grid.context_available(20, rate, native)
    assert grid.source_frames_for(n, rate, native) <= 20 < grid.source_frames_for(n + 1, rate, native)
    got = grid.resample_context(away, rate, native, n)
    want = LEFT + speed * np.array([float(Fraction(j) * rate / native) for j in range(n)])
    assert np.abs(left_edges(got) - want).max() < 0.35  # nearest-frame picking is off by up to 2 px
    assert double_edge_score(got).max() == 1.0
    with pytest.raises(ValueError, match="context frames"):
        grid.resample_context(away, rate, native, n + 1)


def test_nearest_mode_repeats_whole_frames():
    native, rate = Fraction(16), Fraction(24000, 1001)
    gen = bars(grid.native_count(12, rate, native), 6.0, start=6.0)
    near = grid.conform(gen, bars(1, 6.0)[0], native, rate, 12, "nearest")
    assert all(any(np.array_equal(f, g) for g in gen) for f in near)
    with pytest.raises(ValueError, match="conform mode"):
        grid.conform(gen, gen[0], native, rate, 12, "blend")
