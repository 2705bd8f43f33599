"""Every NLE route of the README, round-tripped: a result with heads (one before 00:00:00:00), tails,
a dissolve and markers is written through the route's adapter, read back, and checked for positions,
timecodes, reels and what survives of the generated-frame marking (the README's table states the
losses these tests pin down). Media: real frame-stamped files, generated with the freeze engine.

The cut (``RATE``): V1 = gap 12 | mpf01 (z.mov frames 2..25; z.mov starts at 00:00:00:00) | dissolve
3+3 | mpf02 (a.mov frames 4..27; a.mov starts at 01:00:00:00) | gap 4. Every clip gets 6 head and
5 tail frames. Two clips with similar names: their reels must differ.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile

import opentimelineio as otio
import pytest
from builders import gap, media_clip, timeline, track, transition, verify_result, write

from lengthen.config import ExtendRequest
from lengthen.errors import TimelineError
from lengthen.media.probe import probe
from lengthen.media.synthetic import stamped_clip
from lengthen.pipeline import render_shots, splice_media
from lengthen.timecode import timecode_to_frames
from lengthen.timeline import plan_timeline, read_timeline
from lengthen.timeline.edit import build_result, write_timeline
from lengthen.timeline.interchange import PPRO_MARKER_COLOR, preflight

MARKER = "lengthen: generated"
# LENGTHEN track, hand-computed (see test_timeline_edit for the rule): mpf01 head (media -6..-1) at
# 12 + (-6 - 2) = 4; mpf02 head at 36 + (-6 - 4) = 26; mpf01 tail (48..) at 12 + (48 - 2) = 58;
# mpf02 tail at 36 + 44 = 80
TRACK_LAYOUT = [
    (4, 6, "mpf01 [lengthen head]"),
    (26, 6, "mpf02 [lengthen head]"),
    (58, 5, "mpf01 [lengthen tail]"),
    (80, 5, "mpf02 [lengthen tail]"),
]
# media timecode of each generated file: mpf01's head would start 6 frames before 00:00:00:00, so its media
# is re-based to 00:00:00:00; the others continue their source (a.mov: 86400 at 24 fps nominal)
MEDIA_TC = {
    ("mpf01", "head"): "00:00:00:00",
    ("mpf01", "tail"): "00:00:02:00",
    ("mpf02", "head"): "00:59:59:18",
    ("mpf02", "tail"): "01:00:02:00",
}


def _cut(folder, rate):
    (folder / "media").mkdir(parents=True, exist_ok=True)
    z = stamped_clip(folder / "media" / "z.mov", 48, rate, "h264", start_timecode="00:00:00:00")
    a = stamped_clip(folder / "media" / "a.mov", 48, rate, "h264", start_timecode="01:00:00:00")
    tl = timeline(
        "cut",
        [
            track(
                "V1",
                [
                    gap(12, rate),
                    media_clip("mpf01", z, 2, 24),
                    transition(3, 3, rate),
                    media_clip("mpf02", a, 4, 24),
                    gap(4, rate),
                ],
            )
        ],
        rate,
    )
    return write(tl, folder / "cut.otio")


class Route:
    """One generation run over the cut; ``track``/``splice`` build the two kinds of result."""

    def __init__(self, folder, rate):
        self.folder, self.rate = folder, rate
        self.cut = _cut(folder, rate)
        self.media_dir = folder / "result_media"
        self.doc = read_timeline(self.cut)
        self.plan = plan_timeline(self.doc, head="6f", tail="5f")
        request = ExtendRequest(engine="freeze", scan_faces=False, output_dir=self.media_dir, protect=(self.cut,))
        self.outcomes = render_shots(self.plan.to_render, request)
        assert all(o.error is None for o in self.outcomes)
        self.spliced = {o.spec.clip_id: splice_media(o.spec, o, self.media_dir) for o in self.outcomes}
        self.track = build_result(self.doc, self.plan, self.outcomes)
        self.splice = build_result(self.doc, self.plan, self.outcomes, spliced=self.spliced)
        self.gen = {(o.spec.clip, g.direction): g for o in self.outcomes for g in o.generated}

    def write(self, result, name):
        out = self.folder / name
        warnings = write_timeline(result, out, base_dir=self.doc.base_dir, protect=(self.cut,))
        return out, warnings


@pytest.fixture(scope="module")
def ntsc(tmp_path_factory):
    route = Route(tmp_path_factory.mktemp("ntsc"), "24000/1001")
    yield route
    route.doc.close()


def _layout(track):
    return [
        (round(i.range_in_parent().start_time.value), round(i.duration().value), i.name)
        for i in track
        if isinstance(i, otio.schema.Clip)
    ]


def _generated(tl):
    return {(c.metadata["lengthen"]["source_clip"], c.metadata["lengthen"]["direction"]): c for c in tl.find_clips()
            if "lengthen" in c.metadata}  # fmt: skip


def test_reels_unique_and_keep_the_source(ntsc):
    reels = {k: probe(g.path).reel for k, g in ntsc.gen.items()}
    spliced = {k: probe(p).reel for k, p in ntsc.spliced.items()}
    # similar names (mpf01/mpf02): different reels, 8 characters, none shared with another file of the folder
    assert reels == {
        ("mpf01", "head"): "LMPFH001",
        ("mpf01", "tail"): "LMPFT001",
        ("mpf02", "head"): "LMPFH002",
        ("mpf02", "tail"): "LMPFT002",
    }
    assert spliced == {"V1/1": "LMPFS001", "V1/2": "LMPFS002"}
    for (clip, direction), g in ntsc.gen.items():
        assert g.metadata["reel"] == reels[(clip, direction)]
        assert g.metadata["source_reel"] == ("z" if clip == "mpf01" else "a")  # untagged sources: the file stem
    # a later run into the same folder takes the next free serial
    from lengthen.timeline.reels import unique_reel

    assert unique_reel(ntsc.media_dir, "mpf01", "head") == "LMPFH003"
    assert unique_reel(ntsc.folder / "empty", "Mpf 7!", "tail") == "LMPFT001"


def test_otio_route(ntsc):
    out, warnings = ntsc.write(ntsc.track, "result.otio")
    assert warnings == []
    tl = verify_result(out)
    assert [t.name for t in tl.tracks] == ["V1", "LENGTHEN"]
    assert _layout(tl.tracks[1]) == TRACK_LAYOUT
    for key, clip in _generated(tl).items():
        media = probe(otio.url_utils.filepath_from_url(clip.media_reference.target_url))
        assert media.start_timecode == MEDIA_TC[key]
        # the OTIO ranges are in the media's own timecode space, never negative
        assert clip.media_reference.available_range.start_time.value == timecode_to_frames(MEDIA_TC[key], 24)
        assert clip.source_range == clip.media_reference.available_range
        assert clip.metadata["cmx_3600"]["reel"] == media.reel == clip.metadata["lengthen"]["reel"]
        assert clip.media_reference.metadata["fcp_xml"]["timecode"]["reel"]["name"] == media.reel
        (marker,) = clip.markers
        assert (marker.name, marker.color, marker.marked_range) == (MARKER, "MAGENTA", clip.source_range)
        assert clip.color.name == "Magenta" and clip.name.endswith(f"[lengthen {key[1]}]")
    head = _generated(tl)[("mpf01", "head")].metadata["lengthen"]
    assert (head["timecode"], head["timecode_rebased_frames"]) == ("00:00:00:00", 6)
    # timeline markers (guides) at every generated run, for editors that drop clip markers
    guides = [(round(m.marked_range.start_time.value), round(m.marked_range.duration.value)) for m in
              tl.tracks.markers]  # fmt: skip
    assert guides == [(start, n) for start, n, _ in TRACK_LAYOUT]


def test_otioz_route(ntsc, tmp_path):
    out, _ = ntsc.write(ntsc.track, "result.otioz")
    verify_result(out)
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
    assert sum(n.startswith("media/") and n.endswith(".mov") for n in names) == 6  # 2 sources + 4 generated
    tl = otio.adapters.read_from_file(str(out), extract_to_directory=str(tmp_path))
    assert _layout(tl.tracks[1]) == TRACK_LAYOUT
    for key, clip in _generated(tl).items():
        media = probe(tmp_path / clip.media_reference.target_url)  # relative to the bundle
        assert (media.start_timecode, media.reel) == (MEDIA_TC[key], clip.metadata["cmx_3600"]["reel"])
        assert [m.name for m in clip.markers] == [MARKER]


def test_fcp7_xml_route_for_premiere(ntsc):
    """A head on media that starts at 00:00:00:00 exports; the LENGTHEN track keeps its name, our
    markers their colour and a media-relative <in> like their clip's, the reels their names."""
    out, warnings = ntsc.write(ntsc.track, "result.xml")
    assert "FCP7 XML" in warnings[0]
    tl = verify_result(out)
    assert [t.name for t in tl.tracks if t.kind == "Video"] == ["V1", "LENGTHEN"]
    lengthen = next(t for t in tl.tracks if t.name == "LENGTHEN")
    assert _layout(lengthen) == TRACK_LAYOUT  # positions and name suffixes survive
    root = ET.parse(out).getroot()
    seen = 0
    for clipitem in root.iter("clipitem"):
        name = clipitem.findtext("name")
        if "[lengthen" not in name:
            continue
        seen += 1
        key = (name.split()[0], name.split("[lengthen ")[1].rstrip("]"))
        media_in, media_out = int(clipitem.findtext("in")), int(clipitem.findtext("out"))
        (marker,) = clipitem.findall("marker")
        # the marker counts from the media start, as the clip's <in> does (both 0 for a whole generated file)
        frames = 6 if key[1] == "head" else 5
        assert (int(marker.findtext("in")), int(marker.findtext("out"))) == (media_in, media_out) == (0, frames)
        color = marker.find("color")
        assert {c.tag: c.text for c in color} == {"alpha": "0", "red": "255", "green": "0", "blue": "127"}
        assert marker.findtext("pproColor") == PPRO_MARKER_COLOR and "lengthen" in marker.findtext("comment")
        assert clipitem.find("labels").findtext("label2") == "Magenta"
        file_e = clipitem.find("file")
        if file_e.find("timecode") is not None:  # the first use of a file carries its description
            assert file_e.find("timecode").findtext("string") == MEDIA_TC[key]
            assert file_e.find("timecode").find("reel").findtext("name") == ntsc.gen[key].metadata["reel"]
    assert seen == 4
    # read back through the adapter: source ranges come back in the media's timecode space
    back = {c.name: c for c in lengthen.find_clips()}
    for key, g in ntsc.gen.items():
        clip = back[f"{key[0]} [lengthen {key[1]}]"]
        assert clip.source_range.start_time.value == timecode_to_frames(MEDIA_TC[key], 24)
        (marker,) = clip.markers  # read as lengthen reads FCP7 XML: back over the clip's source range
        assert marker.marked_range == clip.source_range
        assert marker.metadata["fcp_xml"]["pproColor"] == PPRO_MARKER_COLOR


