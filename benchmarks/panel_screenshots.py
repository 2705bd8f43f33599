"""Make the README's panel screenshots with the panel's own ``--screenshot`` (offscreen).

    python benchmarks/panel_screenshots.py [--out docs] [--engine motion]

A two-clip timeline over the test videos: "party" (openmpf video 01, frames 50..89: it ends at
the end of its media) and "console" (Tears of Steel frames 65..184: a cut inside the media at 65
and 185, so neither side has handles of its own). Handles 12 are rendered with a CPU engine and
saved in the timeline's panel project, so the screenshots show results to review. Writes
``panel.png`` (1500x940, the console's head selected) and ``panel_1024.png`` (1024x700), each
reduced to a 256-colour palette to stay small, and prints their sizes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_timeline(folder: Path) -> Path:
    import opentimelineio as otio

    from lengthen.media.probe import probe
    from lengthen.timecode import timecode_to_frames, to_rational_time

    def clip(name, media, first, count):
        info = probe(media)
        tc0 = timecode_to_frames(info.start_timecode, info.rate)

        def rng(start, duration):
            return otio.opentime.TimeRange(to_rational_time(start, info.rate), to_rational_time(duration, info.rate))

        ref = otio.schema.ExternalReference(
            target_url=otio.url_utils.url_from_filepath(str(media)), available_range=rng(tc0, info.frames)
        )
        return otio.schema.Clip(name=name, media_reference=ref, source_range=rng(tc0 + first, count))

    video = REPO / "tests" / "data" / "video"
    tl = otio.schema.Timeline(name="panel screenshots", global_start_time=to_rational_time(86400, Fraction(24)))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(clip("party", video / "openmpf__video_01.mp4", 50, 40))
    track.append(clip("console", video / "tears_of_steel_clip01.mp4", 65, 120))
    tl.tracks.append(track)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "reel1.otio"
    otio.adapters.write_to_file(tl, str(path))
    return path


def render(timeline: Path, engine: str) -> None:
    """Plan with handles 12, render every shot, accept the party's tail, save the project."""
    from lengthen.progress import SilentProgress
    from lengthen.ui import jobs
    from lengthen.ui.project import media_set_key
    from lengthen.ui.scanning import scan_ranges
    from lengthen.ui.state import PanelState

    state = PanelState()
    state.adopt(PanelState.read(timeline))
    state.gpu = False
    state.set_engine(engine)
    ranges = scan_ranges(state.doc.clips)  # the characters, as the panel finds them (cached per media set)
    key = media_set_key(ranges, state.scan_settings)
    state.scan_started(key)
    banks, _warnings, _scanned = jobs.load_characters(
        ranges, state.scan_settings, key, state.banks_dir, SilentProgress()
    )
    state.scan_finished(banks)
    handlers = {
        "started": state.shot_started,
        "progress": state.shot_progress,
        "done": state.shot_done,
        "failed": state.shot_failed,
    }
    jobs.run_shots(state.run_items(), SilentProgress(), lambda kind, key, *data: handlers[kind](key, *data))
    state.run_finished()
    state.accept("V1/1")
    state.select("V1/2")
    state.save_project()
    state.close()


def shoot(timeline: Path, png: Path, size: str, env: dict) -> None:
    cmd = [
        sys.executable,
        "-m",
        "lengthen",
        "panel",
        str(timeline),
        "--screenshot",
        str(png),
        "--size",
        size,
        "--select",
        "V1/2",
    ]
    subprocess.run(cmd, check=True, env=env)
    from PIL import Image

    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)
    print(f"{png}: {png.stat().st_size // 1024} KB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "docs"))
    ap.add_argument("--engine", default="motion")
    args = ap.parse_args()
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "LENGTHEN_PANEL_SETTINGS": str(tmp / "settings.ini"), "QT_QPA_PLATFORM": "offscreen"}
        timeline = write_timeline(tmp / "edit")
        render(timeline, args.engine)
        shoot(timeline, out / "panel.png", "1500x940", env)
        shoot(timeline, out / "panel_1024.png", "1024x700", env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
