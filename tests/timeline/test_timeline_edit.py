"""Writing results: the round trip through the real pipeline with the freeze engine (tiny media)."""

from __future__ import annotations

import json
import os

import opentimelineio as otio
import pytest
from builders import gap, media_clip, multitrack_timeline, timeline, track, verify_result, write

from lengthen.config import ExtendRequest
from lengthen.errors import LengthenError, TimelineError
from lengthen.media.probe import probe
from lengthen.media.reader import read_frames
from lengthen.media.synthetic import read_stamp
from lengthen.pipeline import render_shots, splice_media
from lengthen.timeline import plan_timeline, read_timeline
from lengthen.timeline.edit import build_result, write_timeline


def _run(path, out, *, splice=False, **plan_kw):
    media_dir = out.parent / (out.stem + "_media")
    with read_timeline(path) as doc:
        plan = plan_timeline(doc, **plan_kw)
        request = ExtendRequest(engine="freeze", scan_faces=False, output_dir=media_dir, protect=(path,))
        outcomes = render_shots(plan.to_render, request)
        spliced = (
            {o.spec.clip_id: splice_media(o.spec, o, media_dir) for o in outcomes if o.generated} if splice else None
        )
        write_timeline(build_result(doc, plan, outcomes, spliced=spliced), out, base_dir=doc.base_dir, protect=(path,))
    return plan, outcomes


def _layout(track):
    return [
        (round(i.range_in_parent().start_time.value), round(i.duration().value), i.name)
        for i in track
        if isinstance(i, otio.schema.Clip)
    ]


def test_round_trip_new_track_in_sync(project, tiny_media):
    original = multitrack_timeline(tiny_media)
    path = write(original, project / "cut.otio")
    before = path.read_bytes()
    _run(path, project / "result.otio", handles=12)
    assert path.read_bytes() == before  # the input is never written
    json.loads((project / "result.otio").read_text())  # plain JSON
    result = verify_result(project / "result.otio")  # plain OTIO (no lengthen needed), ranges verified
    names = [t.name for t in result.tracks]
    assert names == ["V1", "V2", "A1", "LENGTHEN", "LENGTHEN 2"]
    for k in range(3):  # original tracks untouched
        assert result.tracks[k].is_equivalent_to(original.tracks[k])
    # generated frame for media frame f sits at clip_in + (f - clip's first shown frame):
    # A head -8..-1 at 24 + (-8 - 4) = 12; B head -15..-1 at 48 - 15 = 33; D tail 40.. at 30 + (40 - 10) = 60;
    # C tail 48.. at 78 + (48 - 30) = 96; D head -2..-1 at 30 + (-2 - 10) = 18, which overlaps A's head -> 2nd track
    assert _layout(result.tracks[3]) == [
        (12, 8, "A [lengthen head]"),
        (33, 15, "B [lengthen head]"),
        (60, 12, "D [lengthen tail]"),
        (96, 12, "C [lengthen tail]"),
    ]
    assert _layout(result.tracks[4]) == [(18, 2, "D [lengthen head]")]
    b = next(c for c in result.find_clips() if c.name == "B [lengthen head]")
    # b.mov starts at 00:59:59:00 = 86376; its head starts 15 frames earlier, 86361 = 00:59:58:09
    assert b.source_range.start_time.value == 86361 and b.source_range.duration.value == 15
    assert b.media_reference.available_range == b.source_range
    (marker,) = b.markers
    assert marker.name == "lengthen: generated" and marker.marked_range == b.source_range
    assert marker.color == otio.schema.MarkerColor.MAGENTA and b.color.name == "Magenta"
    info = b.metadata["lengthen"]
    assert info["schema_version"] == 1 and info["engine"] == "freeze" and info["color"] == "MAGENTA"
    assert (info["source_clip"], info["source_clip_id"], info["direction"], info["frames_generated"]) == (
        "B",
        "V1/2",
        "head",
        15,
    )
    assert info["timecode"] == "00:59:58:09" and info["source_media"] == str(tiny_media["b"])
    media = probe(otio.url_utils.filepath_from_url(b.media_reference.target_url))
    assert (media.codec, media.frames, media.start_timecode, media.fps) == ("prores", 15, "00:59:58:09", "24000/1001")
    assert result.metadata["lengthen"]["mode"] == "track" and result.metadata["lengthen"]["generated_clips"] == 5


