"""Colour-true media: tags copied, RGB <-> YUV with the source's matrix and range, no shift at the seam.

Colour bars are made with PyAV (75% bars, tagged BT.709 or BT.601); a freeze extension must decode,
read with the output's own tags, within 1 code value of the source frame; the output must carry the
source's tags (read by PyAV, and by the FFmpeg command line as ffprobe would print them).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from lengthen.cli import main
from lengthen.media.color import ColorTags, frame_to_rgb, rgb_to_frame
from lengthen.media.probe import probe
from lengthen.media.reader import read_frames
from lengthen.media.synthetic import color_bars, encode_clip, stamp_frame

BT709 = ColorTags(1, 1, 1, 1)
BT601 = ColorTags(6, 6, 6, 1)


def _ffmpeg_stream_line(path: Path) -> str:
    """The `Stream #0:0 ... Video:` line FFmpeg prints for a file (what ffprobe shows)."""
    import imageio_ffmpeg

    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True)
    return next(line for line in run.stderr.decode().splitlines() if "Video:" in line)


def _freeze_tail(clip: Path, out: Path, capsys, *extra) -> Path:
    code = main(["extend", str(clip), "--tail", "3f", "--engine", "freeze", "--no-faces", "-o", str(out), *extra])
    assert code == 0, capsys.readouterr().err
    (media,) = sorted((out / "media").glob("*_tail_v001.mov"))
    return media


@pytest.mark.parametrize("name,tags,expected", [("bt709", BT709, "bt709"), ("bt601", BT601, "smpte170m")])
def test_color_bars_round_trip_within_one_code_value(name, tags, expected, tmp_path, capsys):
    # high-quality H.264 4:2:0 bars, tagged, as a camera or a grading system would deliver them
    clip = encode_clip(tmp_path / f"bars_{name}.mp4", [color_bars(96, 160)] * 6, 25, "h264", color=tags)
    source = read_frames(clip, 5, 1)[0]  # read with the source's tags
    assert np.abs(source.astype(int) - color_bars(96, 160)).max() <= 8  # the bars decode as bars (H.264 is lossy)
    media = _freeze_tail(clip, tmp_path / "out", capsys)
    info = probe(media)
    assert (info.color_primaries, info.color_transfer, info.color_space, info.color_range) == (
        expected,
        expected if name == "bt709" else "smpte170m",
        expected,
        "tv",
    )
    line = _ffmpeg_stream_line(media)
    assert "prores" in line and f"yuv422p10le(tv, {expected}, progressive)" in line, line
    generated = read_frames(media, 0, 3)  # read with the output's own tags
    assert np.abs(generated.astype(int) - source[None]).max() <= 1


def test_untagged_hd_is_read_and_written_as_bt709_and_sd_as_bt601(tmp_path, capsys):
    """The README's rule: untagged HD (wider than 1024 or taller than 576) is BT.709, SD BT.601."""
    hd = encode_clip(tmp_path / "hd.mp4", [color_bars(64, 1040)] * 4, 25, "h264")
    sd = encode_clip(tmp_path / "sd.mp4", [color_bars(96, 160)] * 4, 25, "h264")
    assert probe(hd).color_space == probe(sd).color_space == "unknown"
    assert probe(hd).color_tags == BT709 and probe(sd).color_tags == BT601
    for clip, expected in ((hd, "bt709"), (sd, "smpte170m")):
        media = _freeze_tail(clip, tmp_path / clip.stem, capsys)
        assert probe(media).color_space == expected
        # written with the resolved matrix: no colour shift (ProRes is lossy: an odd pixel at a sharp
        # bar edge may move by 2)
        diff = np.abs(read_frames(media, 0, 1)[0].astype(int) - read_frames(clip, 3, 1)[0])
        assert diff.max() <= 2 and (diff > 1).mean() < 0.001
        frame = read_frames(clip, 3, 1)[0]
        assert np.abs(frame.astype(int) - color_bars(*frame.shape[:2])).max() <= 8


def test_the_old_bt601_write_would_have_shifted_green(tmp_path):
    """Why this matters: BT.709 bars written with BT.601 and read as BT.709 shift by tens of levels."""
    bars = color_bars(96, 160)
    wrong = frame_to_rgb(rgb_to_frame(bars, "yuv422p10le", BT601), BT709)
    right = frame_to_rgb(rgb_to_frame(bars, "yuv422p10le", BT709), BT709)
    assert np.abs(wrong.astype(int) - bars).max() > 15
    assert np.abs(right.astype(int) - bars).max() <= 1


def test_full_range_source_is_scaled_to_video_range_for_prores(tmp_path, capsys):
    clip = encode_clip(tmp_path / "full.mp4", [color_bars(96, 160)] * 4, 25, "h264", color=ColorTags(1, 1, 1, 2))
    assert probe(clip).color_range == "pc"
    media = _freeze_tail(clip, tmp_path / "out", capsys)
    assert probe(media).color_range == "tv"
    assert np.abs(read_frames(media, 0, 1)[0].astype(int) - read_frames(clip, 3, 1)[0]).max() <= 1


