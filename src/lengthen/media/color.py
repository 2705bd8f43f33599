"""Colour: the source's colour tags, carried through every file we write, and seam colour matching.

**Tags.** :class:`ColorTags` holds the four things that say how a YUV file's code values mean
colour: primaries, transfer, matrix and range (FFmpeg's enum numbers, as ffprobe prints them by
name). The reader decodes to RGB with the source's matrix and range; the writer converts RGB back
to YUV with the same matrix and range and tags the output with all four, so a frame that goes
through lengthen untouched comes back within a code value. Untagged sources are resolved the way
editing systems assume: HD and larger (wider than 1024 or taller than 576) as BT.709, SD as BT.601
(SMPTE 170M, or BT.470BG primaries at 576 lines), limited range unless the pixel format is a
full-range ``yuvj`` one. HDR transfers (PQ, HLG) are copied, and the engine works on their code
values as they are (signal, not linear light): see :attr:`ColorTags.hdr`.

**Seam matching.**

VAE round trips and warps shift colour a little; at a cut from a source frame to a generated one
that shift is what an editor sees first. We estimate one per-channel gain and offset that maps the
generated frame nearest the cut onto the source frame at the cut (robust percentiles, not means,
so a face moving in does not skew it) and apply it to every generated frame, so levels stay
consistent through the extension. Work is in float, in RGB, after decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# FFmpeg enum values (libavutil/pixfmt.h) and the names ffprobe prints for them.
PRIMARIES = {1: "bt709", 2: "unknown", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020"}
TRANSFERS = {
    1: "bt709",
    2: "unknown",
    4: "gamma22",
    5: "gamma28",
    6: "smpte170m",
    7: "smpte240m",
    8: "linear",
    13: "iec61966-2-1",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "smpte2084",
    18: "arib-std-b67",
}
MATRICES = {0: "gbr", 1: "bt709", 2: "unknown", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc"}
RANGES = {0: "unknown", 1: "tv", 2: "pc"}
HDR_TRANSFERS = {16: "PQ (SMPTE ST 2084)", 18: "HLG (ARIB STD-B67)"}
# matrix -> the swscale coefficient set that implements it
_SWS = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "SMPTE170M", 7: "SMPTE240M", 9: "BT2020", 10: "BT2020"}


def is_hd(width: int, height: int) -> bool:
    return width > 1024 or height > 576


@dataclass(frozen=True)
class ColorTags:
    """How code values mean colour. 2 (primaries/transfer/matrix) and 0 (range) mean untagged."""

    primaries: int = 2
    transfer: int = 2
    matrix: int = 2
    range: int = 0

    @classmethod
    def of(cls, obj) -> "ColorTags":
        """From a PyAV frame or codec context (``color_primaries``, ``color_trc``, ``colorspace``, ``color_range``)."""
        return cls(
            int(getattr(obj, "color_primaries", 2) or 2),
            int(getattr(obj, "color_trc", 2) or 2),
            int(obj.colorspace if getattr(obj, "colorspace", None) is not None else 2),
            int(getattr(obj, "color_range", 0) or 0),
        )

    def merged(self, other: "ColorTags") -> "ColorTags":
        """These tags, with what is untagged here taken from ``other``."""
        return ColorTags(
            self.primaries if self.primaries != 2 else other.primaries,
            self.transfer if self.transfer != 2 else other.transfer,
            self.matrix if self.matrix != 2 else other.matrix,
            self.range if self.range != 0 else other.range,
        )

    @classmethod
    def from_names(cls, primaries: str, transfer: str, matrix: str, rng: str) -> "ColorTags":
        """The inverse of :meth:`names` (unknown names read as untagged)."""

        def back(table: dict, name: str, default: int) -> int:
            return next((k for k, v in table.items() if v == name), default)

        return cls(
            back(PRIMARIES, primaries, 2),
            back(TRANSFERS, transfer, 2),
            back(MATRICES, matrix, 2),
            back(RANGES, rng, 0),
        )

    def resolved(self, width: int, height: int, pix_fmt: str = "") -> "ColorTags":
        """Fill what is untagged: HD as BT.709, SD as BT.601; limited range unless ``yuvj``."""
        hd = is_hd(width, height)
        sd_primaries = 5 if height == 576 else 6
        known = self.primaries in PRIMARIES and self.primaries != 2
        primaries = self.primaries if known else (1 if hd else sd_primaries)
        known = self.transfer in TRANSFERS and self.transfer != 2
        transfer = self.transfer if known else (1 if hd else 6)
        matrix = self.matrix if self.matrix in _SWS else (1 if hd else 6)
        rng = self.range if self.range in (1, 2) else (2 if pix_fmt.startswith("yuvj") else 1)
        return replace(self, primaries=primaries, transfer=transfer, matrix=matrix, range=rng)

    @property
    def hdr(self) -> str | None:
        """The HDR transfer's name (PQ or HLG), or None for SDR."""
        return HDR_TRANSFERS.get(self.transfer)

    @property
    def sws_matrix(self) -> str:
        return _SWS.get(self.matrix, "ITU709")

    @property
    def sws_range(self) -> str:
        return "JPEG" if self.range == 2 else "MPEG"

    def names(self) -> dict:
        """As ffprobe names them: ``{"color_primaries": "bt709", ...}``."""
        return {
            "color_primaries": PRIMARIES.get(self.primaries, str(self.primaries)),
            "color_transfer": TRANSFERS.get(self.transfer, str(self.transfer)),
            "color_space": MATRICES.get(self.matrix, str(self.matrix)),
            "color_range": RANGES.get(self.range, str(self.range)),
        }

    def apply_to(self, target) -> None:
        """Tag a PyAV codec context or frame with these values."""
        target.color_primaries = self.primaries
        target.color_trc = self.transfer
        target.colorspace = self.matrix
        target.color_range = self.range


