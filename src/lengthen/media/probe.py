"""Probe a media file: what an editor needs to know, exactly.

The frame index is built by demuxing (no decoding): every video packet's pts, sorted, is one
frame in display order. That index makes frame ``i`` mean the same thing for the reader, the
probe's frame count and the timeline, on constant- and variable-rate files alike.

Variable frame rate: the nominal rate is found from the timestamps (the shortest common frame
duration, snapped to a standard editing rate) and the stream's real frame rate. The file is then
*conformed* to that rate the way an editing system plays it: frame ``i`` is the frame shown at
slot ``i`` of the nominal rate, a slot with no frame of its own repeats the previous one
(``repeated_frames``), and a second frame in one slot is left out (``dropped_frames``). Timing too
irregular to conform (long gaps, most slots empty, many frames colliding) is reported in
``vfr_refusal`` and extend refuses it with the command to transcode to a constant rate.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import MediaError
from ..fsutil import file_stamp
from ..timecode import frames_to_timecode, is_drop_frame_timecode, parse_rate, rate_str, snap_rate, timecode_to_frames
from .color import ColorTags, hdr_warning

# AVFieldOrder values by the names ffprobe prints
FIELD_ORDERS = {"progressive": 1, "tt": 2, "bb": 3, "tb": 4, "bt": 5}
_FIELD_NAMES = {v: k for k, v in FIELD_ORDERS.items()}
STANDARD_RATES = tuple(
    Fraction(r)
    for r in ("24000/1001", "24", "25", "30000/1001", "30", "48000/1001", "48", "50", "60000/1001", "60", "100")
) + (Fraction(120000, 1001), Fraction(120))


@dataclass(frozen=True)
class MediaInfo:
    path: str
    codec: str
    width: int  # stored
    height: int
    display_width: int  # after rotation and pixel aspect
    display_height: int
    rotation: int  # display rotation, degrees counter-clockwise (FFmpeg's display matrix), 0/90/180/270
    sar: str  # "1:1"
    fps: str  # exact, "30000/1001"
    vfr: bool
    frames: int
    duration_s: float
    start_timecode: str
    pix_fmt: str
    has_audio: bool
    container: str
    reel: str | None = None
    color_primaries: str = "unknown"  # as the file tags them (ffprobe's names); see color_tags for the resolved
    color_transfer: str = "unknown"
    color_space: str = "unknown"
    color_range: str = "unknown"
    field_order: str = "unknown"  # progressive, tt, bb, tb, bt (or unknown)
    bit_depth: int = 8
    stream_frames: int = 0  # frames in the stream (differs from ``frames`` on a conformed VFR file)
    average_fps: str = ""  # the stream's average rate (frames / duration)
    repeated_frames: int = 0  # VFR conform: slots filled by repeating the previous frame
    dropped_frames: int = 0  # VFR conform: frames left out (a second frame in one slot)
    vfr_refusal: str | None = None  # why the timing is too irregular to conform

    @property
    def rate(self) -> Fraction:
        return Fraction(self.fps)

    @property
    def start_frame(self) -> int:
        """The source timecode of frame 0, as a frame count at this file's rate."""
        return timecode_to_frames(self.start_timecode, self.rate)

    @property
    def drop_frame(self) -> bool:
        return is_drop_frame_timecode(self.start_timecode)

    @property
    def color_tags(self) -> ColorTags:
        """The colour tags to decode and write with (untagged HD as BT.709, SD as BT.601)."""
        return ColorTags.from_names(
            self.color_primaries, self.color_transfer, self.color_space, self.color_range
        ).resolved(self.width, self.height, self.pix_fmt)

    @property
    def interlaced(self) -> bool:
        return self.field_order in ("tt", "bb", "tb", "bt")

    def notes(self) -> list[str]:
        """Lines an editor should read about this source (conform, HDR)."""
        out = []
        if self.vfr and not self.vfr_refusal:
            out.append(
                f"variable frame rate (average {self.average_fps} fps) conformed to {self.fps} fps: "
                f"{self.repeated_frames} frames repeated, {self.dropped_frames} dropped; "
                "generated media and timecode are at the nominal rate"
            )
        warning = hdr_warning(self.color_tags)
        if warning:
            out.append(warning)
        return out

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FrameIndex:
    """Display-order pts of every frame of the first video stream, in stream time_base units."""

    pts: np.ndarray  # (frames,) int64, sorted (a conformed VFR index repeats a pts for a repeated frame)
    keyframe: np.ndarray  # (frames,) bool: the packet carrying this pts is a keyframe
    time_base: Fraction
    rate: Fraction | None = None  # nominal rate of a conformed VFR file (None: constant rate)
    stream_frames: int = 0
    repeated: int = 0
    dropped: int = 0
    refusal: str | None = None

    def __len__(self) -> int:
        return int(self.pts.shape[0])


