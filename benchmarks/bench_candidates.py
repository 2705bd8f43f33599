"""Best-of-N cost: one `lengthen extend` run with 1 candidate against runs with N, each in a fresh
cache (so each adapts), and how many adaptations each made (report.json).

    python benchmarks/bench_candidates.py [--clip tests/data/video/openmpf__video_01.mp4]
        [--quality draft] [--tail 12f] [--candidates 3]

Prints wall seconds, the ratio to one candidate, adaptations and the seconds per stage. The
README's best-of-N figures come from this run (state the machine load next to them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(clip: str, quality: str, tail: str, n: int, work: Path) -> dict:
    env = {**os.environ, "LENGTHEN_CACHE": str(work / f"cache_{n}")}
    argv = [sys.executable, "-m", "lengthen", "extend", clip, "--tail", tail, "--quality", quality]
    argv += ["--candidates", str(n), "-o", str(work / f"out_{n}"), "--json"]
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"lengthen extend failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    report = json.loads(done.stdout)
    return {"wall": wall, "report": report, "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", default=str(REPO / "tests" / "data" / "video" / "openmpf__video_01.mp4"))
    ap.add_argument("--quality", default="draft")
    ap.add_argument("--tail", default="12f")
    ap.add_argument("--candidates", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lengthen-bench-candidates-") as tmp:
        rows = [(n, run(args.clip, args.quality, args.tail, n, Path(tmp))) for n in (1, args.candidates)]
    base = rows[0][1]["wall"]
    print(f"{Path(args.clip).name}, --quality {args.quality}, --tail {args.tail}")
    print(f"{'candidates':>10} {'wall s':>8} {'ratio':>6} {'adaptations':>11} {'load':>5}  seconds per stage")
    for n, r in rows:
        d = next(iter(r["report"]["directions"].values()))
        stages = " ".join(f"{k} {v:.1f}" for k, v in r["report"]["seconds"].items() if v >= 0.5)
        ratio, adapted = r["wall"] / base, d.get("adaptations", 0)
        print(f"{n:>10} {r['wall']:>8.1f} {ratio:>6.2f} {adapted:>11} {r['load']:>5.1f}  {stages}")


if __name__ == "__main__":
    main()
