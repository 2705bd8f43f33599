"""Reading timelines: media resolution, probing, and per-clip problems named by clip."""

from __future__ import annotations

import json
from fractions import Fraction

import opentimelineio as otio
import pytest
from builders import gap, media_clip, multitrack_timeline, timeline, tr, track, write

from lengthen.errors import TimelineError
from lengthen.timeline import read_timeline, resolve_media_url


def test_multitrack_clips_in_media_frames(project, tiny_media):
    path = write(multitrack_timeline(tiny_media), project / "cut.otio")
    with read_timeline(path) as doc:
        got = {c.name: c for c in doc.clips}
        assert not doc.problems and not doc.warnings
    assert sorted(got) == ["A", "B", "C", "D"]  # the audio clip is not planned
    a, b = got["A"], got["B"]
    # a.mp4 starts at 01:00:00:00 = 3600 s * 24 nominal = 86400; A's source range starts at 86400 + 4
    assert (a.avail_start, a.src_first, a.src_last, a.media_frames) == (86400, 4, 27, 48)
    # the dissolve (in 3, out 5) widens A by its out offset and B by its in offset
    assert (a.vis_first, a.vis_last) == (4, 27 + 5)
    assert (b.vis_first, b.vis_last) == (0 - 3, 19)
    # timeline frames: gap 24 -> A 24..48, B 48..68, gap -> C 78..96; V2: gap 30 -> D 30..60
    assert [(c.timeline_in, c.timeline_out) for c in (a, b, got["C"], got["D"])] == [
        (24, 48),
        (48, 68),
        (78, 96),
        (30, 60),
    ]
    assert a.rate == Fraction(24000, 1001) and a.timeline_rate == Fraction(24000, 1001)
    assert (a.clip_id, b.clip_id, got["C"].clip_id, got["D"].clip_id) == ("V1/1", "V1/2", "V1/3", "V2/1")
    assert a.media == project / "media" / "a.mp4"  # relative URL resolved against the timeline's folder
    assert b.start_timecode == "00:59:59:00"


def test_missing_available_range_is_probed_and_drop_frame_kept(project, tiny_media):
    # the DF clip: 01:00:00;00 at 30000/1001 = 108000 - 2 * (60 - 6) = 107892 frames
    url = otio.url_utils.url_from_filepath(str(tiny_media["df"])).replace(" ", "%20")  # percent-encoded file URL
    clip = media_clip("DF", tiny_media["df"], 6, 20, url=url, with_available_range=False)
    assert clip.source_range.start_time.value == 107892 + 6
    path = write(timeline("df", [track("", [clip])], "30000/1001"), project / "df.otio")
    with read_timeline(path) as doc:
        (c,) = doc.clips
    assert (c.avail_start, c.src_first, c.media_frames, c.start_timecode) == (107892, 6, 36, "01:00:00;00")
    assert c.rate == Fraction(30000, 1001) and c.track == "V1"
    assert c.media == tiny_media["df"]


def test_bad_clips_are_skipped_by_name_and_the_rest_continues(project, tiny_media):
    rate = "24000/1001"
    missing = media_clip("Offline", tiny_media["a"], 0, 10, url="media/nope.mov")
    no_ref = otio.schema.Clip(name="NoRef", source_range=tr(0, 10, rate))
    zero = media_clip("Zero", tiny_media["a"], 0, 0)
    wrong_rate = media_clip("Rate25", tiny_media["a"], 0, 10)
    wrong_rate.source_range = tr(86400 * 25 // 24, 10, 25)
    outside = media_clip("Outside", tiny_media["a"], 0, 10, url="../elsewhere/a.mp4")
    nested = otio.schema.Stack(name="Compound")
    nested.append(track("inner", [media_clip("Inner", tiny_media["a"], 0, 5)]))
    good = media_clip("Good", tiny_media["b"], 0, 10)
    tl = timeline("bad", [track("V1", [missing, no_ref, zero, gap(5, rate), wrong_rate, outside, nested, good])], rate)
    path = write(tl, project / "bad.otio")
    with read_timeline(path) as doc:
        assert [c.name for c in doc.clips] == ["Good"]
        problems = {p.clip: p for p in doc.problems}
    assert sorted(problems) == ["Compound", "NoRef", "Offline", "Outside", "Rate25", "Zero"]
    assert "missing or unreadable" in problems["Offline"].message and problems["Offline"].path.endswith("nope.mov")
    assert "no media reference" in problems["NoRef"].message
    assert "zero-length" in problems["Zero"].message
    assert "does not match its media's rate 24000/1001" in problems["Rate25"].message
    assert "outside the timeline's folder" in problems["Outside"].message
    assert "nested stack" in problems["Compound"].message
    assert "'Offline'" in problems["Offline"].describe()
    # the clip ids count clips (and the stack), not gaps
    assert problems["Outside"].clip_id == "V1/5" and problems["Compound"].clip_id == "V1/6"


def test_media_outside_allowed_with_flag(tmp_path):
    base = tmp_path / "edit"
    base.mkdir()
    with pytest.raises(TimelineError, match="allow-media-outside"):
        resolve_media_url("../media/a.mp4", base)
    assert resolve_media_url("../media/a.mp4", base, allow_outside=True) == tmp_path / "media" / "a.mp4"
    assert resolve_media_url("sub/../media/a.mp4", base) == base / "media" / "a.mp4"  # stays inside
    assert resolve_media_url("file:///abs/my%20clip.mov", base) == type(base)("/abs/my clip.mov")
    assert resolve_media_url("/abs/clip.mov", base) == type(base)("/abs/clip.mov")  # absolute: as written
    with pytest.raises(TimelineError, match="not a local file"):
        resolve_media_url("https://example.com/a.mov", base)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "malformed timeline JSON"),  # refused by guards.check_otio_document before OTIO
        (json.dumps({"OTIO_SCHEMA": "Wibble.7", "x": 1}), "'Wibble'"),
        (otio.schema.Clip(name="x").to_json_string(), "not a timeline: the file holds 'Clip'"),
    ],
)
def test_bad_timeline_files(tmp_path, text, message):
    path = tmp_path / "bad.otio"
    path.write_text(text)
    with pytest.raises(TimelineError, match=message) as info:
        read_timeline(path)
    assert info.value.path == path


def test_unknown_format_names_the_adapters(tmp_path):
    path = tmp_path / "cut.foo"
    path.write_text("x")
    with pytest.raises(TimelineError, match="no installed OTIO adapter"):
        read_timeline(path)
