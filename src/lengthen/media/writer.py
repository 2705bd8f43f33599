"""Write editorial media: ProRes 422 HQ .mov by default (DNxHR HQ, DNxHR HQX 10-bit and H.264 as options).

Every file gets the exact rational rate, the source's frame size and pixel aspect (a ``pasp`` atom,
1:1 included), its field order (``fiel``, ProRes), its colour tags (primaries, transfer, matrix,
range: ``colr`` and the bitstream), its display rotation, a QuickTime timecode track starting where
we are told (so an extension continues the source's timecode) and a reel name.

Orientation policy: media is written in the source's **stored** orientation with the source's
rotation metadata, so generated, spliced and source files all play the same way up. Callers hand
:meth:`VideoWriter.write` upright frames (as the reader returns them) and the writer turns them back
to the stored raster; :meth:`VideoWriter.write_source` copies decoded source frames as stored, at
their full bit depth (no 8-bit RGB step).

Files are written to a hidden temporary name in the target folder and renamed when complete; an
exception or cancellation removes the temporary file, and input files are never overwritten.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import MediaError, UsageError
from ..fsutil import makedirs, partial_name, record_created
from ..timecode import frame_to_pts, parse_rate, timecode_to_frames
from .color import ColorTags, convert_frame, rgb_to_frame
from .probe import FIELD_ORDERS, assert_not_input


@dataclass(frozen=True)
class CodecPreset:
    name: str
    codec: str
    pix_fmt: str
    options: dict
    extension: str
    container: str
    full_range: bool = False  # can carry full-range YUV (else a full-range source is scaled to video range)
    min_size: tuple = (1, 1)  # smallest (width, height) the encoder takes


CODECS: dict[str, CodecPreset] = {
    "prores": CodecPreset(
        "ProRes 422 HQ", "prores_ks", "yuv422p10le", {"profile": "3", "vendor": "apl0"}, ".mov", "mov"
    ),
    "dnxhr": CodecPreset("DNxHR HQ", "dnxhd", "yuv422p", {"profile": "dnxhr_hq"}, ".mov", "mov", min_size=(256, 120)),
    "dnxhr-hqx": CodecPreset(
        "DNxHR HQX 10-bit", "dnxhd", "yuv422p10le", {"profile": "dnxhr_hqx"}, ".mov", "mov", min_size=(256, 120)
    ),
    "h264": CodecPreset("H.264", "libx264", "yuv420p", {"crf": "12", "preset": "medium"}, ".mov", "mov", True),
}


def available_codecs() -> dict[str, bool]:
    """Which of our codec presets this PyAV/FFmpeg build can encode (for ``lengthen doctor``)."""
    import av

    have = set(av.codecs_available)
    return {key: preset.codec in have for key, preset in CODECS.items()}


def check_format(codec: str, width: int, height: int, path=None) -> CodecPreset:
    """Refuse, before any work, a codec that cannot carry this frame size (one line naming the file)."""
    if codec not in CODECS:
        raise UsageError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    preset = CODECS[codec]
    if (width % 2 or height % 2) and preset.pix_fmt.startswith("yuv420"):
        raise MediaError(
            f"frame size {width}x{height} is odd; {preset.name} needs even sizes: use --codec prores or dnxhr",
            path=path,
        )
    min_w, min_h = preset.min_size
    if width < min_w or height < min_h:
        raise MediaError(
            f"frame size {width}x{height} is below {preset.name}'s smallest, {min_w}x{min_h}: use --codec prores",
            path=path,
        )
    return preset


def output_color(preset: CodecPreset, source: ColorTags) -> ColorTags:
    """The tags a file of ``preset`` gets for a source with ``source`` tags (resolved): the same,
    except full range where the codec has only video range (ProRes, DNxHR), which is scaled."""
    if source.range == 2 and not preset.full_range:
        return replace(source, range=1)
    return source


_REEL_OK = re.compile(r"[^A-Za-z0-9_]")


def reel_name(text: str, limit: int = 8) -> str:
    """A short ASCII reel name (NLEs and EDLs keep 8 characters)."""
    cleaned = _REEL_OK.sub("", text.upper())
    return (cleaned or "LENGTHEN")[:limit]


class VideoWriter:
    """Context manager: ``with VideoWriter(path, ...) as w: w.write(frames)``.

    ``frames`` are uint8 RGB ``(H, W, 3)`` or ``(T, H, W, 3)``, upright (``rotation`` applied).
    ``width``/``height`` are the stored raster; ``rotation`` (degrees counter-clockwise, as
    :class:`~lengthen.media.probe.MediaInfo` reports it) is written as display metadata.
    ``start_timecode`` is the timecode of the first frame written (``;`` for drop-frame at 29.97/59.94).
    ``color`` are the source's colour tags (resolved: untagged HD as BT.709, SD as BT.601; full range is
    scaled to video range for codecs without a full-range flag, see :func:`output_color`);
    ``field_order`` one of ``progressive``, ``tt``, ``bb``, ``tb``, ``bt`` (or None: not tagged).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        rate,
        width: int,
        height: int,
        codec: str = "prores",
        start_timecode: str = "00:00:00:00",
        reel: str | None = None,
        sar: str | Fraction = "1:1",
        protect: Sequence[str | Path] = (),
        overwrite: bool = False,
        metadata: dict | None = None,
        audio: tuple[int, str] | None = None,
        rotation: int = 0,
        color: ColorTags | None = None,
        field_order: str | None = None,
    ) -> None:
        self.preset = check_format(codec, width, height, path)
        self.path = Path(path)
        if self.path.suffix.lower() != self.preset.extension:
            raise UsageError(f"{self.preset.name} is written as {self.preset.extension}, not {self.path.suffix!r}")
        assert_not_input(self.path, protect)
        if self.path.exists() and not overwrite:
            raise MediaError("output exists; refusing to overwrite", path=self.path)
        if int(rotation) % 90:
            raise MediaError(f"display rotation {rotation} is not a multiple of 90 degrees", path=self.path)
        self.rotation = int(rotation) % 360
        self.source_color = (color or ColorTags()).resolved(width, height)
        self.color = output_color(self.preset, self.source_color)
        if field_order not in (None, *FIELD_ORDERS):
            raise UsageError(f"unknown field order {field_order!r}; choose one of {', '.join(FIELD_ORDERS)}")
        self.field_order = field_order
        self.rate = parse_rate(rate)
        timecode_to_frames(start_timecode, self.rate)  # validates
        self.width, self.height = int(width), int(height)
        self.start_timecode = start_timecode
        self.reel = reel_name(reel or self.path.stem)
        self.sar = Fraction(str(sar).replace(":", "/"))
        self.metadata = dict(metadata or {})
        self.frames_written = 0
        self.audio = audio  # (sample_rate, layout): a PCM 24-bit stream for write_audio()
        self.samples_written = 0
        self._audio_stream = None
        self._tmp = partial_name(self.path)
        self._container = None
        self._stream = None

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> "VideoWriter":
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def open(self) -> None:
        import av

        makedirs(self.path.parent)
        try:
            self._container = av.open(str(self._tmp), "w", format=self.preset.container)
            stream = self._container.add_stream(self.preset.codec, rate=self.rate)
            stream.width, stream.height = self.width, self.height
            stream.pix_fmt = self.preset.pix_fmt
            stream.options = dict(self.preset.options)
            stream.codec_context.thread_type = "AUTO"  # slice/frame threads: ProRes is CPU-bound
            stream.codec_context.thread_count = 0
            stream.time_base = Fraction(1) / self.rate
            cc = stream.codec_context
            cc.sample_aspect_ratio = self.sar  # always, so the mov gets a pasp atom (1:1 too)
            self.color.apply_to(cc)
            if self.field_order is not None:
                cc.field_order = FIELD_ORDERS[self.field_order]
            if self.rotation:
                stream.set_display_rotation(self.rotation)
            stream.metadata["timecode"] = self.start_timecode
            stream.metadata["reel_name"] = self.reel
            for key, value in self.metadata.items():
                self._container.metadata[key] = str(value)
            self._stream = stream
            if self.audio is not None:
                self._audio_stream = self._container.add_stream(
                    "pcm_s24le", rate=int(self.audio[0]), layout=self.audio[1]
                )
                self._audio_stream.time_base = Fraction(1, int(self.audio[0]))
        except Exception as exc:
            self.abort()
            raise MediaError(f"cannot open for writing ({exc})", path=self.path) from None

    @property
    def upright_shape(self) -> tuple[int, int]:
        """(height, width) of the upright frames :meth:`write` takes."""
        return (self.width, self.height) if self.rotation in (90, 270) else (self.height, self.width)

    def write(self, frames: np.ndarray) -> None:
        """Write upright uint8 RGB frames (converted with the output's matrix and range)."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        h, w = self.upright_shape
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (h, w, 3):
            raise MediaError(
                f"expected uint8 frames of shape (T, {h}, {w}, 3), got {frames.dtype} {frames.shape}",
                path=self.path,
                frame=self.frames_written,
            )
        turns = self.rotation // 90
        for rgb in frames:
            stored = np.rot90(rgb, k=-turns) if turns else rgb  # back to the stored raster
            self._encode(rgb_to_frame(stored, self.preset.pix_fmt, self.color))

    def write_source(self, frame, tags: ColorTags | None = None) -> None:
        """Copy one decoded source frame (a PyAV frame, stored orientation) at its full bit depth.
        ``tags``: the frame's colour tags as its file gives them (see ``reader.file_tags``)."""
        if (frame.width, frame.height) != (self.width, self.height):
            raise MediaError(
                f"source frame is {frame.width}x{frame.height}, the output {self.width}x{self.height}",
                path=self.path,
                frame=self.frames_written,
            )
        if tags is None:
            tags = ColorTags.of(frame)
            tags = self.source_color if tags == ColorTags() else tags.resolved(frame.width, frame.height)
        self._encode(convert_frame(frame, self.preset.pix_fmt, self.color, tags))

    def _encode(self, frame) -> None:
        # frames are stamped in the encoder's time base, one tick per frame (1 / rate)
        frame.pts = frame_to_pts(self.frames_written, self.rate, Fraction(1) / self.rate)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def write_audio(self, samples: np.ndarray) -> None:
        """Append float samples ``(channels, n)`` in [-1, 1] to the PCM 24-bit stream."""
        import av

        if self._audio_stream is None:
            raise MediaError("this writer was opened without an audio stream", path=self.path)
        samples = np.asarray(samples, np.float32)
        channels = len(self._audio_stream.codec_context.layout.channels)
        if samples.ndim != 2 or samples.shape[0] != channels:
            raise MediaError(f"expected audio of shape ({channels}, n), got {samples.shape}", path=self.path)
        # 24-bit values in the top bytes of 32-bit words (the s32 layout pcm_s24le takes)
        pcm = np.round(np.clip(samples, -1.0, 1.0) * 8388607.0).astype(np.int32) << 8
        for i in range(0, samples.shape[1], 4096):
            chunk = np.ascontiguousarray(pcm[:, i : i + 4096].T).reshape(1, -1)  # interleaved
            frame = av.AudioFrame.from_ndarray(chunk, format="s32", layout=self._audio_stream.codec_context.layout)
            frame.sample_rate = int(self.audio[0])
            frame.pts = self.samples_written
            for packet in self._audio_stream.encode(frame):
                self._container.mux(packet)
            self.samples_written += chunk.shape[1] // channels

    def close(self) -> Path:
        if self._container is None:
            return self.path
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            if self._audio_stream is not None:
                for packet in self._audio_stream.encode():
                    self._container.mux(packet)
            self._container.close()
            self._container = None
            if self.frames_written == 0:
                raise MediaError("no frames were written", path=self.path)
            os.replace(self._tmp, self.path)
            record_created(self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:
                pass
            self._container = None
        try:
            self._tmp.unlink()
        except FileNotFoundError:
            pass


def write_video(path: str | Path, frames: Iterable[np.ndarray] | np.ndarray, *, progress=None, **kwargs) -> Path:
    """Write frames (an array ``(T, H, W, 3)`` or an iterable of arrays/chunks) in one call."""
    if isinstance(frames, np.ndarray):
        first = frames
        chunks: Iterable[np.ndarray] = [frames]
    else:
        chunks = iter(frames)
        first = next(chunks, None)
        if first is None:
            raise MediaError("no frames to write", path=path)
        chunks = _prepend(first, chunks)
    first = np.asarray(first)
    h, w = first.shape[-3:-1]
    if int(kwargs.get("rotation", 0)) % 180 == 90:
        h, w = w, h  # upright frames of a file stored on its side
    kwargs.setdefault("width", w)
    kwargs.setdefault("height", h)
    with VideoWriter(path, **kwargs) as writer:
        for chunk in chunks:
            if progress is not None:
                progress.check()
            writer.write(chunk)
            if progress is not None:
                progress.report("encode", writer.frames_written, None)
    return writer.path


def _prepend(first, rest):
    yield first
    yield from rest


def versioned_path(folder: str | Path, stem: str, suffix: str = ".mov", start: int = 1) -> Path:
    """``folder/stem_v001.mov``, or the next free version. Names are ASCII-safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "lengthen"
    folder = Path(folder)
    version = start
    while True:
        candidate = folder / f"{safe}_v{version:03d}{suffix}"
        if not candidate.exists():
            return candidate
        version += 1


__all__ = [
    "CODECS",
    "VideoWriter",
    "available_codecs",
    "check_format",
    "output_color",
    "reel_name",
    "versioned_path",
    "write_video",
]
