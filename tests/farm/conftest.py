"""One private local Ray (2 CPUs, 127.0.0.1 only) for the farm tests of a module, and a 4-clip cut."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))


@pytest.fixture(scope="module")
def ray_local():
    """A private Ray with 2 CPUs for this module; shut down, with every process it started gone, after."""
    from farm_helpers import descendants

    from lengthen.farm.ray_executor import start_local_ray

    before = descendants()
    ray = start_local_ray(num_cpus=2)
    yield ray
    ray.shutdown()
    deadline = time.monotonic() + 20
    while descendants() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not descendants() - before, "Ray processes outlived the tests"


@pytest.fixture
def cut4(tmp_path) -> Path:
    """Four tiny frame-stamped clips (64x96, 20 frames at 24 fps, each its own timecode) cut in a row."""
    from builders import media_clip, timeline, track, write

    from lengthen.media.synthetic import stamped_clip

    media = tmp_path / "media"
    media.mkdir()
    clips = []
    for k in range(4):
        m = stamped_clip(media / f"shot{k}.mp4", 20, rate="24", size=(64, 96), start_timecode=f"01:00:0{k}:00")
        clips.append(media_clip(f"shot{k}", m, 0, 20))
    return write(timeline("cut", [track("V1", clips)], "24"), tmp_path / "cut.otio")
