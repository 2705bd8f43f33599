import numpy as np
import pytest

from lengthen.errors import MediaError
from lengthen.media.probe import probe
from lengthen.media.reader import read_frame_list, read_frames
from lengthen.media.synthetic import read_stamp


@pytest.mark.parametrize("codec", ["h264", "hevc", "prores"])
@pytest.mark.parametrize("rate", ["24000/1001", "30000/1001"])
def test_exact_frames_for_random_ranges(stamped, codec, rate):
    path = stamped(codec, rate)
    info = probe(path)
    assert info.frames == 60 and info.fps == rate
    rng = np.random.default_rng(hash((codec, rate)) % 2**32)
    for _ in range(6):
        k = int(rng.integers(0, 55))
        n = int(rng.integers(1, 60 - k + 1))
        frames = read_frames(path, k, n)
        assert frames.shape[0] == n and frames.dtype == np.uint8 and frames.shape[-1] == 3
        assert [read_stamp(f) for f in frames] == list(range(k, k + n))


def test_h264_test_clip_really_has_b_frames(stamped):
    import av
    from av.video.frame import PictureType

    path = stamped("h264", "24000/1001")
    with av.open(str(path)) as c:
        types = {int(f.pict_type) for f in c.decode(video=0)}
    assert int(PictureType.B) in types


@pytest.mark.parametrize("codec", ["vp8", "mpeg4"])
def test_other_codecs_decode_exactly(stamped, codec):
    path = stamped(codec, "25", frames=40)
    frames = read_frame_list(path, [39, 0, 17, 17, 5])
    assert [read_stamp(f) for f in frames] == [39, 0, 17, 17, 5]


def test_sparse_far_apart_frames_seek(stamped):
    path = stamped("h264", "30000/1001", frames=120)
    picks = [3, 50, 51, 118]
    assert [read_stamp(f) for f in read_frame_list(path, picks)] == picks


def test_range_past_end_names_file_and_frame(stamped):
    path = stamped("h264", "24000/1001")
    with pytest.raises(MediaError) as err:
        read_frames(path, 55, 10)
    assert err.value.frame == 64 and str(path) in str(err.value)
    with pytest.raises(MediaError):
        read_frames(path, -1, 2)


def test_rotated_file_comes_out_upright_like_ffmpeg(tmp_path):
    import subprocess

    import imageio_ffmpeg

    from lengthen.media.synthetic import stamped_clip

    path = stamped_clip(tmp_path / "rot.mp4", 6, 25, "h264", rotation=90)
    info = probe(path)
    assert (info.rotation, info.width, info.height, info.display_width, info.display_height) == (90, 160, 96, 96, 160)
    ours = read_frames(path, 0, 1)[0]
    raw = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    theirs = np.frombuffer(raw, np.uint8).reshape(ours.shape)
    assert ours.shape == (160, 96, 3)
    # Same way up as FFmpeg (colour may differ by a code value or two: FFmpeg upsamples chroma bilinearly,
    # we nearest-neighbour, the exact inverse of our writer); upside down would differ by tens of levels.
    diff = np.abs(ours.astype(int) - theirs.astype(int)).mean()
    assert diff < 1.5
    assert np.abs(ours.astype(int) - np.rot90(theirs, 2).astype(int)).mean() > 10 * diff


def test_non_square_pixels_keep_stored_raster(tmp_path):
    from lengthen.media.synthetic import stamped_clip

    path = stamped_clip(tmp_path / "anamorphic.mov", 4, 25, "prores", sar="4:3")
    info = probe(path)
    assert info.sar == "4:3" and info.display_width == round(160 * 4 / 3) and info.display_height == 96
    assert read_frames(path, 0, 4).shape == (4, 96, 160, 3)


def test_variable_frame_rate_by_pts(tmp_path):
    """A VFR file: frames are found by pts, so frame i is the i-th displayed frame."""
    from fractions import Fraction

    import av

    from lengthen.media.synthetic import stamp_frame

    path = tmp_path / "vfr.mkv"
    pts = [0, 40, 80, 200, 240, 400, 440, 480]  # ms: irregular gaps
    with av.open(str(path), "w", format="matroska") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        s.time_base = Fraction(1, 1000)
        s.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(stamp_frame(i), format="rgb24")
            frame.pts = t
            frame.time_base = Fraction(1, 1000)
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    info = probe(path)
    # conformed to 25 fps as an editing system plays it: a missing slot repeats the frame before it
    assert info.vfr is True and info.fps == "25" and info.stream_frames == len(pts)
    assert info.frames == 13 and info.repeated_frames == 5 and info.dropped_frames == 0
    assert [read_stamp(f) for f in read_frames(path, 0, 13)] == [0, 1, 2, 2, 2, 3, 4, 4, 4, 4, 5, 6, 7]
    assert [read_stamp(f) for f in read_frames(path, 3, 4)] == [2, 2, 3, 4]


@pytest.mark.parametrize(
    "name", ["openmpf__video_01_h265_aac.mp4", "openmpf__video_01_vp8_opus.webm", "openmpf__video_01_xvid_aac.avi"]
)
def test_shared_variants_probe_and_decode(testdata, name):
    import av

    from lengthen.media.color import frame_to_rgb

    path = testdata / "video" / name
    info = probe(path)
    # the AVI has no frame at pts 1 (a dropped frame): conformed, frame 0 shows for two slots as in a player
    gap = 1 if name.endswith(".avi") else 0
    assert info.frames == 31 + gap and info.stream_frames == 31 and info.fps == "30000/1001"
    assert info.repeated_frames == gap
    with av.open(str(path)) as c:
        reference = [frame_to_rgb(f, info.color_tags) for f in c.decode(video=0)]
    assert len(reference) == info.stream_frames
    got = read_frames(path, 10, 5)
    assert all(np.array_equal(got[i], reference[10 - gap + i]) for i in range(5))
