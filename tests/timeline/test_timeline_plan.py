"""Planning: handles mode, head/tail lengths, spec files; expectations computed by hand below."""

from __future__ import annotations

import json

import pytest
from builders import gap, media_clip, multitrack_timeline, timeline, track, transition, write

from lengthen.errors import UsageError
from lengthen.timeline import load_spec, parse_spec, plan_timeline, read_timeline


def _plan(path, **kw):
    with read_timeline(path) as doc:
        return plan_timeline(doc, **kw)


def _frames(plan):
    return {s.clip: (s.head_frames, s.tail_frames) for s in plan.shots}


def test_handles_mode_multitrack_with_transitions_and_gaps(project, tiny_media):
    path = write(multitrack_timeline(tiny_media), project / "cut.otio")
    plan = _plan(path)  # default: 12 handle frames
    # needed media = visible range +- 12, existing = 0..frames-1:
    # A: visible 4..27+5(dissolve out)=32, media 0..47 -> head 12-4 = 8,      tail max(0, 32+12-47) = 0
    # B: visible 0-3(dissolve in)..19, media 0..39  -> head 12-(-3) = 15,  tail max(0, 19+12-39) = 0
    # C: visible 30..47, media 0..47                -> head max(0, 12-30) = 0, tail 47+12-47 = 12
    # D: visible 10..39, media 0..39                -> head 12-10 = 2,     tail 39+12-39 = 12
    assert _frames(plan) == {"A": (8, 0), "B": (15, 0), "C": (0, 12), "D": (2, 12)}
    a = next(s for s in plan.shots if s.clip == "A")
    assert (a.first, a.last) == (0, 47)  # the whole available media is context
    assert a.generated_first_frame("head") == -8 and a.generated_timecode("head") == "00:59:59:16"  # 86400 - 8
    # handles 0 plans nothing; clips with enough media are listed with 0 and 0
    assert _frames(_plan(path, handles=0)) == {
        "A": (0, 0),
        "B": (3, 0),
        "C": (0, 0),
        "D": (0, 0),
    }  # B's dissolve needs 3


def test_head_tail_lengths_in_frames_and_ntsc_seconds(project, tiny_media):
    path = write(multitrack_timeline(tiny_media), project / "cut.otio")
    plan = _plan(path, head="12f", tail="2s")
    # 2 s at 24000/1001 = round(2 * 23.976...) = round(47.95) = 48 frames, for every clip
    assert set(_frames(plan).values()) == {(12, 48)}
    assert all(s.metadata["mode"] == "lengths" for s in plan.shots)
    d = plan.to_dict()["shots"][0]
    assert d["seconds"] == round(60 * 1001 / 24000, 3)  # 60 frames at 23.976
    assert {"clip", "track", "media", "rate", "head_frames", "tail_frames"} <= set(d)


def test_spec_file_per_clip_requests(project, tiny_media):
    path = write(multitrack_timeline(tiny_media), project / "cut.otio")
    spec_path = project / "spec.json"
    spec_path.write_text(
        json.dumps(
            {
                "schema": "lengthen.spec",
                "version": 1,
                "default": {"tail": "6f"},
                "clips": [
                    {"clip": "A", "tail": "2s"},
                    {"clip": "V1/2", "head": "12f", "tail": 0},
                    {"clip": "V2/1", "handles": "1s"},
                    {"clip": "C", "skip": True},
                ],
            }
        )
    )
    plan = _plan(path, spec=load_spec(spec_path))
    # A: 2 s = 48; B (V1/2): 12, 0; C skipped; D: handles 1 s = 24 -> head 24-10 = 14, tail 39+24-39 = 24
    assert _frames(plan) == {"A": (0, 48), "B": (12, 0), "D": (14, 24)}
    # the command line beats the spec's default, entries beat the command line
    spec = parse_spec(
        {"schema": "lengthen.spec", "version": 1, "default": {"tail": "6f"}, "clips": [{"clip": "C", "head": 1}]}
    )
    assert _frames(_plan(path, spec=spec)) == {"A": (0, 6), "B": (0, 6), "C": (1, 0), "D": (0, 6)}
    assert _frames(_plan(path, spec=spec, handles=0))["C"] == (1, 0)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"schema": "other", "version": 1}, "unknown schema 'other'"),
        ({"schema": "lengthen.spec", "version": 2}, "unsupported lengthen.spec version 2"),
        ({"schema": "lengthen.spec", "version": 1, "clips": [{"clip": "A", "tial": 3}]}, "unknown keys tial"),
        (
            {"schema": "lengthen.spec", "version": 1, "clips": [{"clip": "A", "tail": 3, "handles": 2}]},
            "either handles or head/tail",
        ),
        ({"schema": "lengthen.spec", "version": 1, "clips": [{"tail": 3}]}, "needs a 'clip'"),
        ({"schema": "lengthen.spec", "version": 1, "clips": {"A": 1}}, "'clips' must be a list"),
    ],
)
def test_bad_spec_files(tmp_path, data, message):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=message) as info:
        load_spec(path)
    assert info.value.path == path


