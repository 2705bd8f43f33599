"""Scan speed against real time at the default sampling (2 fps), on 2 CPU threads.

    python benchmarks/bench_scan.py [CLIP ...] [--threads 2] [--sample-fps 2]

Without arguments it scans the shared test clips. "x real time" is clip duration / wall time:
above 1 means the scan is faster than playing the clip.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", nargs="*", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sample-fps", type=float, default=2.0)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from lengthen.faces.backends.registry import get_backend
    from lengthen.faces.scan import ScanSettings, scan
    from lengthen.media.probe import probe

    shared = Path(os.environ.get("LENGTHEN_SHARED", REPO.parent / "shared")) / "testdata" / "video"
    clips = args.clips or [shared / "openmpf__video_01.mp4", shared / "tears_of_steel_clip01.mp4"]
    settings = ScanSettings(sample_fps=args.sample_fps)
    backend = get_backend(settings.backend)
    t = time.perf_counter()
    backend.embed(backend.align(*_warm()))  # load weights outside the timing
    print(
        f"backend {backend.name}: weights loaded in {time.perf_counter() - t:.1f} s; "
        f"{args.threads} threads, {os.getloadavg()[0]:.1f} load average",
        file=sys.stderr,
    )
    print("| clip | size | duration s | frames looked at | faces | characters | wall s | s / frame | x real time |")
    print("|---|---|---|---|---|---|---|---|---|")
    for clip in clips:
        info = probe(clip)
        t = time.perf_counter()
        r = scan([clip], settings, backend)
        wall = time.perf_counter() - t
        dur = info.frames / float(info.rate)
        print(
            f"| {clip.name} | {info.width}x{info.height} | {dur:.1f} | {r.frames_scanned} | {r.faces_found} | "
            f"{len(r.banks)} | {wall:.1f} | {wall / max(1, r.frames_scanned):.2f} | {dur / wall:.2f} |"
        )
    return 0


def _warm():
    import numpy as np

    from lengthen.faces.types import Detection

    image = np.zeros((200, 200, 3), np.uint8)
    lms = np.array([[120, 80], [105, 80], [70, 80], [85, 80], [95, 110]], np.float32)
    return image, [Detection((50.0, 50.0, 150.0, 150.0), 1.0, lms)]


if __name__ == "__main__":
    sys.exit(main())
