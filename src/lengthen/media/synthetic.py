"""Test footage: short clips made from still photos (slow pan/zoom) and frame-stamped clips.

Frame-stamped clips draw each frame's own index as a row of large black/white blocks (16 bits,
plus a start and an end marker), which survive any of our codecs, so a test can prove that the
reader returned exactly the frames asked for. Used by tests, benchmarks and the demo.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ..timecode import parse_rate

STAMP_BITS = 16

# codec key -> (FFmpeg encoder, pix_fmt, options, container format, suffix)
ENCODERS = {
    "h264": ("libx264", "yuv420p", {"preset": "veryfast", "bf": "3", "crf": "18", "g": "12"}, "mp4", ".mp4"),
    "hevc": (
        "libx265",
        "yuv420p",
        {"preset": "ultrafast", "x265-params": "log-level=error:bframes=3:keyint=12"},
        "mp4",
        ".mp4",
    ),
    "prores": ("prores_ks", "yuv422p10le", {"profile": "3"}, "mov", ".mov"),
    "vp8": ("libvpx", "yuv420p", {"deadline": "realtime", "g": "12"}, "webm", ".webm"),
    "mpeg4": ("mpeg4", "yuv420p", {"bf": "2", "g": "12", "qscale": "3"}, "avi", ".avi"),
}


def color_bars(height: int = 96, width: int = 160) -> np.ndarray:
    """75% SMPTE-style bars (white, yellow, cyan, green, magenta, red, blue, black), uint8 RGB.

    Bar edges fall on even columns, so 4:2:0 and 4:2:2 chroma never straddles two bars."""
    bars = np.array(
        [[191, 191, 191], [191, 191, 0], [0, 191, 191], [0, 191, 0]]
        + [[191, 0, 191], [191, 0, 0], [0, 0, 191], [16, 16, 16]],
        dtype=np.uint8,
    )
    bar = max(2, (width // 8) // 2 * 2)
    columns = np.minimum(np.arange(width) // bar, 7)
    return np.ascontiguousarray(np.broadcast_to(bars[columns][None], (height, width, 3)))


def stamp_frame(index: int, height: int = 96, width: int = 160, seed: int = 0) -> np.ndarray:
    """A uint8 RGB frame whose top band encodes ``index``; the rest is a moving texture."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, size=(height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    frame = np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))[:height, :width].copy()
    frame = np.roll(frame, shift=index * 2, axis=1)  # something moves, like real footage
    block = width // (STAMP_BITS + 2)
    band = np.zeros((block, width, 3), dtype=np.uint8)
    bits = [1] + [(index >> b) & 1 for b in range(STAMP_BITS)] + [1]
    for i, bit in enumerate(bits):
        band[:, i * block : (i + 1) * block] = 255 if bit else 0
    frame[:block] = band
    return frame