def open_container(path: str | Path):
    """Open a file with PyAV, turning every failure into a MediaError naming the file."""
    import av

    from ..guards import check_regular_file

    p = check_regular_file(path, "media file", MediaError)  # never opens a FIFO or a device
    try:
        container = av.open(str(p), "r")
    except Exception as exc:  # PyAV raises a family of FFmpegError / InvalidDataError
        raise MediaError(f"not a readable media file ({exc.__class__.__name__}: {_ffmsg(exc)})", path=p) from None
    if not container.streams.video:
        container.close()
        raise MediaError("has no video stream", path=p)
    return container


def _ffmsg(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__


_INDEX_CACHE: dict[tuple, FrameIndex] = {}
_INDEX_LOCK = threading.Lock()


def _per_file(cache: dict, path: Path, read):
    """``read(path)``, kept in ``cache`` for the process under the file's :func:`file_stamp` (a file
    that is not a regular one is read every time, and fails there)."""
    key = file_stamp(path)
    with _INDEX_LOCK:
        if key in cache:
            return cache[key]
    value = read(path)
    if key is not None:
        with _INDEX_LOCK:
            cache[key] = value
    return value


def frame_index(path: str | Path) -> FrameIndex:
    """Demux the file once (cached per path, size and mtime) and return its frame index."""
    return _per_file(_INDEX_CACHE, Path(path), _read_index)


def _read_index(p: Path) -> FrameIndex:
    container = open_container(p)
    try:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base)
        rates = [Fraction(r) for r in (stream.average_rate, stream.base_rate, stream.guessed_rate) if r]
        listed = int(stream.frames or 0) if "mp4" in container.format.name or "mov" in container.format.name else 0
        pts, key_flags, data_end = [], [], []
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # flush packet
                t = packet.pts if packet.pts is not None else packet.dts
                if t is None:
                    continue
                pts.append(t)
                key_flags.append(bool(packet.is_keyframe))
                pos = packet.pos
                data_end.append(pos + packet.size if pos is not None and pos >= 0 else 0)
        except Exception as exc:
            raise MediaError(f"file is damaged or truncated ({_ffmsg(exc)})", path=p) from None
    finally:
        container.close()
    if not pts:
        raise MediaError("video stream has no frames", path=p)
    _check_not_truncated(p, data_end, listed)
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    index = FrameIndex(
        pts=np.asarray(pts, dtype=np.int64)[order],
        keyframe=np.asarray(key_flags, dtype=bool)[order],
        time_base=time_base,
        stream_frames=len(pts),
    )
    return _conform(index, rates)


def _standard_rate(rate: Fraction) -> Fraction | None:
    """The standard editing rate within 1.5% of ``rate``, or None."""
    best = min(STANDARD_RATES, key=lambda r: abs(r - rate))
    return best if abs(best - rate) <= best * Fraction(15, 1000) else None


def nominal_rate(pts: np.ndarray, time_base: Fraction, stream_rates=()) -> Fraction | None:
    """The rate a variable-rate stream was shot at: its shortest common frame duration (10th percentile
    of the timestamp steps) as a standard rate, else the stream's real frame rate if standard."""
    steps = np.diff(pts)
    steps = steps[steps > 0]
    if len(steps):
        short = Fraction(int(np.percentile(steps, 10, method="lower"))) * time_base
        found = _standard_rate(1 / short) if short > 0 else None
        if found:
            return found
    for r in stream_rates:
        found = _standard_rate(snap_rate(Fraction(r)))
        if found:
            return found
    return None