def test_splice_relinks_with_alternate_reference(project, tiny_media):
    path = write(
        timeline(
            "one", [track("V1", [gap(10, "24000/1001"), media_clip("D", tiny_media["b"], 10, 30)])], "24000/1001"
        ),
        project / "one.otio",
    )
    _run(path, project / "spliced.otio", splice=True, head="3f", tail="6f")
    (clip,) = verify_result(project / "spliced.otio").find_clips()
    refs = clip.media_references()
    assert clip.active_media_reference_key == "lengthen" and set(refs) == {"DEFAULT_MEDIA", "lengthen"}
    assert otio.url_utils.filepath_from_url(refs["DEFAULT_MEDIA"].target_url) == str(tiny_media["b"])
    spliced = otio.url_utils.filepath_from_url(refs["lengthen"].target_url)
    info = probe(spliced)
    # 3 head + 40 source + 6 tail frames; timecode 86376 - 3 = 86373 = 00:59:58:21
    assert (info.frames, info.start_timecode) == (49, "00:59:58:21")
    frames = read_frames(spliced, 0, 49)
    assert [read_stamp(f) for f in frames[3:43]] == list(range(40))  # the source frames, in place
    assert read_stamp(frames[0]) == 0 and read_stamp(frames[48]) == 39  # freeze holds the edge frames
    assert refs["lengthen"].available_range.start_time.value == 86373
    # head/tail lengths grow the clip: it showed 86386 + 30, now 86383 + 39
    assert (clip.source_range.start_time.value, clip.source_range.duration.value) == (86383, 39)
    assert [(m.marked_range.start_time.value, m.marked_range.duration.value) for m in clip.markers] == [
        (86373, 3),
        (86416, 6),
    ]
    assert clip.name == "D [lengthen head+tail]" and clip.metadata["lengthen"]["mode"] == "splice"


def test_head_before_timeline_start_is_trimmed(project, tiny_media):
    path = write(
        timeline(
            "early", [track("V1", [gap(5, "24000/1001"), media_clip("A", tiny_media["a"], 2, 20)])], "24000/1001"
        ),
        project / "early.otio",
    )
    _run(path, project / "early_out.otio", handles=12)
    result = verify_result(project / "early_out.otio")
    # head 12 - 2 = 10 frames (-10..-1) would start at 5 + (-10 - 2) = -7: the first 7 are cut at timeline 0
    (clip,) = result.tracks[1].find_clips()
    assert _layout(result.tracks[1]) == [(0, 3, "A [lengthen head]")]
    assert (
        clip.source_range.start_time.value == 86400 - 10 + 7
        and clip.media_reference.available_range.duration.value == 10
    )
    assert clip.metadata["lengthen"]["trimmed_at_timeline_start"] == 7


def test_bundle_and_refusals(project, tiny_media):
    path = write(multitrack_timeline(tiny_media), project / "cut.otio")
    _run(path, project / "bundle.otioz", tail="2f")
    verify_result(project / "bundle.otioz")
    extract = project / "x"
    extract.mkdir()
    result = otio.adapters.read_from_file(str(project / "bundle.otioz"), extract_to_directory=str(extract))
    gen = [c for c in result.find_clips() if c.name.endswith("[lengthen tail]")]
    assert len(gen) == 4 and all(c.media_reference.target_url.startswith("media/") for c in gen)
    assert all((extract / c.media_reference.target_url).is_file() for c in result.find_clips())
    with read_timeline(path) as doc:
        tl = build_result(doc, plan_timeline(doc, handles=0), [])
        with pytest.raises(LengthenError, match="input"):
            write_timeline(tl, path, base_dir=doc.base_dir, protect=(path,))
        with pytest.raises(TimelineError, match="exists"):
            write_timeline(tl, project / "bundle.otioz", base_dir=doc.base_dir)
        with pytest.raises(TimelineError, match="cmx_3600 adapter cannot write"):
            write_timeline(tl, project / "cut.edl", base_dir=doc.base_dir)  # an EDL holds one video track
    assert not (project / "cut.edl").exists()
    assert not [p for p in os.listdir(project) if "partial" in p]  # no half-written file left