def hdr_warning(tags: ColorTags) -> str | None:
    """The one line we print for an HDR source, or None."""
    if tags.hdr is None:
        return None
    return (
        f"HDR source ({tags.hdr}, {tags.names()['color_primaries']}): frames are processed as 8-bit code values "
        "in the source's own transfer (no tone mapping); the output keeps the HDR tags"
    )


# planar YUV formats we convert ourselves: name -> (chroma x shift, chroma y shift, bits)
PLANAR = {
    "yuv420p": (1, 1, 8),
    "yuvj420p": (1, 1, 8),
    "yuv422p": (1, 0, 8),
    "yuvj422p": (1, 0, 8),
    "yuv444p": (0, 0, 8),
    "yuvj444p": (0, 0, 8),
    "yuv420p10le": (1, 1, 10),
    "yuv422p10le": (1, 0, 10),
    "yuv444p10le": (0, 0, 10),
    "yuv420p12le": (1, 1, 12),
    "yuv422p12le": (1, 0, 12),
    "yuv444p12le": (0, 0, 12),
}
# matrix -> (Kr, Kb)
_K = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 5: (0.299, 0.114), 6: (0.299, 0.114), 7: (0.212, 0.087)}
_K.update({9: (0.2627, 0.0593), 10: (0.2627, 0.0593)})


def _coefficients(tags: ColorTags) -> tuple[float, float]:
    return _K.get(tags.matrix, _K[1])


def _levels(tags: ColorTags, bits: int) -> tuple[float, float, float, float]:
    """(luma black, luma span, chroma zero, chroma span) in code values of ``bits``."""
    s = float(1 << (bits - 8))
    if tags.range == 2:
        full = float((1 << bits) - 1)
        return 0.0, full, float(1 << (bits - 1)), full
    return 16.0 * s, 219.0 * s, 128.0 * s, 224.0 * s


