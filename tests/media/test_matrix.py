"""The media matrix: footage editors really have, each cell through `extend` (motion engine, --no-faces)
and `timeline --splice`, both called in-process through the CLI's own ``main``.

Every cell is a tiny PyAV-made source (a few frame-stamped frames) that differs from the base cell in
one way: rotation, rate and drop-frame timecode, field order, bit depth, colour tags (BT.709, BT.601,
untagged HD, BT.2020 PQ and HLG), pixel aspect, odd size, a start timecode that wraps past midnight,
a non-zero first pts, audio, variable frame rate, output codec. A cell either passes, with every
output checked for frame count, stored size, SAR, rotation, rate, timecode continuity, colour tags,
field order and bit depth (and the spliced source frames decoded upright against the source's), or
is refused with exit 2 and one line (no traceback, nothing written). The README's support table is
this matrix.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))

from builders import media_clip, timeline, track, write  # noqa: E402

from lengthen.cli import main  # noqa: E402
from lengthen.media.color import ColorTags  # noqa: E402
from lengthen.media.probe import probe  # noqa: E402
from lengthen.media.reader import read_frames  # noqa: E402
from lengthen.media.synthetic import encode_clip, stamp_frame  # noqa: E402
from lengthen.media.writer import CODECS, output_color  # noqa: E402
from lengthen.timecode import offset_timecode  # noqa: E402

HEAD, TAIL = 2, 3  # extend
HANDLES = 2  # timeline --splice: the clip shows all its media, so 2 head and 2 tail frames are made


@dataclass(frozen=True)
class Cell:
    rate: str = "25"
    codec: str = "h264"  # the source's
    size: tuple = (36, 64)  # (height, width) stored
    frames: int = 8
    start_timecode: str | None = "01:00:00:00"
    source: dict = field(default_factory=dict)  # more encode_clip arguments
    output: str = "prores"  # --codec
    refused: str | None = None  # a phrase of the one-line refusal

    def make(self, folder: Path) -> Path:
        suffix = {"h264": ".mp4", "prores": ".mov"}[self.codec]
        h, w = self.size
        frames = [stamp_frame(i, h, w) for i in range(self.frames)]
        return encode_clip(folder / f"src{suffix}", frames, self.rate, self.codec, self.start_timecode, **self.source)


HLG = ColorTags(9, 18, 9, 1)
PQ = ColorTags(9, 16, 9, 1)
CELLS = {
    "base-25": Cell(),
    "rotation-90": Cell(source={"rotation": 90}),
    "rotation-180": Cell(source={"rotation": 180}),
    "rotation-270": Cell(source={"rotation": 270}),
    "rotation-minus90-phone": Cell(rate="30000/1001", start_timecode=None, source={"rotation": -90, "audio": True}),
    "23.976": Cell(rate="24000/1001"),
    "24": Cell(rate="24"),
    "29.97-drop-frame": Cell(rate="30000/1001", start_timecode="00:00:59;27"),  # the tail crosses a dropped minute
    "29.97-non-drop": Cell(rate="30000/1001", start_timecode="01:00:00:00"),
    "50": Cell(rate="50"),
    "59.94-drop-frame": Cell(rate="60000/1001", start_timecode="00:09:59;56"),
    "interlaced-tff-prores": Cell(codec="prores", source={"field_order": "tt"}),
    "interlaced-bff-prores": Cell(codec="prores", source={"field_order": "bb"}),
    "10-bit-prores": Cell(codec="prores"),
    "10-bit-hevc-like-h264": Cell(source={"pix_fmt": "yuv420p10le"}),
    "10-bit-to-dnxhr-hqx": Cell(codec="prores", output="dnxhr-hqx", size=(120, 256), frames=5),
    "bt709-tagged": Cell(source={"color": ColorTags(1, 1, 1, 1)}),
    "bt601-untagged-sd": Cell(),
    "untagged-hd-is-bt709": Cell(size=(64, 1040), frames=6),
    "full-range": Cell(source={"color": ColorTags(1, 1, 1, 2)}),
    "bt2020-pq-hdr": Cell(codec="prores", source={"color": PQ, "pix_fmt": "yuv422p10le"}),
    "bt2020-hlg-hdr": Cell(codec="prores", source={"color": HLG, "pix_fmt": "yuv422p10le"}),
    "anamorphic-16:11": Cell(source={"sar": "16:11"}),
    "anamorphic-64:51": Cell(codec="prores", source={"sar": "64:51"}),
    "odd-size-721x405": Cell(codec="prores", size=(405, 721), frames=6),
    "odd-size-to-h264": Cell(codec="prores", size=(55, 97), output="h264", refused="needs even sizes"),
    "wrap-23:59:59:xx": Cell(rate="24", start_timecode="23:59:59:20"),
    "wrap-drop-frame": Cell(rate="30000/1001", start_timecode="23:59:59;26"),
    "first-pts-not-zero": Cell(source={"first_pts": 7}),
    "audio-aac": Cell(source={"audio": True}),
    "audio-pcm-prores": Cell(codec="prores", source={"audio": True}),
    "vfr-every-third-dropped": Cell(rate="24000/1001", frames=10, source={"slots": [0, 1, 3, 4, 6, 7, 9, 10, 12, 13]}),
    "vfr-too-irregular": Cell(
        frames=8, source={"slots": [0, 1, 2, 3, 60, 61, 62, 63]}, refused="too irregular to conform"
    ),
    "h264-output": Cell(output="h264"),
    "dnxhr-output": Cell(output="dnxhr", size=(120, 256), frames=5),
    "dnxhr-too-small": Cell(output="dnxhr", refused="below DNxHR HQ's smallest"),
}


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _check_media(path, src, frames: int, start_tc: str, output: str) -> None:
    """Frame count, stored size, SAR, rotation, rate, timecode, colour tags, field order, bit depth."""
    out = probe(path)
    assert out.frames == frames, path
    assert (out.width, out.height, out.sar, out.rotation) == (src.width, src.height, src.sar, src.rotation)
    assert out.fps == src.fps and not out.vfr
    assert out.start_timecode == start_tc
    # copied (untagged sources: as we resolved them; full range scaled to video range for ProRes/DNxHR)
    tags = output_color(CODECS[output], src.color_tags).names()
    assert {k: getattr(out, k) for k in tags} == tags
    if output in ("prores", "dnxhr-hqx"):
        assert out.bit_depth == 10
    if src.field_order != "unknown" and output == "prores":
        assert out.field_order == src.field_order


def _head_timecode(src, frames: int) -> str:
    """Continuous with the source; a head that would start before 00:00:00:00 is re-based to start there."""
    if src.start_frame < frames:
        return "00:00:00;00" if src.drop_frame else "00:00:00:00"
    return offset_timecode(src.start_timecode, -frames, src.rate)


def _upright_close(a: np.ndarray, b: np.ndarray, tolerance: float) -> None:
    assert a.shape == b.shape
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    assert diff.mean() <= tolerance, diff.mean()


@pytest.mark.parametrize("name", list(CELLS))
def test_media_matrix_cell(name, tmp_path, capsys):
    cell = CELLS[name]
    clip = cell.make(tmp_path)
    src = probe(clip)
    assert src.stream_frames == cell.frames
    out = tmp_path / "extend"

    # -- extend ----------------------------------------------------------------------------------
    code, stdout, stderr = _cli(
        capsys,
        "extend",
        clip,
        "--head",
        f"{HEAD}f",
        "--tail",
        f"{TAIL}f",
        "--engine",
        "motion",
        "--no-faces",
        "--codec",
        cell.output,
        "-o",
        out,
    )
    if cell.refused:
        assert code == 2, stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and cell.refused in lines[0] and "Traceback" not in stderr
        assert lines[0].startswith("lengthen extend: error:") and str(clip.name) in lines[0]
        assert not list(out.rglob("*.mov")), "a refused run leaves no media"
        # the timeline refuses the shot the same way: one line naming it, no media, exit 1 (the item failed)
        cut = tmp_path / "cut.otio"
        write(timeline("cut", [track("V1", [media_clip("shot", clip, 0, src.frames)])], src.rate), cut)
        code, _, stderr = _cli(
            capsys, "timeline", cut, "-o", tmp_path / "tl" / "r.otio", "--handles", HANDLES, "--engine", "motion",
            "--no-faces", "--codec", cell.output, "--splice",
        )  # fmt: skip
        lines = [line for line in stderr.splitlines() if cell.refused in line]
        assert code in (1, 2) and len(lines) == 1 and "Traceback" not in stderr, stderr
        assert not list((tmp_path / "tl").rglob("*.mov"))
        return
    assert code == 0, stderr
    assert "Traceback" not in stderr
    report = json.loads((out / "report.json").read_text())
    directions = report["directions"]
    source = read_frames(clip, 0, src.frames)  # upright, with the source's own colour tags
    head_tc = _head_timecode(src, HEAD)
    tail_tc = offset_timecode(src.start_timecode, src.frames, src.rate)
    _check_media(directions["head"]["media"], src, HEAD, head_tc, cell.output)
    _check_media(directions["tail"]["media"], src, TAIL, tail_tc, cell.output)
    tail = read_frames(directions["tail"]["media"], 0, TAIL)
    # the same way up as the source: the first generated frame continues the last source frame
    near = np.abs(tail[0].astype(np.int16) - source[-1]).mean()
    assert near < 25.0 and near < 0.5 * np.abs(tail[0].astype(np.int16) - np.rot90(source[-1], 2)).mean()
    notes = " ".join(report["source_notes"])
    if src.color_tags.hdr:
        assert "HDR source" in notes and "note: HDR source" in stdout
    if src.vfr:
        assert f"conformed to {src.fps}" in notes and src.repeated_frames > 0

    # -- timeline --splice -----------------------------------------------------------------------
    cut = tmp_path / "cut.otio"
    write(timeline("cut", [track("V1", [media_clip("shot", clip, 0, src.frames)])], src.rate), cut)
    result = tmp_path / "tl" / "cut_ext.otio"
    code, stdout, stderr = _cli(
        capsys,
        "timeline",
        cut,
        "-o",
        result,
        "--handles",
        HANDLES,
        "--engine",
        "motion",
        "--no-faces",
        "--codec",
        cell.output,
        "--splice",
        "--json",
    )
    assert code == 0, stderr
    if src.vfr or src.color_tags.hdr:  # the timeline says what it did with the footage, too
        assert f"lengthen timeline: note: {clip}: " in stderr
    summary = json.loads(stdout)
    (shot,) = summary["shots"]
    spliced = shot["spliced"]
    start = _head_timecode(src, HANDLES)
    _check_media(spliced, src, src.frames + 2 * HANDLES, start, cell.output)
    body = read_frames(spliced, HANDLES, src.frames)
    # the source's frames come back as they were, upright and in colour (within a code value of
    # rounding; H.264 output is lossy 4:2:0)
    _upright_close(body, source, 3.0 if cell.output == "h264" else 1.0)
