"""Property-based tests (hypothesis) for the arithmetic and the parsers hostile input reaches:
timecode and rate arithmetic, length parsing, spec files and OTIO reading. Each parser either
returns a good value or raises the one error class lengthen reports as a clean line, never
anything else."""

from __future__ import annotations

import copy
import json
from fractions import Fraction

import opentimelineio as otio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lengthen.errors import TimelineError, UsageError
from lengthen.guards import json_depth
from lengthen.timecode import (
    frame_to_pts,
    frames_to_timecode,
    from_rational_time,
    offset_timecode,
    otio_rate,
    parse_length,
    parse_rate,
    rate_str,
    timecode_to_frames,
    to_rational_time,
)
from lengthen.timeline.plan import parse_spec
from lengthen.timeline.read import read_timeline

RATES = [Fraction(r) for r in ("24000/1001", "24", "25", "30000/1001", "30", "48", "50", "60000/1001", "60")]
DROP = [Fraction(30000, 1001), Fraction(60000, 1001)]
DAY = {r: round(r) * 86400 for r in RATES}
FAST = settings(max_examples=150, deadline=None)

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


# ---- timecode and rate arithmetic ----------------------------------------------------------


@FAST
@given(st.sampled_from(RATES), st.data())
def test_timecode_round_trips_every_frame_of_the_day(rate, data):
    frame = data.draw(st.integers(min_value=0, max_value=DAY[rate] - 1))
    tc = frames_to_timecode(frame, rate)
    assert timecode_to_frames(tc, rate) == frame
    assert len(tc) == 11 and tc[8] == ":"


