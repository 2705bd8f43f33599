"""Built-in engine against the baselines on every shippable test clip, several seeds (prints tables).

    python benchmarks/bench_engine.py [--shots tears openmpf ...] [--seeds 0 1 2] [--adapt-steps 20]
        [--quality draft] [--no-faces] [--json out.json] [--ablation]

Protocol (the quality harness, ``lengthen evaluate``): each shot's last K frames are hidden and
every engine extends the known part by K through the same pipeline (encode included), with the
identity banks scanned once per shot from the known frames. Shots (tests/data, all redistributable):

- ``tears``: Tears of Steel, man with glasses at a console, known 65..160, 24 hidden;
- ``bridge``: Tears of Steel, young man on a bridge in profile, known 21..52, 12 hidden;
- ``robot``: Tears of Steel, robot head morphing into a face, known 185..215, 24 hidden;
- ``openmpf``: openmpf video 01, five people at an event, handheld, known 0..65, 24 hidden;
- ``openmpf-1s``: the one-second HEVC variant of the same shot, known 0..22, 8 hidden
  (``--shots all`` adds the VP8 and Xvid variants, the same second again).

Adaptation runs ``--adapt-steps`` optimizer steps (not the time box), so the numbers do not depend
on the machine's load; the seconds do (say the load next to them). Baselines are deterministic and
run once per shot; ``builtin`` runs once per seed.

Leave-one-clip-out: the engine adapts to each shot from that shot's own known frames only, and
starts from no weights trained on any clip (see the README on the pretrained prior), so no shot's
frames, hidden or known, reach another shot's result.

``--still``: instead, the seconds a still shot and a stopping shot cost (freeze and builtin).

``--ablation``: identity tokens and identity loss on/off (the learned candidate forced, so the
identity machinery is what differs) on the shots with faces.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lengthen.config import ExtendRequest  # noqa: E402
from lengthen.engines.base import EngineSettings  # noqa: E402
from lengthen.evaluate.harness import BASELINES, EvalSpec, evaluate  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "video"
SHOTS = {
    "tears": EvalSpec(str(DATA / "tears_of_steel_clip01.mp4"), 65, 184, 24),
    "bridge": EvalSpec(str(DATA / "tears_of_steel_clip01.mp4"), 21, 64, 12),
    "robot": EvalSpec(str(DATA / "tears_of_steel_clip01.mp4"), 185, 239, 24),
    "openmpf": EvalSpec(str(DATA / "openmpf__video_01.mp4"), 0, 89, 24),
    "openmpf-1s": EvalSpec(str(DATA / "openmpf__video_01_h265_aac.mp4"), 0, 30, 8),
}
EXTRA = {
    "openmpf-1s-vp8": EvalSpec(str(DATA / "openmpf__video_01_vp8_opus.webm"), 0, 30, 8),
    "openmpf-1s-xvid": EvalSpec(str(DATA / "openmpf__video_01_xvid_aac.avi"), 0, 30, 8),
}
ABLATION = {  # identity tokens (attention) / identity loss
    "tokens+loss": dict(identity_attention=True, identity_loss=True),
    "tokens only": dict(identity_attention=True, identity_loss=False),
    "loss only": dict(identity_attention=False, identity_loss=True),
    "neither": dict(identity_attention=False, identity_loss=False),
}


def _row(row: dict) -> dict:
    keep = ("psnr4", "identity_mean", "identity_min", "faces_missing", "seam_jump", "motion_energy", "seconds")
    out = {k: row.get(k) for k in keep}
    for k in ("chosen", "adapt_steps", "engine_seconds", "selection"):
        if k in row:
            out[k] = row[k]
    return out


def run_shot(name: str, spec: EvalSpec, args, work: Path) -> dict:
    """Baselines once, builtin per seed; banks scanned once."""
    base = ExtendRequest(
        scan_faces=not args.no_faces,
        audio=False,
        credentials=False,
        settings=EngineSettings(quality=args.quality, adapt_steps=args.adapt_steps),
    )
    before = (args.previous or {}).get(name)
    if before is not None:  # baselines are deterministic: reuse an earlier run's rows (--baselines-from)
        first = evaluate(spec, [], base, work / "baselines")
        rows = {k: v for k, v in before["rows"].items() if k in BASELINES}
    else:
        first = evaluate(spec, list(BASELINES), base, work / "baselines")
        rows = {k: _row(v) for k, v in first["rows"].items() if k != "truth"}
    first.pop("_frames")
    banks = work / "baselines" / "banks"
    reuse = replace(base, scan_faces=False, banks_dir=banks if banks.is_dir() else None)
    for seed in args.seeds:
        req = replace(reuse, settings=replace(reuse.settings, seed=seed))
        res = evaluate(spec, ["builtin"], req, work / f"builtin-s{seed}")
        res.pop("_frames")
        rows[f"builtin s{seed}"] = _row(res["rows"]["builtin"])
    media = Path(spec.media).name
    return {"shot": name, "media": media, "known": first["known"], "hidden": spec.holdout, "rows": rows}


def run_ablation(name: str, spec: EvalSpec, args, work: Path) -> dict:
    from lengthen.engines import builtin_settings

    base = ExtendRequest(
        scan_faces=True, audio=False, credentials=False, settings=EngineSettings(quality=args.quality)
    )
    first = evaluate(
        spec, ["motion"], replace(base, settings=replace(base.settings, adapt_steps=args.adapt_steps)), work / "motion"
    )
    first.pop("_frames")
    rows = {"motion": _row(first["rows"]["motion"])}
    banks = work / "motion" / "banks"
    if not banks.is_dir():
        return {"shot": name, "rows": rows, "note": "no characters found"}
    original = builtin_settings.PRESETS[args.quality]
    try:
        for label, switches in ABLATION.items():
            builtin_settings.PRESETS[args.quality] = replace(original, force="learned x1", **switches)
            for seed in args.seeds:
                settings = EngineSettings(quality=args.quality, adapt_steps=args.adapt_steps, seed=seed)
                req = replace(base, scan_faces=False, banks_dir=banks, settings=settings)
                res = evaluate(spec, ["builtin"], req, work / f"{label}-s{seed}".replace(" ", "_").replace("+", "_"))
                res.pop("_frames")
                rows[f"{label} s{seed}"] = _row(res["rows"]["builtin"])
    finally:
        builtin_settings.PRESETS[args.quality] = original
    return {"shot": name, "rows": rows}


def still_clips(work: Path) -> dict[str, EvalSpec]:
    """Two shots that should cost seconds (``--still``), 96 frames at 24 fps, the last 24 hidden: a
    Tears of Steel frame held with sensor-like noise, and a push-in over the astronaut photo that
    stops 20 frames before the cut (then held, with the same noise)."""
    import numpy as np

    from lengthen.media.reader import read_frames
    from lengthen.media.synthetic import encode_clip, pan_zoom_frames

    rng = np.random.default_rng(0)

    def noisy(frame):
        return np.clip(frame.astype(np.float32) + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8)

    held = read_frames(str(DATA / "tears_of_steel_clip01.mp4"), 100, 1)[0]
    encode_clip(work / "still.mp4", [noisy(held) for _ in range(96)], "24")
    from PIL import Image

    photo = np.asarray(Image.open(DATA.parent / "images" / "skimage__astronaut.png").convert("RGB"))
    push = list(pan_zoom_frames(photo, 52, size=(360, 640), zoom=1.2, pan=0.05))
    encode_clip(work / "stopping.mp4", [noisy(f) for f in push + [push[-1]] * 44], "24")
    return {
        "still": EvalSpec(str(work / "still.mp4"), 0, 95, 24),
        "stopping": EvalSpec(str(work / "stopping.mp4"), 0, 95, 24),
    }


def run_still(args, work: Path) -> None:
    """``--still``: freeze and builtin on the two still shots, seconds through the whole pipeline."""
    print("\n### still and stopping shots (24 frames, the whole pipeline: decode, faces, engine, encode)\n")
    print("| shot | engine | seconds | engine seconds | chosen | adaptation |\n|---|---|---|---|---|---|")
    for name, spec in still_clips(work).items():
        settings = EngineSettings(quality=args.quality, adapt_steps=args.adapt_steps)
        req = ExtendRequest(scan_faces=not args.no_faces, audio=False, credentials=False, settings=settings)
        res = evaluate(spec, ["freeze", "builtin"], req, work / name)
        for engine in ("freeze", "builtin"):
            row = res["rows"][engine]
            sel = row.get("selection") or {}
            spent = (row.get("engine_seconds") or {}).get("total", "-")
            adaptation = sel.get("adaptation", "-")
            print(f"| {name} | {engine} | {row['seconds']:.2f} | {spent} | {row.get('chosen', '-')} | {adaptation} |")


def fmt(v) -> str:
    return "-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))


def print_table(result: dict) -> None:
    where = f"{result.get('media', '')}, known {result.get('known')}, hidden {result.get('hidden')}"
    print(f"\n### {result['shot']} ({where})\n")
    cols = ("psnr4", "identity_mean", "identity_min", "faces_missing", "motion_energy", "seconds", "chosen")
    cols += ("adapt_steps",)
    print("| engine | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, row in result["rows"].items():
        print(f"| {name} | " + " | ".join(fmt(row.get(c)) for c in cols) + " |")


def summary(results: list[dict]) -> None:
    """The acceptance figures: builtin vs the best baseline and vs motion (mean over seeds)."""
    import numpy as np

    print("\n### summary (PSNR of the first 4 frames, dB; builtin = mean over seeds)\n")
    print(
        "| shot | best baseline | motion | builtin | builtin - best | builtin - motion "
        "| identity min builtin / motion |"
    )
    print("|---|---|---|---|---|---|---|")
    gains = []
    for r in results:
        rows = r["rows"]
        seeds = [v for k, v in rows.items() if k.startswith("builtin")]
        b = float(np.mean([v["psnr4"] for v in seeds]))
        best_name = max(BASELINES, key=lambda k: rows[k]["psnr4"])
        best, motion = rows[best_name]["psnr4"], rows["motion"]["psnr4"]
        ids = [v["identity_min"] for v in seeds if v.get("identity_min") is not None]
        idm = rows["motion"].get("identity_min")
        gains.append(b - motion)
        print(
            f"| {r['shot']} | {best:.2f} ({best_name}) | {motion:.2f} | {b:.2f} | {b - best:+.2f} "
            f"| {b - motion:+.2f} | "
            f"{fmt(min(ids) if ids else None)} / {fmt(idm)} |"
        )
    print(f"\nmean builtin - motion: {np.mean(gains):+.2f} dB over {len(gains)} shots")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", nargs="+", default=list(SHOTS), help=f"{', '.join(SHOTS)}, or all")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--adapt-steps", type=int, default=20)
    ap.add_argument("--quality", default="draft")
    ap.add_argument("--no-faces", action="store_true")
    ap.add_argument("--ablation", action="store_true", help="identity tokens / loss on and off instead")
    ap.add_argument("--json", default=None, help="write the rows here too")
    ap.add_argument("--still", action="store_true", help="instead: the cost of a still and a stopping shot")
    ap.add_argument("--prior", default=None, help="start adaptation from this motion prior (folder or name)")
    ap.add_argument("--force", default=None, help="use this builtin candidate whatever self-validation says")
    ap.add_argument("--baselines-from", default=None, help="reuse the baseline rows of an earlier --json")
    args = ap.parse_args()
    args.previous = None
    if args.baselines_from:
        args.previous = {r["shot"]: r for r in json.loads(Path(args.baselines_from).read_text())}
    shots = {**SHOTS, **EXTRA} if args.shots == ["all"] else {k: {**SHOTS, **EXTRA}[k] for k in args.shots}
    print(
        f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; adapt steps {args.adapt_steps}; "
        f"quality {args.quality}; seeds {args.seeds}"
    )
    if args.prior or args.force:
        from lengthen.engines import builtin_settings

        preset = builtin_settings.PRESETS[args.quality]
        builtin_settings.PRESETS[args.quality] = replace(preset, pretrained=args.prior, force=args.force)
        print(f"builtin preset: pretrained {args.prior}, force {args.force}")
    results = []
    t0 = time.perf_counter()
    if args.still:
        with tempfile.TemporaryDirectory() as tmp:
            run_still(args, Path(tmp))
        print(f"\n{time.perf_counter() - t0:.0f} s in all; load average at end {os.getloadavg()[0]:.1f}")
        return
    for name, spec in shots.items():
        with tempfile.TemporaryDirectory() as tmp:
            run = run_ablation if args.ablation else run_shot
            result = run(name, spec, args, Path(tmp))
        results.append(result)
        print_table(result)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
    if not args.ablation:
        summary(results)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(f"\n{time.perf_counter() - t0:.0f} s in all; load average at end {load:.1f}; peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
