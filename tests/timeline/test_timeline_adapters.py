"""FCP7 XML and CMX 3600 EDL inputs through the OTIO adapter plugins (skipped when not installed)."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
import pytest
from builders import gap, media_clip, multitrack_timeline, timeline, track

from lengthen.timeline import plan_timeline, read_timeline


def _frames(plan):
    return {s.clip: (s.head_frames, s.tail_frames) for s in plan.shots}


def test_fcp7_xml_input(tmp_path, tiny_media):
    pytest.importorskip("otio_fcp_adapter")
    path = tmp_path / "cut.xml"
    tl = multitrack_timeline(tiny_media)
    for clip in tl.find_clips():  # A's relative URL: written beside no media folder, so make it absolute
        if clip.media_reference.target_url == "media/a.mp4":
            clip.media_reference.target_url = otio.url_utils.url_from_filepath(str(tiny_media["a"]))
    otio.adapters.write_to_file(tl, str(path))
    with read_timeline(path) as doc:
        assert any("FCP7 XML" in w and "loses" in w for w in doc.warnings)
        plan = plan_timeline(doc, handles=12)
    # the same hand-computed handles as the .otio version (see test_timeline_plan)
    assert _frames(plan) == {"A": (8, 0), "B": (15, 0), "C": (0, 12), "D": (2, 12)}


def test_cmx3600_edl_input_needs_its_rate(tmp_path, tiny_media):
    pytest.importorskip("otio_cmx3600_adapter")
    rate = "24000/1001"
    tl = timeline(
        "edl",
        [
            track(
                "V1",
                [media_clip("A", tiny_media["a"], 4, 24), gap(10, rate), media_clip("C", tiny_media["a"], 30, 18)],
            )
        ],
        rate,
    )
    path = tmp_path / "cut.edl"
    otio.adapters.write_to_file(tl, str(path))
    with read_timeline(path, rate=Fraction(24000, 1001)) as doc:
        assert any("EDL" in w and "8 characters" in w for w in doc.warnings)
        assert not doc.problems
        # no available range in an EDL: media length and start timecode come from probing a.mp4
        assert {c.name: (c.src_first, c.media_frames, c.avail_start) for c in doc.clips} == {
            "A": (4, 48, 86400),
            "C": (30, 48, 86400),
        }
        assert _frames(plan_timeline(doc, handles=12)) == {"A": (8, 0), "C": (0, 12)}
    with read_timeline(path) as doc:  # the adapter's default 24 fps is not the media's 24000/1001
        assert {p.clip for p in doc.problems} == {"A", "C"}
        assert all("--rate" in p.message for p in doc.problems)