def test_spec_naming_unknown_or_repeated_clips(project, tiny_media):
    path = write(multitrack_timeline(tiny_media), project / "cut.otio")
    bad = project / "bad.json"
    bad.write_text('{"schema": "lengthen.spec", ')
    with pytest.raises(UsageError, match="malformed spec JSON"):
        load_spec(bad)
    with pytest.raises(UsageError, match="names clip 'Z'"):
        _plan(path, spec=parse_spec({"schema": "lengthen.spec", "version": 1, "clips": [{"clip": "Z", "tail": 1}]}))
    with pytest.raises(UsageError, match="listed twice"):
        _plan(
            path,
            spec=parse_spec(
                {
                    "schema": "lengthen.spec",
                    "version": 1,
                    "clips": [{"clip": "V1/1", "tail": 1}, {"clip": "V1/1", "head": 1}],
                }
            ),
        )
    with pytest.raises(UsageError, match="not a length"):
        _plan(path, tail="two seconds")


def test_handles_on_shared_videos(tmp_path, testdata):
    """Clips over the shared test videos: exactly the missing handle frames per clip."""
    video = testdata / "video"
    tears, mpf = (
        video / "tears_of_steel_clip01.mp4",
        video / "openmpf__video_01_h265_aac.mp4",
    )  # 240 @ 24, 31 @ 30000/1001
    tl = timeline(
        "shared",
        [
            # robot shot from frame 5, a dissolve (in 2, out 6) into the man at the console, then the morph
            # shot to the end
            track(
                "V1",
                [
                    media_clip("robot", tears, 5, 16),
                    transition(2, 6, 24),
                    media_clip("console", tears, 65, 120),
                    gap(12, 24),
                    media_clip("morph", tears, 185, 55),
                ],
            ),
            track("V2", [gap(48, 24), media_clip("party", mpf, 3, 25)]),
        ],
        24,
    )
    plan = _plan(write(tl, tmp_path / "shared.otio"), handles=12)
    # The file holds three shots: robot 0..64, console 65..184, morph 185..239 (cuts at 65 and 185);
    # frames across a cut are another shot's, not handles.
    # robot:   visible 5..20+6 = 26, shot 0..64   -> head 12-5 = 7,   tail 0
    # console: visible 65-2 = 63..184, shot 0..184 (the dissolve shows the cut) -> head 0,
    #          tail 184+12-184 = 12 (frames 185.. are the morph shot)
    # morph:   visible 185..239, shot 185..239    -> head 12-0 = 12,  tail 239+12-239 = 12
    # party (29.97 media on a 24 timeline): visible 3..27 of 0..30 -> head 12-3 = 9, tail 27+12-30 = 9
    assert _frames(plan) == {"robot": (7, 0), "console": (0, 12), "morph": (12, 12), "party": (9, 9)}
    by_name = {s.clip: s for s in plan.shots}
    assert (by_name["console"].last, by_name["console"].metadata["cut_after"]) == (184, 185)
    assert (by_name["morph"].first, by_name["morph"].metadata["cut_before"]) == (185, 185)
    assert by_name["morph"].generated_first_frame("head") == 173  # replaces the console's last 12 frames
    assert _frames(_plan(write(tl, tmp_path / "shared2.otio"), handles=12, cuts=False))["morph"] == (0, 12)
    party = next(s for s in plan.shots if s.clip == "party")
    assert str(party.rate) == "30000/1001" and (party.first, party.last) == (0, 30)
    assert party.generated_timecode("tail") == "00:00:01:01"  # frame 31 at 30 fps nominal
