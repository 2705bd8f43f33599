"""Cut detection inside a context window, so an engine never learns from the shot before a cut."""

from __future__ import annotations

import numpy as np

from ..fsutil import file_stamp


def _hist(frame: np.ndarray, bins: int = 16) -> np.ndarray:
    small = frame[::4, ::4].reshape(-1, 3).astype(np.int32) * bins // 256
    codes = small[:, 0] * bins * bins + small[:, 1] * bins + small[:, 2]
    h = np.bincount(codes, minlength=bins**3).astype(np.float32)
    return h / max(1.0, h.sum())


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(0.5 * np.abs(a - b).sum())


def _cut_indices(hists: list, threshold: float, lookahead: int = 4) -> list[int]:
    """Indices starting a new shot: the histogram moves by more than ``threshold`` from the
    frame before, none of the next ``lookahead`` frames returns to the look before the change,
    and the new look is not one of the ``lookahead`` frames before (a flash, strobe or flicker
    comes and goes; a cut does not)."""
    cuts = []
    for i in range(1, len(hists)):
        if _distance(hists[i], hists[i - 1]) <= threshold:
            continue
        ahead = hists[i + 1 : i + 1 + lookahead]
        if any(_distance(h, hists[i - 1]) <= threshold for h in ahead):
            continue  # the look before comes back: a flash starts here
        behind = hists[max(0, i - 1 - lookahead) : i - 1]
        if any(_distance(h, hists[i]) <= threshold for h in behind):
            continue  # back to a look of just before: a flash ends here
        cuts.append(i)
    return cuts


def detect_cuts(frames: np.ndarray, threshold: float = 0.5) -> list[int]:
    """Indices ``i`` where ``frames[i]`` starts a new shot (colour-histogram distance, in [0, 1]).

    A hard cut moves most of the histogram mass (distance well above 0.5); camera moves and
    lighting changes inside a shot stay far below it, and flashes that return to the previous
    look within a few frames are not cuts.
    """
    return _cut_indices([_hist(f) for f in frames], threshold)


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


# -- cuts inside a clip's media, near its edges (planning) --------------------------------------
_EDGE_CACHE: dict = {}


def cuts_in_range(media, first: int, last: int, threshold: float = 0.5) -> list[int]:
    """Media frame numbers in ``first+1 .. last`` that start a new shot (frames ``first..last``
    decoded once; results kept for the process, keyed by the file's path, size and time)."""
    if last <= first:
        return []
    stamp = file_stamp(media)
    key = (stamp, first, last, threshold)
    if stamp is None or key not in _EDGE_CACHE:
        from .reader import iter_av_frames

        numbers, hists = [], []
        for number, frame in iter_av_frames(media, range(first, last + 1)):
            # at most 640 px wide (swscale, cheap): the histogram only needs the colours, not the detail
            scale = min(1.0, 640 / max(1, frame.width))
            w, h = max(2, round(frame.width * scale) // 2 * 2), max(2, round(frame.height * scale) // 2 * 2)
            numbers.append(number)
            hists.append(_hist(frame.to_ndarray(width=w, height=h, format="rgb24")))
        cuts = [numbers[i] for i in _cut_indices(hists, threshold)]
        if stamp is None:
            return cuts
        _EDGE_CACHE[key] = cuts
    return list(_EDGE_CACHE[key])


def shot_bounds(media, vis_first: int, vis_last: int, media_frames: int, window: int) -> dict:
    """The media frames of the shot a clip shows, as far as ``window`` frames beyond its edges.

    Looks for cuts in ``vis_first - window .. vis_first`` and ``vis_last .. vis_last + window``
    (the frames near the clip's edges, inside the media). Returns ``first``/``last`` (the shot's
    first and last media frames: the nearest cut, else the media's ends) and ``cut_before`` /
    ``cut_after`` (the media frame where that cut starts a new shot, or None). A clip whose
    ``vis_first`` is a cut has no head handles of its own; a head is generated in place of the
    frames before it, which belong to another shot.
    """
    first, last = 0, media_frames - 1
    cut_before = cut_after = None
    ahead = 4  # frames past each edge that tell a cut from a flash
    lo, hi = max(0, vis_first - window - ahead), min(max(vis_first, 0) + ahead, media_frames - 1)
    before = [c for c in cuts_in_range(media, lo, hi) if c <= vis_first]
    if before:
        cut_before = first = before[-1]
    lo, hi = max(0, min(vis_last, media_frames - 1) - ahead), min(media_frames - 1, vis_last + window + ahead)
    after = [c for c in cuts_in_range(media, lo, hi) if c > vis_last]
    if after:
        cut_after = after[0]
        last = cut_after - 1
    return {"first": first, "last": last, "cut_before": cut_before, "cut_after": cut_after, "window": window}