def read_planes(frame) -> list[np.ndarray]:
    """The Y, Cb, Cr planes of a planar YUV PyAV frame (uint8 or uint16 arrays, cropped)."""
    _, _, bits = PLANAR[frame.format.name]
    dtype = np.dtype(np.uint8) if bits == 8 else np.dtype("<u2")
    out = []
    for plane in frame.planes[:3]:
        buf = np.frombuffer(plane, dtype=dtype)
        out.append(buf.reshape(plane.height, plane.line_size // dtype.itemsize)[:, : plane.width])
    return out


def _upsample(plane: np.ndarray, sx: int, sy: int, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour chroma upsampling (each chroma sample covers its 2 or 2x2 pixels)."""
    if sy:
        plane = np.repeat(plane, 2, axis=0)
    if sx:
        plane = np.repeat(plane, 2, axis=1)
    return plane[:height, :width]


def _downsample(plane: np.ndarray, sx: int, sy: int) -> np.ndarray:
    """Average each 2 (or 2x2) block of a float plane; a last odd column/row stands alone."""
    if sx:
        if plane.shape[1] % 2:
            plane = np.concatenate([plane, plane[:, -1:]], axis=1)
        plane = 0.5 * (plane[:, 0::2] + plane[:, 1::2])
    if sy:
        if plane.shape[0] % 2:
            plane = np.concatenate([plane, plane[-1:]], axis=0)
        plane = 0.5 * (plane[0::2] + plane[1::2])
    return plane


def _to_rgb_matrix(tags: ColorTags, bits: int) -> np.ndarray:
    """(3, 4) affine map from Y'CbCr code values (``bits``) to R'G'B' in 8-bit code values."""
    black, yspan, zero, cspan = _levels(tags, bits)
    kr, kb = _coefficients(tags)
    kg = 1.0 - kr - kb
    # normalised: r = y + 2(1-kr) cr, b = y + 2(1-kb) cb, g = (y - kr r - kb b) / kg
    norm = np.array(
        [
            [1.0, 0.0, 2.0 * (1.0 - kr)],
            [1.0, -2.0 * kb * (1.0 - kb) / kg, -2.0 * kr * (1.0 - kr) / kg],
            [1.0, 2.0 * (1.0 - kb), 0.0],
        ]
    )
    scale = np.array([1.0 / yspan, 1.0 / cspan, 1.0 / cspan])
    linear = 255.0 * norm * scale[None, :]
    offset = -linear @ np.array([black, zero, zero])
    return np.concatenate([linear, offset[:, None]], axis=1)


def _to_ycc_matrix(tags: ColorTags, bits: int) -> np.ndarray:
    """(3, 4) affine map from R'G'B' 8-bit code values to Y'CbCr code values (``bits``)."""
    black, yspan, zero, cspan = _levels(tags, bits)
    kr, kb = _coefficients(tags)
    kg = 1.0 - kr - kb
    norm = np.array(
        [
            [kr, kg, kb],
            [-kr / (2.0 * (1.0 - kb)), -kg / (2.0 * (1.0 - kb)), 0.5],
            [0.5, -kg / (2.0 * (1.0 - kr)), -kb / (2.0 * (1.0 - kr))],
        ]
    )
    linear = np.array([yspan, cspan, cspan])[:, None] * norm / 255.0
    return np.concatenate([linear, np.array([[black], [zero], [zero]])], axis=1)


def frame_to_rgb(frame, tags: ColorTags) -> np.ndarray:
    """A decoded PyAV frame -> uint8 RGB (H, W, 3), read with ``tags``' matrix and range.

    Planar YUV is converted here (chroma upsampled nearest-neighbour, the exact inverse of the
    writer's 2-sample averaging; one affine colour transform in OpenCV), so a frame written by
    :func:`rgb_to_frame` reads back within one code value; other formats go through swscale."""
    import cv2

    name = frame.format.name
    if name not in PLANAR:
        return frame.to_ndarray(
            format="rgb24", src_colorspace=tags.sws_matrix, src_color_range=tags.sws_range, channel_last=True
        )
    sx, sy, bits = PLANAR[name]
    h, w = frame.height, frame.width
    y, cb, cr = read_planes(frame)
    ycc = cv2.merge([np.ascontiguousarray(p) for p in (y, _upsample(cb, sx, sy, h, w), _upsample(cr, sx, sy, h, w))])
    if bits == 8:
        return cv2.transform(ycc, _to_rgb_matrix(tags, bits))  # rounds and saturates to uint8
    rgb = cv2.transform(ycc.astype(np.float32), _to_rgb_matrix(tags, bits))  # (H, W, 3) float32
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _new_frame(planes: list[np.ndarray], pix_fmt: str, width: int, height: int, tags: ColorTags):
    import av

    frame = av.VideoFrame(width, height, pix_fmt)
    for plane, data in zip(frame.planes, planes):
        stride = plane.line_size // data.dtype.itemsize
        if data.shape == (plane.height, stride):
            plane.update(np.ascontiguousarray(data))
            continue
        padded = np.zeros((plane.height, stride), dtype=data.dtype)
        padded[: data.shape[0], : data.shape[1]] = data
        plane.update(padded)
    tags.apply_to(frame)
    return frame


def _quantize(plane: np.ndarray, bits: int) -> np.ndarray:
    dtype = np.uint8 if bits == 8 else np.dtype("<u2")
    return np.clip(np.rint(plane), 0, (1 << bits) - 1).astype(dtype)


def rgb_to_frame(rgb: np.ndarray, pix_fmt: str, tags: ColorTags):
    """uint8 RGB (H, W, 3) -> a PyAV frame in ``pix_fmt`` with ``tags``' matrix and range, tagged."""
    import av
    import cv2

    rgb = np.ascontiguousarray(rgb)
    if pix_fmt not in PLANAR:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if pix_fmt != "rgb24":
            frame = frame.reformat(format=pix_fmt, dst_colorspace=tags.sws_matrix, dst_color_range=tags.sws_range)
        tags.apply_to(frame)
        return frame
    sx, sy, bits = PLANAR[pix_fmt]
    height, width = rgb.shape[:2]
    ycc = cv2.transform(rgb.astype(np.float32), _to_ycc_matrix(tags, bits))  # (H, W, 3) code values
    y, cb, cr = cv2.split(ycc)  # contiguous planes
    planes = [_quantize(y, bits)] + [_quantize(_downsample(c, sx, sy), bits) for c in (cb, cr)]
    return _new_frame(planes, pix_fmt, width, height, tags)


def _rescale(plane: np.ndarray, bits: int, dbits: int, src: tuple, dst: tuple, kind: int) -> np.ndarray:
    """One plane from ``bits`` to ``dbits`` code values (``kind`` 0 luma, 1 chroma of ``_levels``)."""
    a, b = (src[0], src[1]) if kind == 0 else (src[2], src[3])
    da, db = (dst[0], dst[1]) if kind == 0 else (dst[2], dst[3])
    if plane.dtype != np.float32 and a * (1 << dbits) == da * (1 << bits) and b * (1 << dbits) == db * (1 << bits):
        shift = dbits - bits  # video range: a pure bit shift, exact
        if shift >= 0:
            return (plane.astype(np.uint16) << shift).astype(np.uint8 if dbits == 8 else "<u2")
        return _quantize((plane.astype(np.uint32) + (1 << (-shift - 1))) >> -shift, dbits)
    return _quantize((plane.astype(np.float32) - a) * (db / b) + da, dbits)


def convert_frame(frame, pix_fmt: str, tags: ColorTags, source_tags: ColorTags | None = None):
    """A decoded source frame -> ``pix_fmt`` with ``tags`` without going through 8-bit RGB: bit depth
    and range rescaled (a bit shift when both are video range), chroma resampled like the reader and
    writer do. ``source_tags`` are the frame's own (default: ``tags``); a different matrix, or a
    non-planar format, goes via RGB."""
    source_tags = source_tags or tags
    name = frame.format.name
    if name not in PLANAR or pix_fmt not in PLANAR or source_tags.matrix != tags.matrix:
        return rgb_to_frame(frame_to_rgb(frame, source_tags), pix_fmt, tags)
    sx, sy, bits = PLANAR[name]
    dx, dy, dbits = PLANAR[pix_fmt]
    h, w = frame.height, frame.width
    y, cb, cr = read_planes(frame)
    src, dst = _levels(source_tags, bits), _levels(tags, dbits)
    planes = [_rescale(y, bits, dbits, src, dst, 0)]
    for c in (cb, cr):
        if (sx, sy) != (dx, dy):
            c = _upsample(c, sx, sy, h, w)
            if dx or dy:
                c = _downsample(c.astype(np.float32), dx, dy)
        planes.append(_rescale(c, bits, dbits, src, dst, 1))
    return _new_frame(planes, pix_fmt, w, h, tags)


def mean_color_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over channels of the absolute difference of per-channel means (8-bit code values)."""
    ma = a.reshape(-1, 3).astype(np.float64).mean(axis=0)
    mb = b.reshape(-1, 3).astype(np.float64).mean(axis=0)
    return float(np.abs(ma - mb).mean())


_PCTS = np.array([5.0, 25.0, 50.0, 75.0, 95.0])


def _channel_fit(src: np.ndarray, gen: np.ndarray) -> tuple[float, float]:
    """Least-squares gain/offset mapping gen's percentiles onto src's (one channel)."""
    ps = np.percentile(src, _PCTS)
    pg = np.percentile(gen, _PCTS)
    spread = pg[-1] - pg[0]
    if spread < 1.0:  # flat channel: offset only
        return 1.0, float(np.median(src) - np.median(gen))
    gain, offset = np.polyfit(pg, ps, 1)
    gain = float(np.clip(gain, 0.8, 1.25))  # a seam fix, not a grade
    offset = float(np.median(ps - gain * pg))
    return gain, offset


def seam_correction(source_edge: np.ndarray, generated_edge: np.ndarray) -> np.ndarray:
    """(3, 2) gain/offset per channel mapping ``generated_edge`` onto ``source_edge`` (uint8 HxWx3)."""
    return np.array(
        [
            _channel_fit(source_edge[..., c].astype(np.float32), generated_edge[..., c].astype(np.float32))
            for c in range(3)
        ],
        dtype=np.float32,
    )


def apply_correction(frames: np.ndarray, correction: np.ndarray) -> np.ndarray:
    """Apply a (3, 2) gain/offset to uint8 frames (..., H, W, 3); returns uint8."""
    out = frames.astype(np.float32) * correction[:, 0] + correction[:, 1]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def match_seam(generated: np.ndarray, source_edge: np.ndarray, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """Colour-match generated frames (time order) to the source frame at the cut.

    ``direction`` "tail": the cut is before ``generated[0]``; "head": after ``generated[-1]``.
    Returns (matched frames, the (3, 2) correction used).
    """
    edge = generated[0] if direction == "tail" else generated[-1]
    correction = seam_correction(source_edge, edge)
    return apply_correction(generated, correction), correction
