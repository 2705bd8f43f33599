"""`lengthen timeline` end to end with the freeze engine on a small timeline over the shared videos."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))

import opentimelineio as otio  # noqa: E402
from builders import gap, media_clip, timeline, track, transition, verify_result, write  # noqa: E402

from lengthen.cli import main  # noqa: E402
from lengthen.media.probe import probe  # noqa: E402


def _cut(testdata, folder):
    mpf = testdata / "video" / "openmpf__video_01_h265_aac.mp4"  # 31 frames at 30000/1001, 640x480
    rate = "30000/1001"
    # first: media frames 2..13, dissolve (in 2, out 2), second: 16..28; gap; third: frames 0..9
    tl = timeline(
        "party",
        [
            track(
                "V1",
                [
                    media_clip("first", mpf, 2, 12),
                    transition(2, 2, rate),
                    media_clip("second", mpf, 16, 13),
                    gap(3, rate),
                    media_clip("third", mpf, 0, 10),
                ],
            )
        ],
        rate,
    )
    return write(tl, folder / "party.otio")


def test_timeline_command_end_to_end(testdata, tmp_path, capsys):
    cut = _cut(testdata, tmp_path)
    before = cut.read_bytes()
    out = tmp_path / "out" / "party_ext.otio"
    code = main(["timeline", str(cut), "-o", str(out), "--handles", "4", "--engine", "freeze", "--no-faces", "--json"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    assert cut.read_bytes() == before
    # handles 4, media 0..30: first visible 2..13+2 -> head 4-2 = 2, tail 0; second visible 16-2..28 -> 0,
    # tail 28+4-30 = 2;
    # third visible 0..9 -> head 4, tail 0
    made = {(s["clip"], g["direction"]): g for s in summary["shots"] for g in s["generated"]}
    assert {k: g["frames"] for k, g in made.items()} == {
        ("first", "head"): 2,
        ("second", "tail"): 2,
        ("third", "head"): 4,
    }
    tail = probe(made[("second", "tail")]["media"])
    # the tail continues the source timecode: media frame 31 at 30 fps nominal = 00:00:01:01
    assert (tail.codec, tail.fps, tail.frames, tail.start_timecode) == ("prores", "30000/1001", 2, "00:00:01:01")
    head = probe(made[("third", "head")]["media"])
    # 4 frames before 00:00:00:00: no negative time (and no 23:59:59:26 the OTIO ranges could not follow),
    # the head's media is re-based to start at 00:00:00:00 under its own reel
    assert head.start_timecode == "00:00:00:00" and head.reel == "LTHIH001"
    assert Path(made[("first", "head")]["media"]).parent == tmp_path / "out" / "party_ext_media"
    result = verify_result(out)
    # the source has sound (AAC), so each generated video track has an audio twin (issue 20)
    assert [t.name for t in result.tracks] == ["V1", "LENGTHEN", "LENGTHEN 2", "LENGTHEN A", "LENGTHEN A2"]
    assert [t.kind for t in result.tracks[3:]] == [otio.schema.TrackKind.Audio] * 2
    third = next(c for c in result.find_clips() if c.name == "third [lengthen head]")
    assert third.source_range.start_time.value == 0 and third.media_reference.available_range.duration.value == 4
    info = third.metadata["lengthen"]
    assert (info["timecode"], info["timecode_rebased_frames"], info["reel"]) == ("00:00:00:00", 4, "LTHIH001")
    assert third.metadata["cmx_3600"]["reel"] == "LTHIH001" and info["source_reel"] == "openmpf__video_01_h265_aac"
    # timeline: first 0..12, second 12..25, gap, third 28..38 -> first head at 0 + (-2 - 2) = -4, 2 frames: all before
    # the timeline start, not placed; third head at 28 - 4 = 24 (4 frames, ends 28); second tail at 12 + (31 - 16) = 27
    # (2 frames), which overlaps the third's head -> the second track
    placed = [
        [(round(c.range_in_parent().start_time.value), round(c.duration().value), c.name) for c in t.find_clips()]
        for t in result.tracks[1:]
    ]
    assert placed[:2] == [[(24, 4, "third [lengthen head]")], [(27, 2, "second [lengthen tail]")]]
    assert placed[2:] == placed[:2]  # audio clips in sync with the video ones: same place, length, name
    for video, audio in zip(result.tracks[1:3], result.tracks[3:]):
        (v,), (a,) = video.find_clips(), audio.find_clips()
        assert a.source_range == v.source_range and a.media_reference.target_url == v.media_reference.target_url
        assert a.metadata["lengthen"]["kind"] == "audio" and a.markers[0].name == v.markers[0].name
        assert a.metadata["lengthen"]["audio"]["samples"] == round(
            v.duration().value * 44100 * 1001 / 30000
        )  # 44.1 kHz stereo like the source, as long as the picture
    assert [dict(d) for d in result.metadata["lengthen"]["not_placed"]] == [
        {"clip": "first", "direction": "head", "frames": 2, "media": made[("first", "head")]["media"]}
    ]
    assert all(c.metadata["lengthen"]["schema_version"] == 1 for t in result.tracks[1:] for c in t.find_clips())
    assert out.with_name("party_ext_media").is_dir() and not list(out.parent.glob(".*partial*"))


def test_timeline_command_bad_input(testdata, tmp_path, capsys):
    cut = _cut(testdata, tmp_path)
    assert main(["timeline", str(cut), "-o", str(cut), "--engine", "freeze"]) == 2
    assert f"{cut}: the output timeline would overwrite an input file" in capsys.readouterr().err
    assert main(["timeline", str(cut), "-o", str(tmp_path / "x.doc"), "--engine", "freeze"]) == 2
    assert "no installed OTIO adapter" in capsys.readouterr().err
    assert (
        main(["timeline", str(cut), "-o", str(tmp_path / "y.otio"), "--engine", "nope", "--no-faces", "--tail", "2"])
        == 1
    )
    err = capsys.readouterr().err
    assert "unknown engine 'nope'" in err and "'first'" in err
    result = otio.adapters.read_from_file(str(tmp_path / "y.otio"))  # the others (none here) still written
    assert [t.name for t in result.tracks] == ["V1"]


def test_heads_before_midnight_export_to_edl_and_fcp7_xml(testdata, tmp_path, capsys):
    """The party clips' media starts at 00:00:00:00 and every clip gets a 3-frame head: the spliced EDL
    and the FCP7 XML are written, the EDL names the spliced files' reels, and a LENGTHEN track
    (two video tracks) to an EDL is refused before any media is generated."""
    cut = _cut(testdata, tmp_path)
    common = ["--engine", "freeze", "--no-faces", "--head", "3f", "--tail", "0"]
    edl = tmp_path / "spliced.edl"
    assert main(["timeline", str(cut), "-o", str(edl), "--splice", *common]) == 0, capsys.readouterr().err
    text = edl.read_text()
    reels = [probe(p).reel for p in sorted((tmp_path / "spliced_media").glob("*_spliced_v001.mov"))]
    assert sorted(reels) == ["LFIRS001", "LSECS001", "LTHIS001"]
    assert all(f" {reel} V " in text for reel in reels)  # the events carry the new media's reels
    assert "23:59:59" not in text  # re-based to start at 00:00:00:00, not wrapped into the day before
    verify_result(edl, rate="30000/1001", list_markers=False)
    xml = tmp_path / "heads.xml"
    assert main(["timeline", str(cut), "-o", str(xml), *common]) == 0, capsys.readouterr().err
    verify_result(xml)
    capsys.readouterr()
    refused = tmp_path / "track.edl"
    assert main(["timeline", str(cut), "-o", str(refused), *common]) == 2
    err = capsys.readouterr().err
    assert "one video track: add --splice" in err and "before generating any media" in err
    assert not refused.exists() and not (tmp_path / "track_media").exists()


@pytest.mark.parametrize(
    "option, value, says",
    [("--cpus-per-shot", "0", "must be a positive number"), ("--cpus-per-shot", "-1", "must be a positive number"),
     ("--ray-cpus", "-2", "must be at least 1")],
)  # fmt: skip
def test_impossible_ray_resources_are_one_line_before_any_work(tmp_path, capsys, option, value, says):
    from lengthen.cli import main

    out = tmp_path / "out.otio"
    assert main(["timeline", str(tmp_path / "cut.otio"), "-o", str(out), "--executor", "ray", option, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0] and says in err[0] and not out.exists()


def test_timeline_refuses_outputs_in_the_guards_words(testdata, tmp_path, capsys):
    """Review finding: `lengthen timeline` kept its own 'output exists' / 'overwrite the input
    timeline' checks beside guards.check_output_file (which the API uses). Now one check, one
    wording: each refusal is guards' line for the same output, exit 2, nothing written."""
    from lengthen.errors import UsageError
    from lengthen.guards import check_output_file

    cut = _cut(testdata, tmp_path)
    existing = tmp_path / "old.otio"
    existing.write_text("{}")
    folder = tmp_path / "folder.otio"
    folder.mkdir()
    for out in (cut, existing, folder):
        with pytest.raises(UsageError) as words:
            check_output_file(out, "output timeline", protect=[cut])
        capsys.readouterr()
        assert main(["timeline", str(cut), "-o", str(out), "--engine", "freeze", "--no-faces"]) == 2
        assert capsys.readouterr().err.strip() == f"lengthen timeline: error: {words.value}", out
    assert "is a folder" in str(words.value)  # was 'output exists; refusing to overwrite'
    assert existing.read_text() == "{}" and folder.is_dir() and not list(folder.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.otio", "old.otio", "party.otio"]
