"""Build real OTIO timelines for tests: clips over real media files, gaps, transitions."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from lengthen.media.probe import probe
from lengthen.timecode import timecode_to_frames

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def rt(frames: int, rate) -> otio.opentime.RationalTime:
    return RT(frames, float(Fraction(rate)))


def tr(start: int, duration: int, rate) -> otio.opentime.TimeRange:
    return TR(rt(start, rate), rt(duration, rate))


def media_clip(
    name: str, media: Path, first: int, count: int, *, url: str | None = None, with_available_range: bool = True
) -> otio.schema.Clip:
    """A clip showing media frames ``first .. first+count-1`` of ``media`` (probed), with source
    and available ranges in the media's timecode space, as NLEs write them."""
    info = probe(media)
    rate = info.rate
    tc0 = timecode_to_frames(info.start_timecode, rate)
    ref = otio.schema.ExternalReference(
        target_url=url if url is not None else otio.url_utils.url_from_filepath(str(Path(media).resolve())),
        available_range=tr(tc0, info.frames, rate) if with_available_range else None,
    )
    return otio.schema.Clip(name=name, media_reference=ref, source_range=tr(tc0 + first, count, rate))


def gap(count: int, rate) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=tr(0, count, rate))


def transition(in_offset: int, out_offset: int, rate, name: str = "dissolve") -> otio.schema.Transition:
    return otio.schema.Transition(
        name=name,
        transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=rt(in_offset, rate),
        out_offset=rt(out_offset, rate),
    )


def track(name: str, items, kind=otio.schema.TrackKind.Video) -> otio.schema.Track:
    t = otio.schema.Track(name=name, kind=kind)
    for item in items:
        t.append(item)
    return t


def timeline(name: str, tracks, rate) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name=name, global_start_time=rt(0, rate))
    for t in tracks:
        tl.tracks.append(t)
    return tl


def write(tl: otio.schema.Timeline, path: Path) -> Path:
    otio.adapters.write_to_file(tl, str(path))
    return path


def verify_result(path: Path, rate=None, list_markers: bool = True) -> otio.schema.Timeline:
    """Every result timeline the suite writes passes this: opentimelineio's own ``otiotool
    --verify-ranges --list-markers`` (run in process: every clip IN BOUNDS, every marker's timecode
    printable) and lengthen's range rules (no negative time on any range or media reference).
    EDLs, which store no rate, are read with ``rate``, and FCP7 XML as lengthen reads it (clip markers
    back in source time: the adapter reads them media-relative), then checked as the .otio they read as."""
    import contextlib
    import io
    import sys
    import tempfile
    from unittest import mock

    from opentimelineio.console import otiotool

    from lengthen.timeline.read import fcp_markers_to_source_time
    from lengthen.timeline.verify import range_problems

    path = Path(path)
    kwargs = {"rate": float(Fraction(rate))} if path.suffix == ".edl" and rate is not None else {}
    tl = otio.adapters.read_from_file(str(path), **kwargs)
    if path.suffix == ".xml":  # as lengthen reads FCP7 XML: clip markers back in source time
        fcp_markers_to_source_time(tl)
    assert range_problems(tl) == []
    with tempfile.TemporaryDirectory() as tmp:
        target = path
        if kwargs or path.suffix == ".xml":
            target = Path(tmp) / "as_read.otio"
            otio.adapters.write_to_file(tl, str(target))
        out = io.StringIO()
        argv = ["otiotool", "-i", str(target), "--verify-ranges"] + (["--list-markers"] if list_markers else [])
        with mock.patch.object(sys, "argv", argv), contextlib.redirect_stdout(out):
            otiotool.main()
    text = out.getvalue()
    assert "OUT OF BOUNDS" not in text, text
    known = [c for c in tl.find_clips() if c.media_reference.available_range is not None]  # (EDLs have none)
    assert text.count("IN BOUNDS") == len(known), text
    return tl


def clips_by_name(tl: otio.schema.Timeline) -> dict[str, otio.schema.Clip]:
    return {c.name: c for c in tl.find_clips()}


NTSC = "24000/1001"


def make_tiny_media(folder: Path) -> dict[str, Path]:
    """Tiny frame-stamped clips (96x160) with known frame counts, rates and start timecodes."""
    from lengthen.media.synthetic import stamped_clip

    folder.mkdir(parents=True, exist_ok=True)
    return {
        "a": stamped_clip(folder / "a.mp4", 48, NTSC, "h264", start_timecode="01:00:00:00"),  # tc0 86400
        "b": stamped_clip(folder / "b.mov", 40, NTSC, "prores", start_timecode="00:59:59:00"),  # tc0 86376
        "df": stamped_clip(
            folder / "df clip.mp4", 36, "30000/1001", "h264", start_timecode="01:00:00;00"
        ),  # tc0 107892
    }


def multitrack_timeline(media: dict[str, Path], rate=NTSC) -> otio.schema.Timeline:
    """V1: gap 24 | A (a.mp4 frames 4..27) | dissolve (in 3, out 5) | B (b.mov 0..19) | gap 10 | C (a.mp4 30..47)
    V2: gap 30 | D (b.mov 10..39);   A1 (audio): a clip that planning ignores.
    A's media URL is relative ("media/a.mp4"): the timeline must be written beside the media folder."""
    return timeline(
        "cut",
        [
            track(
                "V1",
                [
                    gap(24, rate),
                    media_clip("A", media["a"], 4, 24, url="media/a.mp4"),
                    transition(3, 5, rate),
                    media_clip("B", media["b"], 0, 20),
                    gap(10, rate),
                    media_clip("C", media["a"], 30, 18),
                ],
            ),
            track("V2", [gap(30, rate), media_clip("D", media["b"], 10, 30)]),
            track("A1", [media_clip("A audio", media["a"], 0, 10)], kind=otio.schema.TrackKind.Audio),
        ],
        rate,
    )
