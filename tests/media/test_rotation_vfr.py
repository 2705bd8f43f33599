"""Phone footage: display rotation and variable frame rate, through extend, timeline --splice and the face scan.

Rotation policy (README "Supported footage"): generated and spliced media are written in the
source's stored orientation with the source's rotation metadata, so every file plays the same way
up as its source; engines and the face detector see upright frames.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from lengthen.cli import main
from lengthen.media.probe import probe
from lengthen.media.reader import read_frames
from lengthen.media.synthetic import encode_clip, read_stamp, stamp_frame, stamped_clip

REPO = Path(__file__).resolve().parents[2]


def _player_frame(path: Path, index: int, shape) -> np.ndarray:
    """Frame ``index`` as a player that honours rotation shows it (FFmpeg's autorotate)."""
    import imageio_ffmpeg

    raw = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-vf", f"select=eq(n\\,{index})"]
        + ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(shape)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotated_clip_extends_and_plays_up_like_its_source(rotation, tmp_path, capsys):
    clip = stamped_clip(tmp_path / "phone.mp4", 8, "30000/1001", "h264", size=(48, 80), rotation=rotation)
    src = probe(clip)
    assert src.rotation == rotation % 360
    out = tmp_path / "out"
    code = main(
        ["extend", str(clip), "--head", "2f", "--tail", "3f", "--engine", "freeze", "--no-faces", "-o", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    source = read_frames(clip, 0, 8)  # upright
    upright = (80, 48, 3) if rotation % 180 else (48, 80, 3)
    assert source.shape[1:] == upright
    for direction, edge in (("head", source[0]), ("tail", source[-1])):
        media = Path(report["directions"][direction]["media"])
        info = probe(media)
        # stored as the source is, with the same rotation metadata
        assert (info.width, info.height, info.rotation) == (src.width, src.height, src.rotation)
        frames = read_frames(media, 0, info.frames)
        diff = np.abs(frames.astype(int) - edge)  # freeze: the edge frame, same way up (ProRes is lossy
        assert diff.mean() < 0.5 and diff.max() <= 12  # at the stamp's sharp black/white edges)
        # in a player that honours rotation, the new frame looks like the source frame it continues
        ours = _player_frame(media, 0, upright).astype(int)
        theirs = _player_frame(clip, 0 if direction == "head" else 7, upright).astype(int)
        assert np.abs(ours - theirs).mean() < 2.0
        assert np.abs(ours - np.rot90(theirs, 2)).mean() > 20.0


def test_rotated_splice_keeps_orientation(tmp_path, capsys):
    sys.path.insert(0, str(REPO / "tests" / "timeline"))
    from builders import media_clip, timeline, track, write

    clip = stamped_clip(tmp_path / "phone.mp4", 8, 25, "h264", size=(48, 80), rotation=270)
    cut = write(timeline("cut", [track("V1", [media_clip("shot", clip, 0, 8)])], 25), tmp_path / "cut.otio")
    code = main(
        ["timeline", str(cut), "-o", str(tmp_path / "r.otio"), "--handles", "2", "--engine", "freeze"]
        + ["--no-faces", "--splice", "--json"]
    )
    assert code == 0, capsys.readouterr().err
    (shot,) = json.loads(capsys.readouterr().out)["shots"]
    info = probe(shot["spliced"])
    assert (info.frames, info.width, info.height, info.rotation) == (12, 80, 48, 270)
    spliced = read_frames(shot["spliced"], 0, 12)
    source = read_frames(clip, 0, 8)
    assert spliced.shape[1:] == (80, 48, 3)
    assert np.abs(spliced[2:10].astype(int) - source).mean() < 1.0
    assert np.abs(spliced[:2].astype(int) - source[0]).mean() < 1.0  # freeze head
    assert np.abs(spliced[2:10].astype(int) - np.rot90(source, 2, axes=(1, 2))).mean() > 20


def test_faces_are_detected_on_upright_frames(testdata, tmp_path):
    """A face filmed with the phone on its side: stored sideways, with rotation metadata. The scan
    reads upright frames, so it finds the face where it is on the upright picture."""
    from PIL import Image

    from lengthen.faces.backends.registry import get_backend
    from lengthen.faces.scan import ScanSettings, detect_faces, scan_shot

    photo = Image.open(testdata / "images" / "skimage__astronaut.png").convert("RGB")
    upright = np.asarray(photo.resize((256, 320)))  # (320, 256): portrait, so a wrong turn changes the shape
    stored = np.ascontiguousarray(np.rot90(upright, k=-1))  # the sensor's raster, (256, 320)
    rotated = encode_clip(tmp_path / "rotated.mp4", [stored] * 3, 25, "h264", rotation=90)
    backend = get_backend("dlib")
    (expected,) = detect_faces(backend, upright)
    found = scan_shot(rotated, 0, 2, ScanSettings(), backend)
    assert found.faces_found >= 1 and len(found.banks) == 1
    box = np.asarray(found.banks[0].sources[0].box, dtype=float)
    ref = np.asarray(expected.box, dtype=float)
    inter = np.clip(np.minimum(box[2:], ref[2:]) - np.maximum(box[:2], ref[:2]), 0, None).prod()
    union = (box[2:] - box[:2]).prod() + (ref[2:] - ref[:2]).prod() - inter
    assert inter / union > 0.7, (box, ref)  # the same face, in upright coordinates


def _vfr_clip(path: Path, slots, rate="24000/1001") -> Path:
    return encode_clip(path, [stamp_frame(i, 48, 80) for i in range(len(slots))], rate, "h264", slots=slots)


def test_vfr_probe_reports_nominal_rate_and_conform(tmp_path):
    # a film clip with every third frame dropped, 23.976 nominal: its average rate is 16 fps
    slots = [s for s in range(30) if s % 3 != 2]
    info = probe(_vfr_clip(tmp_path / "dropped.mp4", slots))
    assert info.vfr and info.fps == "24000/1001" and info.stream_frames == 20
    assert info.frames == 29 and info.repeated_frames == 9 and info.dropped_frames == 0
    assert 15.5 < float(Fraction(info.average_fps)) < 17.0  # what the old probe wrote media at
    assert info.vfr_refusal is None and "conformed to 24000/1001" in info.notes()[0]


def test_vfr_half_frame_jump_conforms_as_a_run(tmp_path):
    """24 fps timing (stamped at 48) that jumps by half a frame after 20 frames: the next frames lie
    exactly half-way between slots. Exact slot arithmetic sends every one of them to the later slot,
    so the run stays a run: one slot repeated at the jump, none shared (float rounding of those
    halves went both ways and refused the file as '8 of 40 frames share a slot')."""
    slots = list(range(0, 40, 2)) + list(range(41, 81, 2))
    clip = _vfr_clip(tmp_path / "half.mp4", slots, rate="48")
    info = probe(clip)
    assert info.vfr and info.fps == "24" and info.vfr_refusal is None
    assert info.stream_frames == 40 and info.frames == 41
    assert info.repeated_frames == 1 and info.dropped_frames == 0
    stamps = [read_stamp(f) for f in read_frames(clip, 0, info.frames)]
    assert stamps == list(range(20)) + [19] + list(range(20, 40))


def test_probe_prints_the_conform_and_the_colour_tags(tmp_path, capsys):
    slots = [s for s in range(30) if s % 3 != 2]
    clip = _vfr_clip(tmp_path / "dropped.mp4", slots)
    assert main(["probe", str(clip)]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines()[1:])
    assert lines["fps"] == "24000/1001" and lines["frames"] == "29" and lines["stream_frames"] == "20"
    assert lines["repeated_frames"] == "9" and lines["color_space"] == "unknown" and lines["bit_depth"] == "8"


def test_vfr_extend_conforms_to_the_nominal_rate_and_says_so(tmp_path):
    """Through the real CLI (a subprocess): generated media at 24000/1001 with continuous timecode."""
    slots = [s for s in range(30) if s % 3 != 2]
    clip = _vfr_clip(tmp_path / "dropped.mp4", slots)
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "lengthen", "extend", str(clip), "--tail", "4f", "--engine", "freeze"]
        + ["--no-faces", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "note: variable frame rate (average" in run.stdout and "conformed to 24000/1001 fps" in run.stdout
    report = json.loads((out / "report.json").read_text())
    tail = probe(report["directions"]["tail"]["media"])
    # 29 conformed frames from 00:00:00:00: the tail starts at frame 29 = 00:00:01:05 at 24 nominal
    assert (tail.fps, tail.frames, tail.start_timecode, tail.vfr) == ("24000/1001", 4, "00:00:01:05", False)


def test_irregular_vfr_is_refused_with_the_transcode_command(tmp_path):
    clip = _vfr_clip(tmp_path / "gappy.mp4", [0, 1, 2, 3, 60, 61, 62, 63], rate="25")
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "lengthen", "extend", str(clip), "--tail", "4f", "--engine", "freeze"]
        + ["--no-faces", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert "gappy.mp4" in line and "too irregular to conform" in line and "ffmpeg -i IN -vf fps=25" in line
    assert not list(out.rglob("*.mov"))
