"""Built-in engine against the baselines on the shared clips (run by hand; prints a table).

    python benchmarks/bench_engine.py [--quality draft normal high] [--clips tears openmpf] [--seeds 0 1 2]

Protocol (as the prototype notes): Tears of Steel known 65..160, next 24 hidden; openmpf video_01
known 0..65, next 24 hidden. Every engine runs through the same pipeline as `lengthen evaluate`
(encode included) with the banks scanned once from the known frames. Also prints seconds per
generated frame and per adaptation, and the process's peak memory. The baselines run at the first
quality; ``motion`` (whose working resolution and damping follow the preset) runs again at each
later one, so every ``builtin`` row has a like-for-like ``motion`` row. Each seed of ``--seeds``
adds a ``builtin`` row (adaptation is time-boxed, so the step count varies with the machine's load).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lengthen.config import ExtendRequest  # noqa: E402
from lengthen.engines.base import EngineSettings  # noqa: E402
from lengthen.evaluate.harness import BASELINES, EvalSpec, evaluate, table  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "video"
CLIPS = {
    "tears": EvalSpec(str(SHARED / "tears_of_steel_clip01.mp4"), 65, 184, 24),
    "openmpf": EvalSpec(str(SHARED / "openmpf__video_01.mp4"), 0, 89, 24),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quality", nargs="+", default=["draft"])
    ap.add_argument("--clips", nargs="+", default=list(CLIPS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    for clip in args.clips:
        for i, quality in enumerate(args.quality):
            baselines = [] if args.no_baselines else (list(BASELINES) if not i else ["motion"])
            rows = {}
            for k, seed in enumerate(args.seeds):
                with tempfile.TemporaryDirectory() as tmp:
                    request = ExtendRequest(settings=EngineSettings(quality=quality, seed=seed))
                    result = evaluate(CLIPS[clip], (baselines if not k else []) + ["builtin"], request, Path(tmp))
                result.pop("_frames")
                row = result["rows"].pop("builtin")
                rows.update(result["rows"])
                name = f"builtin s{seed}" if len(args.seeds) > 1 else "builtin"
                rows[name] = {**row, "engine": name}
            result["rows"] = rows
            print(
                f"\n### {clip}: known {result['known'][0]}..{result['known'][1]}, hidden "
                f"{result['holdout']}, builtin {quality}\n"
            )
            print(table(result))
            for name, row in rows.items():
                if "adapt_steps" in row:
                    print(
                        f"{name} {quality}: {row['adapt_steps']} adaptation steps, "
                        f"residual scale {row.get('residual_scale')}, "
                        f"{row['seconds_per_frame']} s per generated frame"
                    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (RSS) {peak:.0f} MiB")


if __name__ == "__main__":
    main()