def _nearest_slots(ticks: np.ndarray, step: Fraction) -> np.ndarray:
    """The slot of each frame, ``floor(ticks * step + 1/2)`` for integer ``ticks`` (pts since the first
    frame) and ``step`` (slots per tick), exact in integers (no float seconds). A frame exactly half-way
    between two slots takes the later one, like every other rounding of a frame position in lengthen,
    so a run of frames offset by half a frame stays a run (no slot taken twice, none skipped)."""
    num, den = step.numerator, step.denominator
    return np.asarray([(2 * t * num + den) // (2 * den) for t in ticks.tolist()], dtype=np.int64)


def _conform(index: FrameIndex, stream_rates) -> FrameIndex:
    """A variable-rate index conformed to its nominal rate (or marked refused); constant rate unchanged."""
    n = len(index)
    if n < 3:
        return index
    average = snap_rate(Fraction(n - 1) / (Fraction(int(index.pts[-1] - index.pts[0])) * index.time_base or 1))
    if not _is_vfr(index, average):
        return index
    rate = nominal_rate(index.pts, index.time_base, stream_rates)
    if rate is None:
        return replace(index, refusal="its frame timing has no standard nominal rate")
    slots = _nearest_slots(index.pts - index.pts[0], index.time_base * rate)
    first_of, first_idx = np.unique(slots, return_index=True)
    total = int(slots[-1]) + 1
    repeated, dropped = total - len(first_of), n - len(first_of)
    gap = int(np.diff(first_of).max()) if len(first_of) > 1 else 1
    refusal = None
    if gap > rate:
        refusal = f"a gap of {gap - 1} missing frames (over 1 second) at {rate_str(rate)} fps"
    elif repeated * 2 > total:
        refusal = f"{repeated} of {total} frames at {rate_str(rate)} fps would be repeats"
    elif dropped * 10 > n:
        refusal = f"{dropped} of {n} frames share a {rate_str(rate)} fps slot with another"
    if refusal:
        return replace(index, refusal=refusal, rate=rate)
    pick = first_idx[np.searchsorted(first_of, np.arange(total), side="right") - 1]  # (slots,) stream frame
    return replace(
        index, pts=index.pts[pick], keyframe=index.keyframe[pick], rate=rate, repeated=repeated, dropped=dropped
    )


_TAGS_CACHE: dict[tuple, ColorTags] = {}


def stream_color_tags(path: str | Path) -> ColorTags:
    """The colour tags the container gives the first video stream (``colr``), as stored (cached).

    Some bitstreams carry their own (DNxHR can only say BT.709 or BT.2020): the container's win,
    as in editing systems, and the bitstream's fill in what the container leaves untagged."""
    return _per_file(_TAGS_CACHE, Path(path), _read_tags)


def _read_tags(p: Path) -> ColorTags:
    container = open_container(p)
    try:
        return ColorTags.of(container.streams.video[0].codec_context)
    finally:
        container.close()


def _check_not_truncated(path: Path, data_end: list[int], listed: int) -> None:
    """A file whose index (an MP4/MOV ``moov`` at the front) lists more frames than its data holds was
    cut short (an interrupted copy or download): refuse it instead of probing it as fine."""
    size = path.stat().st_size
    beyond = [i for i, end in enumerate(data_end) if end > size]
    have = beyond[0] if beyond else len(data_end)
    if beyond or (listed and have < listed):
        raise MediaError(
            f"file is truncated: its index lists {max(listed, len(data_end))} frames but only {have} are in "
            f"the file ({size} bytes); the rest is missing",
            path=path,
            frame=have,
        )


def _start_timecode(container, stream) -> str | None:
    for meta in (stream.metadata, container.metadata):
        tc = meta.get("timecode")
        if tc:
            return tc
    for s in container.streams:
        if s.type == "data" or getattr(s, "codec_context", None) is None:
            tc = s.metadata.get("timecode")
            if tc:
                return tc
    return None


def container_reel(container) -> str | None:
    """The reel name an open PyAV container carries: a stream's ``reel_name``/``reel`` tag, else
    the container's ``reel_name``."""
    for s in container.streams:
        for key in ("reel_name", "reel"):
            if s.metadata.get(key):
                return s.metadata[key]
    return container.metadata.get("reel_name")


def probe(path: str | Path) -> MediaInfo:
    """Everything ``lengthen probe`` reports. Raises MediaError naming the file on bad input."""
    p = Path(path)
    index = frame_index(p)
    container = open_container(p)
    try:
        stream = container.streams.video[0]
        cc = stream.codec_context
        average = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not average and index.rate is None:
            raise MediaError("video stream has no frame rate", path=p)
        average = snap_rate(Fraction(average)) if average else index.rate
        rate = index.rate or average
        rotation, pix_fmt = 0, cc.pix_fmt or ""
        tags, field = ColorTags.of(cc), int(getattr(cc, "field_order", 0) or 0)
        try:
            for frame in container.decode(stream):
                rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
                pix_fmt = frame.format.name
                tags = tags.merged(ColorTags.of(frame))  # the container's (colr) first, the bitstream's fill in
                if not field and getattr(frame, "interlaced_frame", False):
                    field = 2 if frame.top_field_first else 3
                break
        except Exception as exc:
            raise MediaError(f"first frame does not decode ({_ffmsg(exc)})", path=p) from None
        width, height = cc.width, cc.height
        sar = Fraction(stream.sample_aspect_ratio or cc.sample_aspect_ratio or 1)
        if sar <= 0:
            sar = Fraction(1)
        disp_w, disp_h = round(width * sar), height
        if rotation in (90, 270):
            disp_w, disp_h = disp_h, disp_w
        tc = _start_timecode(container, stream)
        try:
            start_tc = tc if tc and (parse_rate(rate) and timecode_to_frames(tc, rate) >= 0) else None
        except Exception:
            start_tc = None
        if start_tc is None:
            start_tc = frames_to_timecode(0, rate)
        if container.duration:
            duration = container.duration / 1_000_000
        else:
            duration = float(len(index) / rate)
        return MediaInfo(
            path=str(p),
            codec=cc.name,
            width=width,
            height=height,
            display_width=disp_w,
            display_height=disp_h,
            rotation=rotation,
            sar=f"{sar.numerator}:{sar.denominator}",
            fps=rate_str(rate),
            vfr=index.rate is not None or index.refusal is not None or _is_vfr(index, rate),
            frames=len(index),
            duration_s=round(duration, 6),
            start_timecode=start_tc,
            pix_fmt=pix_fmt,
            has_audio=bool(container.streams.audio),
            container=container.format.name,
            reel=container_reel(container),
            **tags.names(),
            field_order=_FIELD_NAMES.get(field, "unknown"),
            bit_depth=_bit_depth(pix_fmt),
            stream_frames=index.stream_frames or len(index),
            average_fps=rate_str(average),
            repeated_frames=index.repeated,
            dropped_frames=index.dropped,
            vfr_refusal=index.refusal,
        )
    finally:
        container.close()


def _bit_depth(pix_fmt: str) -> int:
    import re

    m = re.search(r"p(\d+)(le|be)?$", pix_fmt)
    return int(m.group(1)) if m else (16 if "48" in pix_fmt or "64" in pix_fmt else 8)


def _is_vfr(index: FrameIndex, rate: Fraction) -> bool:
    """True when frame durations vary by more than timestamp rounding (1 ms or 1 tick)."""
    if len(index) < 3:
        return False
    deltas = np.diff(index.pts).astype(np.float64) * float(index.time_base)  # seconds
    nominal = 1.0 / float(rate)
    tick = float(index.time_base)
    tolerance = max(0.0011, nominal * 0.05, tick * 1.01 if tick < nominal / 4 else 0.0)
    return bool(np.any(np.abs(deltas - nominal) > tolerance))


def assert_not_input(path: Path, protect) -> None:
    """Refuse to write over any of ``protect`` (input media, input timelines)."""
    target = Path(path).resolve()
    for item in protect or ():
        try:
            if Path(item).resolve() == target or (target.exists() and os.path.samefile(target, item)):
                raise MediaError("refusing to overwrite an input file", path=path)
        except FileNotFoundError:
            continue
