"""The one place for frame <-> RationalTime <-> stream pts <-> timecode string.

(Reading never turns pts into frame numbers by arithmetic: the reader matches frames by the pts
of the demuxed index, see :mod:`lengthen.media.probe`. Writing stamps pts with
:func:`frame_to_pts`.)

Time is rational: rates are :class:`fractions.Fraction` (24000/1001, never 23.976), positions are
integer frame numbers. Drop-frame is chosen explicitly: a timecode string with ``;`` (or ``.``)
before the frames field is drop-frame, and :func:`frames_to_timecode` writes drop-frame only when
``drop_frame=True`` is passed (valid at 30000/1001 and 60000/1001 only).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Union

from .errors import UsageError

RateLike = Union[Fraction, int, float, str]

# Rates editors type as decimals, mapped to the exact NTSC fractions they mean.
_NTSC = {
    "23.976": Fraction(24000, 1001),
    "23.98": Fraction(24000, 1001),
    "29.97": Fraction(30000, 1001),
    "47.952": Fraction(48000, 1001),
    "59.94": Fraction(60000, 1001),
    "119.88": Fraction(120000, 1001),
}


def parse_rate(value: RateLike) -> Fraction:
    """``"30000/1001"``, ``"29.97"``, ``25``, ``Fraction(...)`` or a float -> an exact rate.

    Floats and decimals within 0.01 of an NTSC rate snap to the exact ``N*1000/1001`` fraction.
    """
    if isinstance(value, Fraction):
        rate = value
    elif isinstance(value, int):
        rate = Fraction(value)
    elif isinstance(value, str):
        text = value.strip()
        if text in _NTSC:
            return _NTSC[text]
        try:
            rate = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise UsageError(f"not a frame rate: {value!r} (use e.g. 24, 25, 30000/1001 or 29.97)") from None
    elif isinstance(value, float):
        rate = Fraction(value).limit_denominator(1001)
    else:
        raise UsageError(f"not a frame rate: {value!r}")
    if rate <= 0:
        raise UsageError(f"frame rate must be positive, got {value!r}")
    return snap_rate(rate)


def snap_rate(rate: Fraction) -> Fraction:
    """Snap near-NTSC rates (e.g. 2997/100 or a rounded container rate) to N*1000/1001."""
    if rate.denominator in (1, 1001):
        return rate
    nominal = round(rate)
    ntsc = Fraction(nominal * 1000, 1001)
    if nominal and abs(rate - ntsc) < Fraction(1, 100):
        return ntsc
    if abs(rate - nominal) < Fraction(1, 1000):
        return Fraction(nominal)
    return rate


def rate_str(rate: Fraction) -> str:
    """``Fraction(30000, 1001)`` -> ``"30000/1001"``; integers as ``"25"``."""
    rate = Fraction(rate)
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


def nominal_fps(rate: Fraction) -> int:
    """The integer frame count per timecode second (30 for 30000/1001)."""
    return max(1, round(Fraction(rate)))


def is_drop_frame_rate(rate: Fraction) -> bool:
    return Fraction(rate) in (Fraction(30000, 1001), Fraction(60000, 1001))


_TC = re.compile(r"^(-)?(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


def timecode_to_frames(tc: str, rate: RateLike) -> int:
    """``"01:00:10:05"`` at ``rate`` -> frame number since 00:00:00:00 (``;`` means drop-frame)."""
    rate = parse_rate(rate)
    m = _TC.match(tc.strip())
    if not m:
        raise UsageError(f"not a timecode: {tc!r} (expected HH:MM:SS:FF or HH:MM:SS;FF)")
    neg, hh, mm, ss, sep, ff = m.groups()
    h, mi, s, f = int(hh), int(mm), int(ss), int(ff)
    fps = nominal_fps(rate)
    if mi > 59 or s > 59 or f >= fps:
        raise UsageError(f"timecode {tc!r} is out of range at {rate_str(rate)} fps")
    frames = (h * 3600 + mi * 60 + s) * fps + f
    if sep in ";.,":
        if not is_drop_frame_rate(rate):
            raise UsageError(f"drop-frame timecode {tc!r} is only valid at 30000/1001 or 60000/1001")
        drop = 2 * (fps // 30)
        total_minutes = h * 60 + mi
        if s == 0 and f < drop and mi % 10 != 0:
            raise UsageError(f"timecode {tc!r} does not exist in drop-frame")
        frames -= drop * (total_minutes - total_minutes // 10)
    return -frames if neg else frames


def frames_to_timecode(frames: int, rate: RateLike, drop_frame: bool = False) -> str:
    """Frame number -> ``"HH:MM:SS:FF"`` (or ``"HH:MM:SS;FF"`` with ``drop_frame=True``).

    Hours wrap at 24 as NLEs do.
    """
    rate = parse_rate(rate)
    fps = nominal_fps(rate)
    if drop_frame:
        if not is_drop_frame_rate(rate):
            raise UsageError(f"drop-frame timecode needs 30000/1001 or 60000/1001, not {rate_str(rate)}")
        drop = 2 * (fps // 30)
        per_10min = fps * 600 - drop * 9
        per_min = fps * 60 - drop
        tens, rem = divmod(frames % (per_10min * 6 * 24), per_10min)
        frames = frames % (per_10min * 6 * 24)
        frames += drop * 9 * tens
        if rem > drop:
            frames += drop * ((rem - drop) // per_min)
    frames %= fps * 86400
    f = frames % fps
    s = frames // fps
    sep = ";" if drop_frame else ":"
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{sep}{f:02d}"


def is_drop_frame_timecode(tc: str) -> bool:
    m = _TC.match(tc.strip())
    return bool(m and m.group(5) in ";.,")


def offset_timecode(tc: str, frames: int, rate: RateLike) -> str:
    """The timecode ``frames`` after ``tc`` (negative goes back), keeping its drop-frame style."""
    return frames_to_timecode(timecode_to_frames(tc, rate) + frames, rate, is_drop_frame_timecode(tc))


def frame_to_pts(frame: int, rate, time_base) -> int:
    """Frame number of a constant-rate stream -> pts in ``time_base`` units (exact or nearest)."""
    return round(Fraction(frame) / Fraction(rate) / Fraction(time_base))


def to_rational_time(frame: int, rate: Fraction):
    """Frame number -> ``opentimelineio.opentime.RationalTime`` at the (float) rate OTIO stores."""
    import opentimelineio as otio

    return otio.opentime.RationalTime(frame, float(Fraction(rate)))


def from_rational_time(rt, rate: Fraction) -> int:
    """``RationalTime`` (at any rate) -> frame number at ``rate`` (rounded to nearest frame)."""
    return round(rt.value * Fraction(rate) / Fraction(rt.rate).limit_denominator(1001))


def otio_rate(rate: float) -> Fraction:
    """OTIO stores rates as floats (23.976023976...): back to the exact fraction."""
    return snap_rate(Fraction(rate).limit_denominator(1001))


_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(f|s|frames?|sec(?:onds?)?)?\s*$", re.I)


def parse_length(text: str | int, rate: RateLike) -> int:
    """``"48f"``, ``"48"`` (frames) or ``"2s"`` / ``"1.5s"`` (seconds at ``rate``) -> frames.

    Seconds convert exactly (2 s at 24000/1001 is round(2 * 23.976...) = 48 frames).
    """
    if isinstance(text, int):
        value, unit = Fraction(text), "f"
    else:
        m = _DUR.match(str(text))
        if not m:
            raise UsageError(f"not a length: {text!r} (use frames like 48f or seconds like 2s)")
        value, unit = Fraction(m.group(1)), (m.group(2) or "f").lower()
    if unit.startswith("s"):
        frames = round(value * parse_rate(rate))
    else:
        if value.denominator != 1:
            raise UsageError(f"frame counts are whole numbers: {text!r}")
        frames = int(value)
    if frames < 0:
        raise UsageError(f"length must not be negative: {text!r}")
    return frames
