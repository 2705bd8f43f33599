"""A media file's first audio stream on the picture's sample line.

Frame ``f`` of a file (0-based, display order, possibly outside the file for generated frames)
starts at ``v0 + f / rate`` seconds, ``v0`` being the first video frame's presentation time; its
first audio sample is ``floor((v0 + f / rate) * sample_rate)`` counted from the container's time
zero (:func:`frame_sample`). A run of ``n`` frames from ``f`` therefore gets exactly
``frame_sample(f + n) - frame_sample(f)`` samples: never more than one sample away from
``n * sample_rate / rate``, and runs laid end to end add up exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import MediaError


@dataclass(frozen=True)
class SourceAudio:
    """Samples ``(channels, n)`` float32 in [-1, 1], starting at absolute sample ``start``."""

    samples: np.ndarray
    sample_rate: int
    layout: str  # FFmpeg channel layout name: "mono", "stereo", "5.1" ...
    start: int  # absolute sample index (container time zero) of samples[:, 0]
    video_start: Fraction  # presentation time of the first video frame, seconds
    rate: Fraction  # the picture's frame rate
    codec: str = ""

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    def frame_sample(self, frame: int) -> int:
        return frame_sample(frame, self.rate, self.sample_rate, self.video_start)

    def slice(self, first: int, stop: int) -> np.ndarray:
        """Samples ``[first, stop)`` (absolute), zero where the stream has none."""
        out = np.zeros((self.channels, max(0, stop - first)), np.float32)
        a, b = max(first, self.start), min(stop, self.start + self.samples.shape[1])
        if b > a:
            out[:, a - first : b - first] = self.samples[:, a - self.start : b - self.start]
        return out


def frame_sample(frame: int, rate, sample_rate: int, video_start=Fraction(0)) -> int:
    """The absolute sample index where video frame ``frame`` starts (exact; see module doc)."""
    return math.floor((Fraction(video_start) + Fraction(frame) / Fraction(rate)) * sample_rate)


def audio_for_frames(first_frame: int, frames: int, rate, sample_rate: int, video_start=Fraction(0)) -> int:
    """How many samples a run of ``frames`` frames starting at ``first_frame`` gets."""
    return frame_sample(first_frame + frames, rate, sample_rate, video_start) - frame_sample(
        first_frame, rate, sample_rate, video_start
    )


def read_audio(path: str | Path, first_frame: int, last_frame: int, rate, margin_s: float = 0.0) -> SourceAudio | None:
    """The first audio stream of ``path`` from video frame ``first_frame`` to the end of
    ``last_frame`` (plus ``margin_s`` seconds either side), or ``None`` when it has no audio."""
    import av

    from ..media.probe import _ffmsg, frame_index, open_container

    p = Path(path)
    index = frame_index(p)
    video_start = Fraction(int(index.pts[0])) * index.time_base
    rate = Fraction(rate)
    container = open_container(p)
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        sr = int(stream.codec_context.sample_rate or stream.rate or 0)
        if sr <= 0:
            raise MediaError("audio stream has no sample rate", path=p)
        layout = stream.codec_context.layout.name if stream.codec_context.layout else "stereo"
        channels = int(stream.codec_context.channels or len(stream.codec_context.layout.channels))
        margin = int(round(margin_s * sr))
        want0 = max(0, frame_sample(first_frame, rate, sr, video_start) - margin)
        want1 = frame_sample(last_frame + 1, rate, sr, video_start) + margin
        buf = np.zeros((channels, max(0, want1 - want0)), np.float32)
        tb = Fraction(stream.time_base)
        seek_s = max(0.0, want0 / sr - 1.0)
        try:
            if seek_s > 0:
                container.seek(int(seek_s / tb), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                _place(buf, want0, frame, Fraction(frame.time_base or tb), sr)
                if frame.pts * tb > Fraction(want1, sr) + 1:
                    break
        except av.error.FFmpegError as exc:
            raise MediaError(f"audio does not decode ({_ffmsg(exc)})", path=p) from None
        return SourceAudio(buf, sr, layout, want0, video_start, rate, stream.codec_context.name)
    finally:
        container.close()


def to_float(frame) -> np.ndarray:
    """An audio frame as float32 ``(channels, n)`` in [-1, 1], whatever its sample format."""
    fmt = frame.format
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not fmt.is_planar:
        data = data.reshape(-1, channels).T  # (1, n * c) interleaved -> (c, n)
    if data.dtype.kind == "f":
        return data.astype(np.float32)
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    return data.astype(np.float32) / float(2 ** (8 * data.dtype.itemsize - 1))


def _place(buf: np.ndarray, want0: int, frame, tb: Fraction, sr: int) -> None:
    data = to_float(frame)  # (channels, n)
    start = round(frame.pts * tb * sr)
    a, b = max(start, want0), min(start + data.shape[1], want0 + buf.shape[1])
    if b > a:
        buf[: data.shape[0], a - want0 : b - want0] = data[:, a - start : b - start]