@FAST
@given(st.sampled_from(DROP), st.data())
def test_drop_frame_timecode_round_trips_and_skips_the_dropped_labels(rate, data):
    fps, drop = round(rate), 2 * (round(rate) // 30)
    per_day = (fps * 600 - drop * 9) * 6 * 24  # labels in a drop-frame day (fewer than fps * 86400)
    frame = data.draw(st.integers(min_value=0, max_value=per_day - 1))
    tc = frames_to_timecode(frame, rate, drop_frame=True)
    assert tc[8] == ";" and timecode_to_frames(tc, rate) == frame
    minutes, seconds, frames = int(tc[3:5]), int(tc[6:8]), int(tc[9:])
    if seconds == 0 and minutes % 10:
        assert frames >= 2 * (round(rate) // 30)  # labels ;00 and ;01 (;00-;03 at 59.94) do not exist


@FAST
@given(st.sampled_from(RATES), st.data())
def test_offsets_add_up(rate, data):
    day = DAY[rate]
    start = data.draw(st.integers(min_value=0, max_value=day - 1))
    a = data.draw(st.integers(min_value=-day // 4, max_value=day // 4))
    b = data.draw(st.integers(min_value=-day // 4, max_value=day // 4))
    tc = frames_to_timecode(start, rate)
    assert offset_timecode(offset_timecode(tc, a, rate), b, rate) == offset_timecode(tc, a + b, rate)
    assert timecode_to_frames(offset_timecode(tc, a, rate), rate) == (start + a) % day


@FAST
@given(st.sampled_from(RATES), st.integers(min_value=-(10**7), max_value=10**7))
def test_rational_time_round_trips_through_otio_float_rates(rate, frame):
    rt = to_rational_time(frame, rate)
    assert otio_rate(rt.rate) == rate
    assert from_rational_time(rt, rate) == frame


@FAST
@given(st.sampled_from(RATES), st.sampled_from([None, 90000, 12800, 1000]), st.integers(0, 10**6))
def test_pts_are_exact_and_increasing(rate, ticks, frame):
    time_base = Fraction(1) / rate if ticks is None else Fraction(1, ticks)
    pts, nxt = frame_to_pts(frame, rate, time_base), frame_to_pts(frame + 1, rate, time_base)
    assert nxt > pts
    assert round(pts * time_base * rate) == frame  # the nearest frame to a stamped pts is that frame


@FAST
@given(st.text(max_size=20))
def test_parse_rate_gives_a_positive_fraction_or_a_usage_error(text):
    try:
        rate = parse_rate(text)
    except UsageError:
        return
    assert isinstance(rate, Fraction) and rate > 0
    assert parse_rate(rate_str(rate)) == rate


@FAST
@given(st.sampled_from(RATES))
def test_rate_strings_round_trip(rate):
    assert parse_rate(rate_str(rate)) == rate
    assert parse_rate(float(rate)) == rate  # 23.976023976... snaps back to 24000/1001


# ---- length parsing ------------------------------------------------------------------------


@FAST
@given(st.one_of(st.text(max_size=16), st.from_regex(r"\s*[0-9]{1,6}(\.[0-9]{1,3})?\s*(f|s|frames|sec)?\s*")))
def test_parse_length_gives_whole_non_negative_frames_or_a_usage_error(text):
    try:
        frames = parse_length(text, "24000/1001")
    except UsageError:
        return
    assert isinstance(frames, int) and frames >= 0


@FAST
@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(RATES))
def test_parse_length_units(n, rate):
    assert parse_length(f"{n}f", rate) == n == parse_length(str(n), rate) == parse_length(n, rate)
    assert parse_length(f"{n}s", rate) == round(n * rate)


@FAST
@given(st.sampled_from(["-1", "-5f", "1.5f", "2x", "", "nan", "inf", "1e3", "s", "f", "--2s"]))
def test_parse_length_refuses_what_is_not_a_length(text):
    with pytest.raises(UsageError):
        parse_length(text, 24)


# ---- spec files ------------------------------------------------------------------------------

entry = st.fixed_dictionaries(
    {"clip": st.one_of(st.text(min_size=1, max_size=8), json_value)},
    optional={
        "head": json_value,
        "tail": json_value,
        "handles": json_value,
        "skip": json_value,
        "prompt": json_value,
    },
)
spec_doc = st.one_of(
    json_value,
    st.fixed_dictionaries(
        {"schema": st.just("lengthen.spec"), "version": st.just(1)},
        optional={
            "default": st.one_of(entry, json_value),
            "clips": st.one_of(st.lists(entry, max_size=4), json_value),
        },
    ),
)


@settings(max_examples=300, deadline=None)
@given(spec_doc)
def test_any_spec_document_parses_or_is_one_usage_error(doc):
    try:
        spec = parse_spec(doc)
    except UsageError as exc:
        assert "\n" not in str(exc)
        return
    for _, request in [("default", spec.default), *spec.clips]:
        assert isinstance(request.skip, bool)  # "skip": "false" never becomes a skip
        for value in (request.head, request.tail, request.handles):
            assert value is None or (isinstance(value, (int, str)) and not isinstance(value, bool))


def test_spec_skip_must_be_a_boolean():
    base = {"schema": "lengthen.spec", "version": 1}
    for bad in ("false", "true", 0, 1, None, []):
        with pytest.raises(UsageError, match="skip"):
            parse_spec({**base, "clips": [{"clip": "A", "skip": bad}]})
    with pytest.raises(UsageError, match="tail"):
        parse_spec({**base, "clips": [{"clip": "A", "tail": True}]})
    assert parse_spec({**base, "clips": [{"clip": "A", "skip": False}]}).clips[0][1].skip is False


# ---- OTIO reading ----------------------------------------------------------------------------


def _good_timeline() -> dict:
    tl = otio.schema.Timeline(name="cut")
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for i in range(2):
        track.append(
            otio.schema.Clip(
                name=f"c{i}",
                media_reference=otio.schema.ExternalReference(
                    target_url=f"missing{i}.mp4",
                    available_range=otio.opentime.TimeRange(
                        otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(48, 24)
                    ),
                ),
                source_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(4, 24), otio.opentime.RationalTime(20, 24)
                ),
            )
        )
    tl.tracks.append(track)
    return json.loads(tl.to_json_string())


GOOD = _good_timeline()


def _paths(doc, prefix=()):
    """Every (path to a leaf or container) in a JSON document."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(GOOD) if p]
hostile_value = st.one_of(
    json_value,
    st.sampled_from([1e308, -1e308, 2**63, -(2**63), 0, -1, 1e-320, "", "../../etc/passwd", "file:///dev/zero"]),
)


# derandomize: the same examples every run, so the suite stays deterministic (a crash found here is a
# real bug in what reaches OTIO; hunt with other seeds by hand: --hypothesis-seed=N and no derandomize)
@settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(PATHS), hostile_value), min_size=1, max_size=3))
def test_a_mutated_timeline_reads_or_is_one_timeline_error(tmp_path, edits):
    doc = copy.deepcopy(GOOD)
    for path, value in edits:
        node = doc
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    target = tmp_path / "cut.otio"
    target.write_text(json.dumps(doc))
    try:
        with read_timeline(target) as read:
            for p in read.problems:  # every clip that cannot be used is named, never a crash
                assert p.clip and "\n" not in p.describe()
    except TimelineError as exc:
        assert "\n" not in str(exc) and str(target) in str(exc)


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        json_value.map(json.dumps), st.text(max_size=60), st.binary(max_size=60).map(lambda b: b.decode("latin-1"))
    )
)
def test_any_file_named_otio_reads_or_is_one_timeline_error(tmp_path, text):
    target = tmp_path / "any.otio"
    target.write_text(text, encoding="utf-8")
    try:
        read_timeline(target).close()
    except TimelineError as exc:
        assert str(target) in str(exc)


@FAST
@given(st.integers(min_value=0, max_value=3000), st.sampled_from("[{"))
def test_json_depth_is_exact_without_recursion(depth, opener):
    closer = "]" if opener == "[" else "}"
    body = "[]" if opener == "[" else '{"a": "[[[{"}'  # brackets inside strings do not count
    text = (opener if opener == "[" else '{"k":') * depth + body + closer * depth
    assert json_depth(text.encode()) == depth + (1 if opener == "[" else 1)
