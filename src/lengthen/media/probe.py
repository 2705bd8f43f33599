"""Probe a media file: what an editor needs to know, exactly.

The frame index is built by demuxing (no decoding): every video packet's pts, sorted, is one
frame in display order. That index makes frame ``i`` mean the same thing for the reader, the
probe's frame count and the timeline, on constant- and variable-rate files alike.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import MediaError
from ..timecode import frames_to_timecode, is_drop_frame_timecode, parse_rate, rate_str, snap_rate, timecode_to_frames


@dataclass(frozen=True)
class MediaInfo:
    path: str
    codec: str
    width: int  # stored
    height: int
    display_width: int  # after rotation and pixel aspect
    display_height: int
    rotation: int  # degrees, clockwise, as the file asks players to rotate
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

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FrameIndex:
    """Display-order pts of every frame of the first video stream, in stream time_base units."""

    pts: np.ndarray  # (frames,) int64, sorted
    keyframe: np.ndarray  # (frames,) bool: the packet carrying this pts is a keyframe
    time_base: Fraction

    def __len__(self) -> int:
        return int(self.pts.shape[0])


def open_container(path: str | Path):
    """Open a file with PyAV, turning every failure into a MediaError naming the file."""
    import av

    p = Path(path)
    if not p.exists():
        raise MediaError("file not found", path=p)
    if p.is_dir():
        raise MediaError("is a directory, not a media file", path=p)
    if p.stat().st_size == 0:
        raise MediaError("file is empty (0 bytes)", path=p)
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


def _cache_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def frame_index(path: str | Path) -> FrameIndex:
    """Demux the file once (cached per path, size and mtime) and return its frame index."""
    p = Path(path)
    key = _cache_key(p) if p.is_file() else None
    with _INDEX_LOCK:
        if key in _INDEX_CACHE:
            return _INDEX_CACHE[key]
    container = open_container(p)
    try:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base)
        pts, key_flags = [], []
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # flush packet
                t = packet.pts if packet.pts is not None else packet.dts
                if t is None:
                    continue
                pts.append(t)
                key_flags.append(bool(packet.is_keyframe))
        except Exception as exc:
            raise MediaError(f"file is damaged or truncated ({_ffmsg(exc)})", path=p) from None
    finally:
        container.close()
    if not pts:
        raise MediaError("video stream has no frames", path=p)
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    index = FrameIndex(
        pts=np.asarray(pts, dtype=np.int64)[order],
        keyframe=np.asarray(key_flags, dtype=bool)[order],
        time_base=time_base,
    )
    if key is not None:
        with _INDEX_LOCK:
            _INDEX_CACHE[key] = index
    return index


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


def _reel(container, stream) -> str | None:
    for s in list(container.streams) + [stream]:
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
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise MediaError("video stream has no frame rate", path=p)
        rate = snap_rate(Fraction(rate))
        rotation, pix_fmt = 0, cc.pix_fmt or ""
        try:
            for frame in container.decode(stream):
                rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
                pix_fmt = frame.format.name
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
            vfr=_is_vfr(index, rate),
            frames=len(index),
            duration_s=round(duration, 6),
            start_timecode=start_tc,
            pix_fmt=pix_fmt,
            has_audio=bool(container.streams.audio),
            container=container.format.name,
            reel=_reel(container, stream),
        )
    finally:
        container.close()


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