def test_edl_route_splice_names_the_new_reels(ntsc):
    """EDLs hold one video track: the spliced result (with a head on media at 00:00:00:00) exports,
    each event names the spliced file's reel and its timecode, and the dissolve survives."""
    out, warnings = ntsc.write(ntsc.splice, "result.edl")
    assert "EDL" in warnings[0]
    text = out.read_text()
    assert "LMPFS001 V     C        00:00:00:02" in text  # mpf01: spliced frame 2 = its new first frame
    assert "LMPFS002 V     D 006    00:59:59:19" in text  # mpf02, dissolving in (3 frames before its cut)
    assert "* FROM CLIP NAME:  mpf01 [lengthen head+tail]" in text
    assert text.count(f"MAGENTA {MARKER.upper()}") >= 4  # markers as LOC lines: colour by name
    # (--list-markers would fail on what the cmx_3600 READER makes: it hangs the outgoing clip's LOC lines of
    # a dissolve event on the incoming clip too, before that clip's start; the README states it)
    tl = verify_result(out, rate="24000/1001", list_markers=False)
    clips = list(tl.find_clips())
    assert [c.metadata["cmx_3600"]["reel"] for c in clips] == ["LMPFS001", "LMPFS002"]
    assert [c.name for c in clips] == ["mpf01 [lengthen head+tail]", "mpf02 [lengthen head+tail]"]
    assert [type(i).__name__ for i in tl.tracks[0]] == ["Clip", "Transition", "Clip"]
    written = {c.name: c for c in ntsc.splice.find_clips()}
    first, second = clips
    # timecodes in the spliced media's space: mpf01 starts where it was written; the EDL reader puts the cut at
    # the dissolve's start, so mpf02 comes back 3 frames longer at its head and ends where it was written
    assert first.source_range.start_time == written[first.name].source_range.start_time
    assert second.source_range.end_time_exclusive() == written[second.name].source_range.end_time_exclusive()
    assert tl.tracks[0].source_range.start_time.value == -12  # the reader's way to say: record starts at 12
    assert {m.name for c in clips for m in c.markers} == {MARKER.upper()}  # the LOC lines (their ranges are lost)
    assert len(first.markers) == 2 and len(second.markers) == 4  # mpf02 got mpf01's two as well