def read_stamp(frame: np.ndarray) -> int:
    """The index drawn by :func:`stamp_frame` (robust to compression)."""
    width = frame.shape[1]
    block = width // (STAMP_BITS + 2)
    value = 0
    for b in range(STAMP_BITS):
        x0 = (b + 1) * block
        cell = frame[block // 4 : block * 3 // 4, x0 + block // 4 : x0 + block * 3 // 4]
        if cell.mean() > 127:
            value |= 1 << b
    return value


def encode_clip(
    path: str | Path,
    frames,
    rate,
    codec: str = "h264",
    start_timecode: str | None = None,
    rotation: int = 0,
    sar: str | None = None,
    *,
    color=None,
    pix_fmt: str | None = None,
    field_order: str | None = None,
    slots=None,
    first_pts: int = 0,
    audio: bool = False,
    options: dict | None = None,
) -> Path:
    """Encode frames (iterable of uint8 RGB HxWx3) with one of ``ENCODERS``.

    Optional: start timecode, display rotation (degrees counter-clockwise), sample aspect ratio,
    colour tags (a :class:`~lengthen.media.color.ColorTags`; RGB is converted with its matrix and
    range), a pixel format (e.g. ``yuv422p10le`` for 10-bit), a field order tag (``tt``, ``bb``...),
    the frame slots at ``rate`` each frame is shown at (variable frame rate: ``[0, 1, 3, 4, 6]``
    drops every third), a first pts other than 0 (in frames) and a silent stereo audio track."""
    import av

    from .color import ColorTags, rgb_to_frame
    from .probe import FIELD_ORDERS

    encoder, default_fmt, default_options, fmt, _suffix = ENCODERS[codec]
    pix_fmt = pix_fmt or default_fmt
    rate = parse_rate(rate)
    path = Path(path)
    container = av.open(str(path), "w", format=fmt)
    try:
        stream = audio_stream = tags = None
        for i, rgb in enumerate(frames):
            if stream is None:
                stream = container.add_stream(encoder, rate=rate)
                stream.height, stream.width = rgb.shape[:2]
                stream.pix_fmt = pix_fmt
                stream.options = {**default_options, **(options or {})}
                if fmt != "avi":
                    stream.time_base = Fraction(1) / rate
                if start_timecode:
                    stream.metadata["timecode"] = start_timecode
                if rotation:
                    stream.set_display_rotation(rotation)
                if sar:
                    stream.codec_context.sample_aspect_ratio = Fraction(sar.replace(":", "/"))
                tags = (color or ColorTags()).resolved(stream.width, stream.height, pix_fmt)
                if color is not None:
                    color.apply_to(stream.codec_context)
                if field_order:
                    stream.codec_context.field_order = FIELD_ORDERS[field_order]
                if audio:
                    audio_stream = container.add_stream("aac" if fmt == "mp4" else "pcm_s16le", rate=48000)
                    audio_stream.layout = "stereo"
            frame = rgb_to_frame(rgb, pix_fmt, tags)
            if color is None:  # untagged source, as most cameras and phones write
                frame.color_primaries = frame.color_trc = frame.colorspace = 2
                frame.color_range = 0
            frame.pts = (slots[i] if slots is not None else i) + first_pts
            for packet in stream.encode(frame):
                container.mux(packet)
            if audio_stream is not None:
                _mux_audio(container, audio_stream, i, rate)
        for packet in stream.encode():
            container.mux(packet)
        if audio_stream is not None:
            for packet in audio_stream.encode():
                container.mux(packet)
    finally:
        container.close()
    return path


def _mux_audio(container, stream, index: int, rate: Fraction) -> None:
    """One frame's worth of quiet stereo audio (a low tone), so clips carry an audio track."""
    import av

    start = int(index * 48000 / rate)
    count = int((index + 1) * 48000 / rate) - start
    t = (np.arange(start, start + count) / 48000.0).astype(np.float32)
    tone = (0.05 * np.sin(2 * np.pi * 220.0 * t) * 32767).astype(np.int16)
    if stream.codec_context.name == "aac":  # planar float
        samples = np.repeat((tone.astype(np.float32) / 32767)[None], 2, axis=0)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout="stereo")
    else:
        samples = np.repeat(tone[None], 2, axis=0).T.reshape(1, -1)  # packed s16 stereo
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="s16", layout="stereo")
    frame.sample_rate = 48000
    frame.pts = start
    for packet in stream.encode(frame):
        container.mux(packet)


def stamped_clip(
    path: str | Path,
    frames: int,
    rate="24000/1001",
    codec: str = "h264",
    size=(96, 160),
    start_timecode: str | None = None,
    **kw,
) -> Path:
    """A clip of ``frames`` frame-stamped frames."""
    h, w = size
    return encode_clip(path, (stamp_frame(i, h, w) for i in range(frames)), rate, codec, start_timecode, **kw)


def pan_zoom_frames(image: np.ndarray, frames: int, size=(360, 640), zoom: float = 1.15, pan: float = 0.08):
    """Yield ``frames`` uint8 RGB frames of a slow push-in and pan over a still photo."""
    import cv2

    h, w = size
    ih, iw = image.shape[:2]
    # The largest crop of the image's aspect that fits the output aspect.
    aspect = w / h
    base_w = min(iw, ih * aspect)
    base_h = base_w / aspect
    for i in range(frames):
        t = i / max(1, frames - 1)
        scale = 1.0 + (zoom - 1.0) * t
        cw, ch = base_w / scale, base_h / scale
        cx = iw / 2 + (t - 0.5) * pan * iw
        cy = ih / 2
        x0 = float(np.clip(cx - cw / 2, 0, iw - cw))
        y0 = float(np.clip(cy - ch / 2, 0, ih - ch))
        m = np.array([[w / cw, 0, -x0 * w / cw], [0, h / ch, -y0 * h / ch]], dtype=np.float64)
        yield cv2.warpAffine(
            image, m, (w, h), flags=cv2.INTER_AREA if scale < 1.5 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )


def pan_zoom_clip(
    image_path: str | Path,
    path: str | Path,
    frames: int = 48,
    rate="24000/1001",
    codec: str = "h264",
    size=(360, 640),
    start_timecode: str | None = "01:00:00:00",
    zoom: float = 1.15,
    pan: float = 0.08,
    **kw,
) -> Path:
    """A short clip of a slow pan/zoom over a still photo (e.g. one from shared/testdata/images)."""
    from PIL import Image

    image = np.asarray(Image.open(image_path).convert("RGB"))
    return encode_clip(path, pan_zoom_frames(image, frames, size, zoom, pan), rate, codec, start_timecode, **kw)
