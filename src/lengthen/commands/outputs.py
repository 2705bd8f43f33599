"""What `extend` and `demo` leave behind for one shot: an .otio with the extended shot and report.json."""

from __future__ import annotations

import json
import os
from pathlib import Path


def shot_timeline(outcome, info):
    """A timeline with one video track: [generated head][the source shot][generated tail]."""
    import opentimelineio as otio

    from ..timeline.edit import generated_clip

    spec = outcome.spec
    rate = float(spec.rate)
    timeline = otio.schema.Timeline(name=f"{spec.clip} (lengthen)")
    timeline.global_start_time = otio.opentime.RationalTime(0, rate)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    by_dir = {g.direction: g for g in outcome.generated}
    if "head" in by_dir:
        track.append(generated_clip(spec, by_dir["head"], spec.rate, info.start_frame))
    start = info.start_frame
    source = otio.schema.Clip(
        name=spec.clip,
        media_reference=otio.schema.ExternalReference(
            target_url=Path(spec.media).resolve().as_uri(),
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(info.frames, rate)
            ),
        ),
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start + spec.first, rate), otio.opentime.RationalTime(spec.length, rate)
        ),
    )
    track.append(source)
    if "tail" in by_dir:
        track.append(generated_clip(spec, by_dir["tail"], spec.rate, info.start_frame))
    timeline.tracks.append(track)
    if any("audio" in g.metadata for g in outcome.generated):
        from ..timeline.edit import audio_clip

        sound = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        for item in track:
            sound.append(audio_clip(item))  # same media, same range, same place: in sync with the picture
        timeline.tracks.append(sound)
    return timeline


def write_shot_outputs(outcome, info, out: Path) -> dict:
    import opentimelineio as otio

    from ..fsutil import atomic_path, atomic_write_text, makedirs
    from ..media.writer import versioned_path

    out = Path(out)
    makedirs(out)
    otio_path = versioned_path(out, f"{outcome.spec.clip}_extended", ".otio")
    with atomic_path(otio_path) as tmp:
        otio.adapters.write_to_file(shot_timeline(outcome, info), str(tmp), adapter_name="otio_json")
    report = outcome.report
    report["outputs"] = {"otio": str(otio_path), "media": [str(g.path) for g in outcome.generated]}
    report_path = out / "report.json"
    if os.path.lexists(report_path):  # never replace a report (ours from an earlier run, or the user's file)
        report_path = versioned_path(out, "report", ".json", start=2)
    atomic_write_text(report_path, json.dumps(report, indent=2, default=str))
    return {"otio": otio_path, "report": report_path}
