"""A small real timeline over the shared test videos, for the panel and plugin tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path


def write_cut(testdata: Path, folder: Path, name: str = "cut.otio") -> Path:
    """Two clips at a 24 fps timeline: "party" (openmpf video_01, media frames 50..89 of 0..89 at
    30000/1001: it ends at the end of its media, so handles mode asks for a tail) and "console"
    (Tears of Steel frames 100..147 of 0..239 at 24: handles to spare)."""
    import opentimelineio as otio

    from lengthen.media.probe import probe
    from lengthen.timecode import timecode_to_frames, to_rational_time

    def clip(clip_name, media, first, count):
        info = probe(media)
        tc0 = timecode_to_frames(info.start_timecode, info.rate)
        rng = lambda s, d: otio.opentime.TimeRange(to_rational_time(s, info.rate), to_rational_time(d, info.rate))  # noqa: E731
        ref = otio.schema.ExternalReference(
            target_url=otio.url_utils.url_from_filepath(str(media)), available_range=rng(tc0, info.frames)
        )
        return otio.schema.Clip(name=clip_name, media_reference=ref, source_range=rng(tc0 + first, count))

    video = testdata / "video"
    tl = otio.schema.Timeline(name="panel test", global_start_time=to_rational_time(0, Fraction(24)))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(clip("party", video / "openmpf__video_01.mp4", 50, 40))
    track.append(clip("console", video / "tears_of_steel_clip01.mp4", 100, 48))
    tl.tracks.append(track)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    otio.adapters.write_to_file(tl, str(path))
    return path


def write_one_clip(media: Path, first: int, count: int, path: Path, name: str = "shot", gap: int = 48) -> Path:
    """A 24 fps timeline: a gap of ``gap`` frames, then one clip of ``media`` frames first..first+count-1."""
    import opentimelineio as otio

    from lengthen.media.probe import probe
    from lengthen.timecode import timecode_to_frames, to_rational_time

    info = probe(media)
    tc0 = timecode_to_frames(info.start_timecode, info.rate)
    rng = lambda s, d, r: otio.opentime.TimeRange(to_rational_time(s, r), to_rational_time(d, r))  # noqa: E731
    tl = otio.schema.Timeline(name=name, global_start_time=to_rational_time(0, Fraction(24)))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(otio.schema.Gap(source_range=rng(0, gap, Fraction(24))))
    ref = otio.schema.ExternalReference(
        target_url=otio.url_utils.url_from_filepath(str(media)), available_range=rng(tc0, info.frames, info.rate)
    )
    track.append(otio.schema.Clip(name=name, media_reference=ref, source_range=rng(tc0 + first, count, info.rate)))
    tl.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    otio.adapters.write_to_file(tl, str(path))
    return path