def test_ten_bit_source_is_spliced_without_an_eight_bit_step(tmp_path, capsys):
    """A 10-bit gradient: the spliced file's source frames keep every 10-bit code (no banding)."""
    import av

    from lengthen.media.color import read_planes

    ramp = np.linspace(0, 255, 160, dtype=np.float64)
    frames = [stamp_frame(i, 96, 160) for i in range(6)]
    clip = encode_clip(tmp_path / "ten.mov", frames, 25, "prores", color=BT709)
    # overwrite the luma of the source with a fine 10-bit ramp (values that 8 bits cannot hold)
    clip2 = tmp_path / "ramp.mov"
    with av.open(str(clip)) as src, av.open(str(clip2), "w", format="mov") as dst:
        stream = dst.add_stream("prores_ks", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv422p10le"
        BT709.apply_to(stream.codec_context)
        for i, frame in enumerate(src.decode(video=0)):
            y, cb, cr = (p.copy() for p in read_planes(frame))
            y[:] = (64 + ramp * 3.4 + i).astype(np.uint16)[None, :]  # 64..931, steps of ~3.4 codes
            from lengthen.media.color import _new_frame

            out = _new_frame([y, cb, cr], "yuv422p10le", 160, 96, BT709)
            out.pts = i
            for packet in stream.encode(out):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)
    cut = tmp_path / "cut.otio"
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))
    from builders import media_clip, timeline, track, write

    write(timeline("cut", [track("V1", [media_clip("shot", clip2, 0, 6)])], 25), cut)
    code = main(
        ["timeline", str(cut), "-o", str(tmp_path / "o" / "r.otio"), "--handles", "2", "--engine", "freeze"]
        + ["--no-faces", "--splice"]
    )
    assert code == 0, capsys.readouterr().err
    (spliced,) = (tmp_path / "o" / "r_media").glob("*_spliced_v001.mov")
    with av.open(str(clip2)) as a, av.open(str(spliced)) as b:
        src_y = [read_planes(f)[0].copy() for f in a.decode(video=0)]
        out_y = [read_planes(f)[0].copy() for f in b.decode(video=0)]
    assert probe(spliced).bit_depth == 10 and len(out_y) == 10
    for i in range(6):  # ProRes HQ is near-lossless: within 2 ten-bit codes, and no 4-code steps of an 8-bit path
        diff = np.abs(out_y[2 + i].astype(int) - src_y[i].astype(int))
        assert diff.max() <= 2, diff.max()
    # an 8-bit step would leave only multiples of 4 (Y10 = Y8 << 2): the ramp keeps its in-between codes
    assert len(np.unique(out_y[2][48] % 4)) == 4


def test_pasp_fiel_and_dnxhr_hqx(tmp_path, capsys):
    """pasp (pixel aspect, 1:1 too) and fiel (field order) atoms; DNxHR HQX is 10-bit."""
    clip = encode_clip(tmp_path / "tff.mov", [stamp_frame(i, 120, 256) for i in range(5)], 25, "prores", sar="16:11")
    # tag the field order as an interlaced camera file would
    tagged = encode_clip(
        tmp_path / "i.mov", [stamp_frame(i, 120, 256) for i in range(5)], 25, "prores", field_order="tt"
    )
    media = _freeze_tail(tagged, tmp_path / "o1", capsys)
    data = media.read_bytes()
    assert b"pasp" in data and b"fiel" in data
    assert probe(media).field_order == "tt" and probe(media).sar == "1:1"
    hqx = _freeze_tail(clip, tmp_path / "o2", capsys, "--codec", "dnxhr-hqx")
    info = probe(hqx)
    assert (info.codec, info.pix_fmt, info.bit_depth, info.sar) == ("dnxhd", "yuv422p10le", 10, "16:11")
    assert b"pasp" in hqx.read_bytes()
    assert "DNXHR HQX" in _ffmpeg_stream_line(hqx).upper()


def test_evaluate_reports_the_seam_colour_difference(testdata, tmp_path):
    """On real footage: `evaluate` puts the seam's mean colour difference in every row and the table."""
    from lengthen.config import ExtendRequest
    from lengthen.engines.base import EngineSettings
    from lengthen.evaluate.harness import EvalSpec, evaluate, table

    clip = testdata / "video" / "openmpf__video_01.mp4"
    request = ExtendRequest(engine="freeze", settings=EngineSettings(quality="tiny"), scan_faces=False)
    result = evaluate(EvalSpec(str(clip), 0, 20, 4), ["freeze", "motion"], request, tmp_path / "eval")
    rows = result["rows"]
    assert all("seam_color" in row for row in rows.values())
    # freeze writes the last source frame again: through ProRes and back, no colour shift at the seam
    assert rows["freeze"]["seam_color"] < 0.25
    assert "seam_color" in table(result).splitlines()[0]


def test_untagged_rules_and_hdr_names():
    """HD (wider than 1024 or taller than 576) = BT.709; 576-line SD = BT.601 with BT.470BG primaries,
    other SD = SMPTE 170M; video range unless yuvj; PQ and HLG are named and warned about."""
    untagged = ColorTags()
    assert untagged.resolved(1920, 1080) == BT709
    assert untagged.resolved(1280, 720) == BT709 and untagged.resolved(1040, 64) == BT709
    assert untagged.resolved(720, 480) == BT601
    assert untagged.resolved(720, 576) == ColorTags(5, 6, 6, 1)
    assert untagged.resolved(640, 480, "yuvj420p").range == 2
    assert ColorTags(1, 2, 2, 0).resolved(720, 480) == ColorTags(1, 6, 6, 1)  # what is tagged is kept
    pq, hlg = ColorTags(9, 16, 9, 1), ColorTags(9, 18, 9, 1)
    assert pq.names() == {
        "color_primaries": "bt2020",
        "color_transfer": "smpte2084",
        "color_space": "bt2020nc",
        "color_range": "tv",
    }
    assert ColorTags.from_names(**dict(zip(("primaries", "transfer", "matrix", "rng"), hlg.names().values()))) == hlg
    from lengthen.media.color import hdr_warning

    assert "HLG" in hdr_warning(hlg) and "PQ" in hdr_warning(pq) and hdr_warning(BT709) is None