def test_edl_of_a_track_result_is_refused_before_any_media(ntsc, tmp_path):
    with pytest.raises(TimelineError, match="one video track: add --splice"):
        preflight(ntsc.doc, ntsc.plan, tmp_path / "x.edl", splice=False, media_dir=tmp_path / "m")
    preflight(ntsc.doc, ntsc.plan, tmp_path / "x.edl", splice=True, media_dir=tmp_path / "m")
    preflight(ntsc.doc, ntsc.plan, tmp_path / "x.xml", splice=False, media_dir=tmp_path / "m")
    with pytest.raises(TimelineError, match="fcpx_xml adapter writes only"):  # its NTSC bug: refused, not mis-written
        preflight(ntsc.doc, ntsc.plan, tmp_path / "x.fcpxml", splice=True, media_dir=tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_kdenlive_native_otio_route(ntsc):
    """Kdenlive 25.04+ imports .otio itself (no adapter). Modelled on its importer (otioimport.cpp;
    Kdenlive cannot run here): a clip goes at its trimmed_range_in_parent; its in point is its source
    start minus the timecode Kdenlive probes from the file (so OTIO ranges must be in the media's own
    timecode space); timeline markers become guides; clip markers are placed at source start +
    marker start and typed by colour (so ours, in source time, land off the clip: the guides and
    the file names carry the marking)."""
    out, _ = ntsc.write(ntsc.track, "kdenlive.otio")
    tl = verify_result(out)
    for video in tl.tracks:
        for clip in video.find_clips():
            path = otio.url_utils.filepath_from_url(clip.media_reference.target_url)
            media = probe(path)
            slip = clip.trimmed_range().start_time.value - timecode_to_frames(media.start_timecode, 24)
            assert 0 <= slip and slip + clip.trimmed_range().duration.value <= media.frames  # inside the file
            if "lengthen" in clip.metadata:
                assert "_head_" in path or "_tail_" in path  # Kdenlive shows the file name: it says what it is
    guides = sorted(round(m.marked_range.start_time.value) for m in tl.tracks.markers)
    assert guides == [start for start, _, _ in TRACK_LAYOUT]
    assert all(m.color == "MAGENTA" and "lengthen generated" in m.comment for m in tl.tracks.markers)


def test_resolve_otio_route(ntsc):
    """Resolve 18.5+ imports the .otio (the Resolve script does it for you): clips matched by file and
    timecode, the active media reference (the spliced file) used, markers with their colour names."""
    out, _ = ntsc.write(ntsc.splice, "resolve.otio")
    tl = verify_result(out)
    for clip in tl.find_clips():
        ref = clip.media_reference  # the active one: the spliced file, in its own timecode space
        media = probe(otio.url_utils.filepath_from_url(ref.target_url))
        assert ref.available_range.start_time.value == timecode_to_frames(media.start_timecode, 24)
        assert media.reel == clip.metadata["cmx_3600"]["reel"]
        assert [m.color for m in clip.markers] == ["MAGENTA", "MAGENTA"]
    mpf01 = next(c for c in tl.find_clips() if c.name.startswith("mpf01"))
    # re-based: the spliced file starts at 00:00:00:00 and the kept original reference moved with it
    assert mpf01.metadata["lengthen"]["timecode_rebased_frames"] == 6
    assert (mpf01.metadata["lengthen"]["reel"], mpf01.metadata["lengthen"]["source_reel"]) == ("LMPFS001", "z")
    original = mpf01.media_references()["DEFAULT_MEDIA"]
    assert original.available_range.start_time.value == 6


def test_fcpxml_route(tmp_path):
    """FCPXML through otio-fcpx-xml-adapter 1.0: a spliced result at 25 fps keeps positions,
    timecodes (asset start), clip names and markers in place; the dissolve, reels and marker colours
    are lost (README table)."""
    route = Route(tmp_path, "25")
    try:
        with pytest.raises(TimelineError, match="cannot write this result.*--splice"):
            preflight(route.doc, route.plan, tmp_path / "t.fcpxml", splice=False, media_dir=tmp_path / "m")
        preflight(route.doc, route.plan, tmp_path / "s.fcpxml", splice=True, media_dir=tmp_path / "m")
        out, warnings = route.write(route.splice, "result.fcpxml")
        assert "FCPXML" in warnings[0]
        tl = verify_result(out)
        written = {c.name: c for c in route.splice.find_clips()}
        back = list(tl.find_clips())
        assert [c.name for c in back] == ["mpf01 [lengthen head+tail]", "mpf02 [lengthen head+tail]"]
        for clip in back:
            assert clip.source_range == written[clip.name].source_range
            assert [m.marked_range for m in clip.markers] == [m.marked_range for m in written[clip.name].markers]
            assert all(m.name == MARKER for m in clip.markers)
        assert [round(c.range_in_parent().start_time.value) for c in back] == [12, 47]  # 12 + 35: butt cut now
        assert not any(isinstance(i, otio.schema.Transition) for i in tl.tracks[0])  # the dissolve is lost
    finally:
        route.doc.close()


def test_range_check_finds_negative_time(ntsc):
    from lengthen.timeline.verify import range_problems

    assert range_problems(ntsc.track) == [] and range_problems(ntsc.splice) == []
    bad = ntsc.track.deepcopy()
    clip = next(iter(_generated(bad).values()))
    clip.source_range = otio.opentime.TimeRange(
        otio.opentime.RationalTime(-3, 24000 / 1001), clip.source_range.duration
    )
    assert any("negative time" in p for p in range_problems(bad))
