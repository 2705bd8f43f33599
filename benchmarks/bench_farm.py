"""In-process against Ray with 2 workers: 8 shots with the ``motion`` engine (run by hand; prints a table).

    python benchmarks/bench_farm.py [--shots 8] [--workers 2] [--frames 48] [--tail 24]

Each shot is a pan/zoom clip over the astronaut photo (360x640, ``--frames`` frames at 24 fps,
each its own file) extended by ``--tail`` frames, through the same ``render_shots`` and executor
seam as ``lengthen timeline``. Ray runs twice on one private local Ray (127.0.0.1, ``--workers``
CPUs): ``cold`` includes starting its worker processes (importing lengthen, numpy, OpenCV, torch),
``warm`` reuses them. Scheduling overhead per task = (workers x wall - the sum of the tasks' own
render seconds) / shots: the time a worker slot was not rendering, per shot; plus the round trip of
an empty task. The machine's load average is printed with the table: figures from a shared machine
move with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lengthen.config import ExtendRequest  # noqa: E402
from lengthen.executor import LocalExecutor, ShotJob  # noqa: E402
from lengthen.farm.ray_executor import RayExecutor, start_local_ray  # noqa: E402
from lengthen.media.synthetic import pan_zoom_clip  # noqa: E402
from lengthen.pipeline import render_shots  # noqa: E402
from lengthen.shots import ShotSpec  # noqa: E402

PHOTO = Path(__file__).resolve().parents[1] / "tests" / "data" / "images" / "skimage__astronaut.png"


def make_jobs(folder: Path, shots: int, frames: int, tail: int, out: Path) -> list[ShotJob]:
    request = ExtendRequest(engine="motion", output_dir=out, scan_faces=False)
    jobs = []
    for k in range(shots):
        media = pan_zoom_clip(PHOTO, folder / f"shot{k}.mp4", frames=frames, rate="24", pan=0.04 + 0.01 * k)
        spec = ShotSpec(
            clip=f"shot{k}", media=str(media), rate=24, first=0, last=frames - 1, tail_frames=tail, clip_id=f"V1/{k}"
        )
        jobs.append(ShotJob(spec, request))
    return jobs


def timed(jobs, executor) -> tuple[float, list]:
    t = time.perf_counter()
    outcomes = render_shots(jobs, executor=executor)
    wall = time.perf_counter() - t
    failed = [o.error for o in outcomes if o.error is not None]
    assert not failed, failed
    return wall, outcomes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--tail", type=int, default=24)
    args = ap.parse_args()
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_farm_") as tmp:
        tmp = Path(tmp)
        (tmp / "src").mkdir()
        jobs = {name: make_jobs(tmp / "src", args.shots, args.frames, args.tail, tmp / name) for name in ("local",)}
        wall, outcomes = timed(jobs["local"], LocalExecutor())
        render_s = sum(sum(o.report["seconds"].values()) for o in outcomes)
        rows.append(("in-process", 1, wall, render_s, None))

        t = time.perf_counter()
        ray = start_local_ray(num_cpus=args.workers)
        startup = time.perf_counter() - t
        try:
            for name in ("ray cold", "ray warm"):
                js = [ShotJob(j.spec, ExtendRequest(engine="motion", output_dir=tmp / name, scan_faces=False)) for j in
                      jobs["local"]]  # fmt: skip
                executor = RayExecutor()
                wall, _ = timed(js, executor)
                task_s = sum(r["ended"] - r["started"] for r in executor.results.values())
                overhead = (args.workers * wall - task_s) / args.shots
                rows.append((name, args.workers, wall, task_s, overhead))

            noop = ray.remote(lambda: None).options(num_cpus=1)
            ray.get([noop.remote() for _ in range(4)])  # workers up
            t = time.perf_counter()
            n = 50
            for _ in range(n):
                ray.get(noop.remote())
            round_trip = (time.perf_counter() - t) / n
        finally:
            ray.shutdown()
    base = rows[0][2]
    print(f"bench_farm: {args.shots} shots, motion engine, 360x640, {args.frames} frames, +{args.tail} tail each")
    print(f"machine: {os.cpu_count()} CPUs, load average before {load_before[0]:.1f} / after {os.getloadavg()[0]:.1f}")
    print(f"{'executor':<12} {'workers':>7} {'wall s':>8} {'shots/min':>10} {'render s':>9} {'overhead s/task':>16} "
          f"{'speed-up':>9}")  # fmt: skip
    for name, workers, wall, work, overhead in rows:
        over = "-" if overhead is None else f"{overhead:.2f}"
        print(
            f"{name:<12} {workers:>7} {wall:>8.1f} {60 * args.shots / wall:>10.1f} {work:>9.1f} {over:>16} "
            f"{base / wall:>8.2f}x"
        )
    print(f"local Ray start: {startup:.1f} s (once per run, not in the table); empty task round trip: "
          f"{1000 * round_trip:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
