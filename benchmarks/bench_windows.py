"""How the built-in engine's cheap candidates fit what really comes next, over many cut points
of real shots (prints tables). The study behind the ``hedged`` candidate and its margin.

    python benchmarks/bench_windows.py [--json out.json] [--step 2] [--frames 4]

Every shot (the shippable clips in tests/data, cut into their single shots, plus
``openmpf__video_02.mp4`` from ``../shared/testdata`` when it is there) is cut at many points
(every ``--step`` frames, every 8th on video_02, each with the cut 4 frames before it, and at each
``bench_engine.py`` shot's own cut).
At each cut every candidate continues the shot from the 8 frames before it, exactly as the engine
makes it (``engines.candidates``, the draft preset), and is scored by the PSNR of the next
``--frames`` real frames. Tables:

1. each candidate against the best of the three baseline engines (``freeze``, ``flow-raw``,
   ``motion``) at that very cut, which no single method can know in advance (regret, dB: mean,
   10th percentile, worst) and against ``motion``;
2. choosing on the last frames before the cut (self-validation: the crisp candidate that fitted
   the 4 frames before the cut best), and ``hedged`` unless a crisp candidate beat it there by
   more than a margin, for several margins;
3. leave-one-shot-out for the hedge's speeds: for each shot, the speed set that fitted the *other*
   shots best, and how it does on the shot left out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lengthen import flow as flowlib  # noqa: E402
from lengthen.engines.builtin_settings import BuiltinSettings  # noqa: E402
from lengthen.engines.candidates import cheap_flows, cheap_recipes, hedge_hypotheses, psnr  # noqa: E402
from lengthen.media.reader import read_frames  # noqa: E402

DATA = ROOT / "tests" / "data" / "video"
TEARS, OPENMPF = DATA / "tears_of_steel_clip01.mp4", DATA / "openmpf__video_01.mp4"
# (media, first frame, last frame + 1 of one continuous shot, cut of the bench_engine shot)
SHOTS = {
    "bridge": (TEARS, 21, 65, 53),
    "console": (TEARS, 65, 185, 161),
    "robot": (TEARS, 185, 240, 216),
    "openmpf": (OPENMPF, 0, 90, 66),
    "openmpf-1s": (DATA / "openmpf__video_01_h265_aac.mp4", 0, 31, 23),
}
EXTRA = {"openmpf-02": ("openmpf__video_02.mp4", 0, 521, None)}  # in --shared, when it is there
BASELINES = ("freeze", "flow-raw", "motion")
CRISP = ("freeze", "motion", "motion-slow", "flow-raw")
# speed sets of the hedge (raw flow, motion prior) the leave-one-out picks from
HEDGE_SETS = {
    "default": None,  # BuiltinSettings' own
    "raw 0-1.5 x4, motion 0.5-1.5 x3": ((0.0, 0.5, 1.0, 1.5), (0.5, 1.0, 1.5)),
    "raw 0-1 x3, motion 0-1 x3": ((0.0, 0.5, 1.0), (0.0, 0.5, 1.0)),
    "raw 0-1.33 x5, motion 1": ((0.0, 0.33, 0.67, 1.0, 1.33), (1.0,)),
    "motion 0-1.5 x4": ((), (0.0, 0.5, 1.0, 1.5)),
    "raw 0-2 x5, motion 0.5-1.5 x3": ((0.0, 0.5, 1.0, 1.5, 2.0), (0.5, 1.0, 1.5)),
}


def windows(args) -> list[dict]:
    preset = BuiltinSettings.preset("draft")
    recipes = {r.name: r for r in cheap_recipes(preset)}
    shots = dict(SHOTS)
    for name, (file, *rest) in EXTRA.items():
        if (Path(args.shared) / file).is_file():
            shots[name] = (Path(args.shared) / file, *rest)
    rows = []
    for name, (media, first, end, cut_of_bench) in shots.items():
        frames = read_frames(str(media), first, end - first)
        h, w = frames.shape[1:3]
        size = flowlib.work_size_for(w, h, preset.work_width, preset.patch_size)
        cap = preset.hedge_spread_cap * size[0]
        step = 8 if end - first > 200 else args.step
        cuts = set(range(10, len(frames) - args.frames + 1, step))
        cuts |= {c - 4 for c in cuts if c >= 14}  # the cut 4 frames earlier: what the engine holds out
        if cut_of_bench is not None:
            cuts.add(cut_of_bench - first)
        for cut in sorted(cuts):
            history = flowlib.context_flows(frames[cut - 9 : cut], size, preset.flow_source_width)
            origin, truth = frames[cut - 1], frames[cut : cut + args.frames]
            row = {"shot": name, "cut": first + cut, "bench": cut_of_bench == first + cut}
            for r in recipes.values():
                flows = cheap_flows(r, history, args.frames)
                if r.kind == "freeze":
                    out = np.repeat(origin[None], args.frames, axis=0)
                elif r.kind == "hedge":
                    raw, motion = flows
                    for label, speeds in HEDGE_SETS.items():
                        if speeds is None:
                            hyps = hedge_hypotheses(flows, preset)
                        else:
                            hyps = [(raw, speeds[0], 0.0)] if speeds[0] else []
                            hyps.append((motion, speeds[1], preset.warp_blur_sigma))
                        row[f"hedged [{label}]"] = psnr(truth, flowlib.hedged_warp(origin, hyps, spread_cap=cap))
                    continue
                else:
                    out = flowlib.compose_and_warp(origin, flows, blur_sigma=r.blur)
                row[r.name] = psnr(truth, out)
            row["hedged"] = row["hedged [default]"]
            rows.append(row)
        print(f"{name}: {len(cuts)} cuts", file=sys.stderr, flush=True)
    return rows


def regret(row: dict, name: str) -> float:
    return row[name] - max(row[b] for b in BASELINES)


def stats(values) -> str:
    v = np.asarray(list(values), dtype=float)
    return f"{v.mean():+.2f} | {np.percentile(v, 10):+.2f} | {v.min():+.2f}"


def report(rows: list[dict], frames: int) -> None:
    shots = list(dict.fromkeys(r["shot"] for r in rows))
    bench = [r for r in rows if r["bench"]]
    print(f"{len(rows)} cuts of {len(shots)} shots ({', '.join(shots)}); PSNR of the next {frames} frames\n")
    print("1. Each candidate at every cut, against the best baseline at that cut (regret, dB) and `motion`")
    print("   (the last columns: at each bench_engine shot's own cut)\n")
    names = [*CRISP, "hedged"]
    head = "| candidate | regret mean | 10th pct | worst | vs `motion` | " + " | ".join(r["shot"] for r in bench)
    head += " |"
    print(head + "\n|" + "---|" * (5 + len(bench)))
    for n in names:
        at = " | ".join(f"{regret(r, n):+.2f}" for r in bench)
        vs = np.mean([r[n] - r["motion"] for r in rows])
        print(f"| {n} | {stats(regret(r, n) for r in rows)} | {vs:+.2f} | {at} |")

    print("\n2. Choosing on the 4 frames before the cut (the cut 4 frames earlier, as the engine holds out)\n")
    at = {(r["shot"], r["cut"]): r for r in rows}
    print("| rule | regret mean | 10th pct | worst | vs `motion` | cuts |\n|---|---|---|---|---|---|")
    rules = [("best crisp candidate", None)] + [(f"hedged unless beaten by > {m:g} dB", m) for m in (0, 1, 2, 3)]
    rules.append(("always hedged", float("inf")))
    for label, margin in rules:
        got = []
        for r in rows:
            before = at.get((r["shot"], r["cut"] - 4))
            if before is None:
                continue
            best = max(CRISP, key=lambda n: before[n])
            pick = best if margin is None or before[best] - before["hedged"] > margin else "hedged"
            got.append((regret(r, pick), r[pick] - r["motion"]))
        g = np.asarray(got)
        print(f"| {label} | {stats(g[:, 0])} | {g[:, 1].mean():+.2f} | {len(g)} |")

    print("\n3. Leave one shot out: the hedge speeds that fit the other shots best, on the shot left out\n")
    sets = [k for k in rows[0] if k.startswith("hedged [")]
    print("| shot left out | speeds chosen | its regret there (mean) | at its bench cut |\n|---|---|---|---|")
    for shot in shots:
        others = [r for r in rows if r["shot"] != shot]
        pick = max(sets, key=lambda k: np.mean([regret(r, k) for r in others]))
        mine = [r for r in rows if r["shot"] == shot]
        cut = next((f"{regret(r, pick):+.2f}" for r in mine if r["bench"]), "-")
        print(f"| {shot} | {pick[8:-1]} | {np.mean([regret(r, pick) for r in mine]):+.2f} | {cut} |")
    print("\n| speed set | regret mean (all cuts) | vs `motion` |\n|---|---|---|")
    for k in sets:
        vs = np.mean([r[k] - r["motion"] for r in rows])
        print(f"| {k[8:-1]} | {np.mean([regret(r, k) for r in rows]):+.2f} | {vs:+.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--step", type=int, default=2, help="frames between cuts (video_02: 8)")
    ap.add_argument("--frames", type=int, default=4, help="frames scored after each cut")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "testdata" / "video"), help="video_02's folder")
    ap.add_argument("--json", default=None, help="write every cut's scores here")
    ap.add_argument("--from-json", default=None, help="print the tables of an earlier --json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = json.loads(Path(args.from_json).read_text()) if args.from_json else windows(args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    report(rows, args.frames)
    print(f"\n{time.perf_counter() - t0:.0f} s, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
