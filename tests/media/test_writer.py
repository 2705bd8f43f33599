from fractions import Fraction

import numpy as np
import pytest

from lengthen.errors import Cancelled, MediaError, UsageError
from lengthen.media.probe import probe
from lengthen.media.reader import read_frames
from lengthen.media.synthetic import read_stamp, stamp_frame
from lengthen.media.writer import VideoWriter, versioned_path, write_video
from lengthen.progress import SilentProgress


def _frames(n, h=96, w=160):
    return np.stack([stamp_frame(i, h, w) for i in range(n)])


def test_prores_with_timecode_probes_back(tmp_path):
    frames = _frames(30)
    path = write_video(tmp_path / "ext_v001.mov", frames, rate="24000/1001", start_timecode="01:00:10:05", reel="A001")
    info = probe(path)
    assert info.codec == "prores" and info.pix_fmt.startswith("yuv422p10")
    assert info.fps == "24000/1001" and info.frames == 30 and info.start_timecode == "01:00:10:05"
    assert info.reel == "A001"
    back = read_frames(path, 0, 30)
    assert [read_stamp(f) for f in back] == list(range(30))
    # ProRes HQ is near-lossless: small codec error only.
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 1.5


def test_prores_is_hq_profile(tmp_path):
    import av

    path = write_video(tmp_path / "hq.mov", _frames(2), rate=25)
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.profile == "HQ"
        tmcd = [s for s in c.streams if s.type == "data"]
        assert tmcd and tmcd[0].metadata.get("timecode") == "00:00:00:00"


@pytest.mark.parametrize("codec, name", [("dnxhr", "dnxhd"), ("h264", "h264")])
def test_other_codecs(tmp_path, codec, name):
    frames = _frames(6, 144, 256)
    path = write_video(
        tmp_path / f"c_{codec}.mov", frames, rate="30000/1001", codec=codec, start_timecode="00:59:59;28"
    )
    info = probe(path)
    assert (
        info.codec == name and info.frames == 6 and info.start_timecode == "00:59:59;28" and info.fps == "30000/1001"
    )


def test_refuses_to_overwrite_inputs_and_existing(tmp_path):
    src = write_video(tmp_path / "src.mov", _frames(2), rate=25)
    before = src.read_bytes()
    with pytest.raises(MediaError, match="input"):
        VideoWriter(src, rate=25, width=160, height=96, protect=[src], overwrite=True)
    with pytest.raises(MediaError, match="exists"):
        VideoWriter(src, rate=25, width=160, height=96)
    assert src.read_bytes() == before


def test_failure_midway_leaves_nothing(tmp_path):
    target = tmp_path / "out.mov"
    with pytest.raises(MediaError):
        with VideoWriter(target, rate=25, width=160, height=96) as w:
            w.write(_frames(3))
            w.write(np.zeros((2, 10, 10, 3), np.uint8))  # wrong size: an error mid-file
    assert list(tmp_path.iterdir()) == []


def test_cancel_leaves_no_partial_file(tmp_path):
    progress = SilentProgress()

    def chunks():
        yield _frames(4)
        progress.cancel()
        yield _frames(4)

    with pytest.raises(Cancelled):
        write_video(tmp_path / "c.mov", chunks(), rate=25, progress=progress)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(UsageError):
        VideoWriter(tmp_path / "x.mp4", rate=25, width=16, height=16)
    with pytest.raises(UsageError):
        VideoWriter(tmp_path / "x.mov", rate=25, width=16, height=16, codec="gif")
    with pytest.raises(UsageError):
        VideoWriter(tmp_path / "x.mov", rate=24, width=16, height=16, start_timecode="00:00:00;00")


def test_versioned_names(tmp_path):
    first = versioned_path(tmp_path, "Shot 12 / take 3", ".mov")
    assert first.name == "Shot_12_take_3_v001.mov"
    first.write_bytes(b"x")
    assert versioned_path(tmp_path, "Shot 12 / take 3", ".mov").name == "Shot_12_take_3_v002.mov"


def test_exact_rate_in_stream(tmp_path):
    import av

    path = write_video(tmp_path / "r.mov", _frames(3), rate=Fraction(60000, 1001))
    with av.open(str(path)) as c:
        assert c.streams.video[0].average_rate == Fraction(60000, 1001)


def test_a_long_output_name_is_written(tmp_path):
    """The writer's temporary name is fsutil's (stem cut to 80 characters): a 240-character
    output name, whose '.{stem}.xxxxxxxx.partial.mov' would pass 255 bytes, is written, and
    nothing temporary is left."""
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    path = write_video(tmp_path / ("x" * 240 + ".mov"), frames, rate="24")
    assert path.is_file() and sorted(tmp_path.iterdir()) == [path]
