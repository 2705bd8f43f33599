"""Exact-frame reading: frame ``i`` is the ``i``-th frame in display order, found by its pts.

We seek to the keyframe at or before the first wanted frame and decode forward, keeping only the
frames whose pts are wanted. Because frames are matched by pts from the demuxed index (not by
counting decoded frames or by multiplying a rate), the result is exact on B-frame streams and on
variable-rate files.

Colour: YUV is turned into RGB with the file's own matrix and range (untagged HD as BT.709, SD as
BT.601; see :mod:`lengthen.media.color`). A conformed variable-rate file (see
:mod:`lengthen.media.probe`) yields a repeated frame once for each slot it fills.

Orientation: frames come out upright (a file's display rotation is applied). Pixel aspect: frames
come out at the **stored** raster, never resampled; :class:`~lengthen.media.probe.MediaInfo`
reports the SAR and the display size, and the writer stamps the same SAR on generated media, so an
NLE shows both the same way and no resampling blur is baked into generated frames.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..errors import MediaError
from .color import ColorTags, frame_to_rgb
from .probe import _ffmsg, frame_index, open_container, stream_color_tags


def _upright(array: np.ndarray, rotation: float) -> np.ndarray:
    """Apply the display rotation (degrees counter-clockwise, FFmpeg's display-matrix sign)."""
    turns = int(round((rotation or 0) / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(array, k=turns)) if turns else array


def iter_frames(path: str | Path, frames: Iterable[int], *, progress=None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_number, uint8 RGB (H, W, 3))`` for each wanted frame, in ascending order, upright."""
    tags = None
    for f, frame in iter_av_frames(path, frames, progress=progress):
        if tags is None:
            tags = file_tags(frame, path)
        yield f, _upright(frame_to_rgb(frame, tags), getattr(frame, "rotation", 0))


def file_tags(frame, path) -> ColorTags:
    """The colour tags to read a file's frames with: the container's, then the frame's, resolved
    (untagged HD as BT.709, SD as BT.601)."""
    tags = stream_color_tags(path).merged(ColorTags.of(frame))
    return tags.resolved(frame.width, frame.height, frame.format.name)


def iter_av_frames(path: str | Path, frames: Iterable[int], *, progress=None) -> Iterator[tuple[int, object]]:
    """Yield ``(frame_number, decoded PyAV frame)`` for each wanted frame, in ascending order, as stored."""
    p = Path(path)
    wanted = sorted(set(int(f) for f in frames))
    if not wanted:
        return
    index = frame_index(p)
    n = len(index)
    for f in (wanted[0], wanted[-1]):
        if f < 0 or f >= n:
            raise MediaError(f"frame {f} is out of range: the file has {n} frames (0..{n - 1})", path=p, frame=f)
    pts_of: dict[int, list[int]] = {}
    for f in wanted:
        pts_of.setdefault(int(index.pts[f]), []).append(f)  # a conformed VFR file repeats a pts
    keyframes = np.flatnonzero(index.keyframe)

    def keyframe_before(f: int) -> int:
        k = keyframes[keyframes <= f]
        return int(k[-1]) if len(k) else 0

    container = open_container(p)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        pos = 0  # position in `wanted`
        done = 0
        while pos < len(wanted):
            target = wanted[pos]
            start = keyframe_before(target)
            found_any = False
            for attempt in range(3):
                seek_pts = int(index.pts[start])
                container.seek(seek_pts, stream=stream, backward=True, any_frame=False)
                decoder = container.decode(stream)
                try:
                    first = next(decoder)
                except StopIteration:
                    first = None
                except Exception as exc:
                    raise MediaError(
                        f"decoding failed near frame {target} ({_ffmsg(exc)})", path=p, frame=target
                    ) from None
                if first is not None and (first.pts is None or first.pts <= int(index.pts[target])):
                    found_any = True
                    break
                # The demuxer landed after the frame we need: step back one more keyframe.
                start = keyframe_before(max(0, start - 1)) if start > 0 else 0
                if attempt == 1:
                    start = 0
            if not found_any:
                raise MediaError(f"cannot seek to frame {target}", path=p, frame=target)
            frame = first
            last_wanted_pts = int(index.pts[wanted[-1]])
            try:
                while frame is not None:
                    t = frame.pts
                    hits = [f for f in pts_of.get(t, ()) if f >= wanted[pos]] if t is not None else []
                    if hits:
                        for f in hits:
                            yield f, frame
                            done += 1
                            if progress is not None:
                                progress.report("decode", done, len(wanted))
                                progress.check()
                        f = hits[-1]
                        pos = bisect.bisect_right(wanted, f)  # wanted is sorted and unique
                        if pos >= len(wanted):
                            return
                        nxt = wanted[pos]
                        # Far ahead (past another keyframe)? Seek instead of decoding the gap.
                        if keyframe_before(nxt) > f + 1:
                            break
                    if t is not None and t > last_wanted_pts:
                        break
                    frame = next(decoder, None)
            except MediaError:
                raise
            except Exception as exc:
                raise MediaError(
                    f"decoding failed near frame {target} ({_ffmsg(exc)})", path=p, frame=target
                ) from None
            else:
                if frame is None or (frame.pts is not None and frame.pts > last_wanted_pts):
                    if pos < len(wanted) and (frame is None or keyframe_before(wanted[pos]) <= target):
                        missing = wanted[pos]
                        raise MediaError(
                            f"frame {missing} could not be decoded (damaged file?)", path=p, frame=missing
                        )
    finally:
        container.close()


def read_frames(path: str | Path, start: int, count: int, *, progress=None) -> np.ndarray:
    """Frames ``[start, start + count)`` as uint8 RGB ``(T, H, W, 3)``."""
    if count <= 0:
        raise MediaError(f"asked for {count} frames starting at {start}", path=path, frame=start)
    return read_frame_list(path, range(start, start + count), progress=progress)


def read_frame_list(path: str | Path, frames: Sequence[int], *, progress=None) -> np.ndarray:
    """The listed frames (any order, duplicates allowed) as uint8 RGB ``(T, H, W, 3)``."""
    frames = [int(f) for f in frames]
    got = dict(iter_frames(path, frames, progress=progress))
    missing = [f for f in frames if f not in got]
    if missing:
        raise MediaError(f"frame {missing[0]} could not be decoded", path=path, frame=missing[0])
    return np.stack([got[f] for f in frames])
