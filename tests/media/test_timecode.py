from fractions import Fraction

import pytest

from lengthen.errors import UsageError
from lengthen.timecode import (
    frame_to_pts,
    frames_to_timecode,
    offset_timecode,
    otio_rate,
    parse_length,
    parse_rate,
    rate_str,
    timecode_to_frames,
)

NTSC30 = Fraction(30000, 1001)


@pytest.mark.parametrize(
    "text, rate",
    [
        ("23.976", Fraction(24000, 1001)),
        ("29.97", NTSC30),
        ("30000/1001", NTSC30),
        ("25", Fraction(25)),
        (24, Fraction(24)),
        (23.976023976023978, Fraction(24000, 1001)),
        ("59.94", Fraction(60000, 1001)),
    ],
)
def test_parse_rate_is_exact(text, rate):
    assert parse_rate(text) == rate


def test_rate_str_round_trip():
    assert rate_str(Fraction(24000, 1001)) == "24000/1001"
    assert rate_str(Fraction(25)) == "25"
    assert otio_rate(24000 / 1001) == Fraction(24000, 1001)


@pytest.mark.parametrize(
    "frames, tc",
    [
        # 29.97 DF skips frame numbers 00 and 01 at every minute except each tenth.
        (0, "00:00:00;00"),
        (1799, "00:00:59;29"),
        (1800, "00:01:00;02"),
        (17981, "00:09:59;29"),
        (17982, "00:10:00;00"),
        (107892, "01:00:00;00"),  # 30 * 3600 - 2 * (60 - 6) = 107892
    ],
)
def test_drop_frame_both_ways(frames, tc):
    assert frames_to_timecode(frames, NTSC30, drop_frame=True) == tc
    assert timecode_to_frames(tc, NTSC30) == frames


def test_non_drop_at_ntsc_counts_30_per_second():
    assert timecode_to_frames("01:00:00:00", NTSC30) == 108000
    assert frames_to_timecode(108000, NTSC30) == "01:00:00:00"


def test_every_frame_round_trips_through_drop_frame():
    for f in range(0, 40000, 7):
        assert timecode_to_frames(frames_to_timecode(f, NTSC30, True), NTSC30) == f


def test_drop_frame_rejected_at_film_rates_and_missing_labels():
    with pytest.raises(UsageError):
        timecode_to_frames("00:01:00;00", Fraction(24))
    with pytest.raises(UsageError, match="does not exist"):
        timecode_to_frames("00:01:00;01", NTSC30)
    with pytest.raises(UsageError):
        timecode_to_frames("00:00:00:24", Fraction(24))


def test_offset_keeps_style():
    assert offset_timecode("01:00:10:05", 24, Fraction(24000, 1001)) == "01:00:11:05"
    assert offset_timecode("00:00:59;29", 1, NTSC30) == "00:01:00;02"


@pytest.mark.parametrize(
    "text, rate, frames",
    [("48f", 24, 48), ("2s", Fraction(24000, 1001), 48), ("1.5s", 25, 38), ("12", 25, 12), ("2 s", NTSC30, 60)],
)
def test_parse_length(text, rate, frames):
    assert parse_length(text, rate) == frames


@pytest.mark.parametrize("bad", ["2x", "-3f", "1.5f", ""])
def test_parse_length_rejects(bad):
    with pytest.raises(UsageError):
        parse_length(bad, 24)


def test_frame_to_pts():
    assert frame_to_pts(3, Fraction(24000, 1001), Fraction(1001, 24000)) == 3
    assert frame_to_pts(3, Fraction(24000, 1001), Fraction(1, 90000)) == 11261  # 3 * 1001 * 90000 / 24000 = 11261.25
    assert frame_to_pts(25, 25, Fraction(1, 1000)) == 1000
