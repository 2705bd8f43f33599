"""Every kind of bad media input gives a clear MediaError naming the file, and the CLI exits 2."""

import json
import subprocess
import sys

import pytest

from lengthen.errors import MediaError
from lengthen.media.probe import probe
from lengthen.media.reader import read_frames


def _cases(tmp_path, stamped):
    good = stamped("h264", "25", frames=60)
    truncated = tmp_path / "truncated.mp4"
    data = good.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    audio = tmp_path / "tone.wav"
    _write_wav(audio)
    return {
        "missing": (tmp_path / "nope.mov", "not found"),
        "directory": (tmp_path, "directory"),
        "text renamed": (text, "not a readable media file"),
        "zero bytes": (empty, "empty"),
        "no video": (audio, "no video stream"),
        "truncated": (truncated, ""),
    }


def _write_wav(path):
    import av
    import numpy as np

    with av.open(str(path), "w", format="wav") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_each_bad_file_names_itself(tmp_path, stamped):
    for label, (path, words) in _cases(tmp_path, stamped).items():
        if label == "truncated":
            # A truncated MP4 either fails to open (moov lost) or reads fewer frames; either way
            # asking for frames it does not have names the file and the frame.
            with pytest.raises(MediaError) as err:
                read_frames(path, 50, 5)
        else:
            with pytest.raises(MediaError) as err:
                probe(path)
            assert words in str(err.value), label
        assert str(path) in str(err.value), label


def test_cli_exit_2_and_writes_nothing(tmp_path, stamped):
    cases = _cases(tmp_path / "in" if (tmp_path / "in").mkdir() is None else None, stamped)
    before = sorted(p.name for p in (tmp_path / "in").iterdir())
    for label, (path, _) in cases.items():
        if label == "truncated":
            continue
        run = subprocess.run(
            [sys.executable, "-m", "lengthen", "probe", str(path), "--json"], capture_output=True, text=True
        )
        assert run.returncode == 2, (label, run.stderr)
        assert str(path) in run.stderr and "Traceback" not in run.stderr
        assert run.stdout == ""
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == before


def test_cli_probe_json_on_shared_clip(testdata):
    run = subprocess.run(
        [sys.executable, "-m", "lengthen", "probe", str(testdata / "video" / "openmpf__video_01.mp4"), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(run.stdout)
    for key in (
        "path",
        "codec",
        "width",
        "height",
        "display_width",
        "display_height",
        "rotation",
        "sar",
        "fps",
        "vfr",
        "frames",
        "duration_s",
        "start_timecode",
        "pix_fmt",
        "has_audio",
    ):
        assert key in data
    assert data["fps"] == "30000/1001" and data["frames"] == 90
    assert data["sar"] == "1:1" and data["has_audio"] is True and data["start_timecode"] == "00:00:00:00"
