"""The quality harness: hide the last K frames of a real shot, extend by K, compare with the truth.

Every engine runs through :func:`lengthen.pipeline.render_shot` (the code path users hit, encode
included), on the same known frames, with the same identity banks (scanned once from the known
frames). Baselines: ``freeze`` (hold the last frame), ``flow-raw`` (repeat the last measured optical
flow) and ``motion`` (the smoothed, damped extrapolation engine).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..config import ExtendRequest
from ..errors import UsageError
from ..fsutil import makedirs
from ..metrics import fidelity, seam_and_motion, source_motion
from ..shots import ShotSpec

BASELINES = ("freeze", "flow-raw", "motion")


@dataclass(frozen=True)
class EvalSpec:
    media: str
    first: int
    last: int  # last frame of the whole shot (truth included)
    holdout: int
    direction: str = "tail"


def _identity(frames, banks, backend):
    from ..engines.rerank import identity_scores

    scores = identity_scores(frames, banks, backend, stride=2) if banks else {}
    means = [s["mean"] for s in scores.values() if s["mean"] is not None]
    mins = [s["min"] for s in scores.values() if s["min"] is not None]
    missing = sum(s["missing"] for s in scores.values())
    return {
        "identity_mean": round(float(np.mean(means)), 4) if means else None,
        "identity_min": round(float(np.min(mins)), 4) if mins else None,
        "faces_missing": missing,
        "per_character": {k: {kk: v[kk] for kk in ("name", "mean", "min", "missing")} for k, v in scores.items()},
        # faces below the same-person threshold for every character: unknown, never the nearest name
        "identity_threshold": getattr(scores, "threshold", None),
        "faces_unknown": getattr(scores, "unknown", {}).get("faces", 0) if banks else 0,
    }


def evaluate(spec: EvalSpec, engines: list[str], request: ExtendRequest, out_dir: Path, progress=None) -> dict:
    from ..media.probe import probe
    from ..media.reader import read_frames
    from ..pipeline import render_shot

    info = probe(spec.media)
    if spec.holdout < 1 or spec.last - spec.holdout < spec.first + 1:
        raise UsageError(
            f"--holdout {spec.holdout} leaves too few known frames in {spec.first}:{spec.last}", path=spec.media
        )
    known_last = spec.last - spec.holdout
    known = read_frames(spec.media, spec.first, known_last - spec.first + 1)
    truth = read_frames(spec.media, known_last + 1, spec.holdout)
    out_dir = Path(out_dir)
    makedirs(out_dir)
    banks, backend = [], None
    if not request.scan_faces and request.banks_dir is not None:  # banks scanned before (benchmarks: once per shot)
        from ..faces.backends.registry import get_backend
        from ..faces.bank import load_banks, save_banks

        backend = get_backend(request.face_backend)
        banks = list(load_banks(request.banks_dir))
        if banks and Path(request.banks_dir).resolve() != (out_dir / "banks").resolve():
            save_banks(banks, out_dir / "banks")
    elif request.scan_faces:
        from ..faces.backends.registry import get_backend
        from ..faces.bank import save_banks
        from ..faces.scan import ScanSettings, scan_shot

        backend = get_backend(request.face_backend)
        banks = list(
            scan_shot(
                spec.media,
                spec.first,
                known_last,
                ScanSettings(backend=request.face_backend),
                backend=backend,
                progress=progress,
            ).banks
        )
        if banks:
            save_banks(banks, out_dir / "banks")
    shot = ShotSpec(
        clip=Path(spec.media).stem,
        media=str(spec.media),
        rate=info.rate,
        first=spec.first,
        last=known_last,
        tail_frames=spec.holdout,
        start_timecode=info.start_timecode,
    )
    motion = source_motion(known)  # the known frames' median change, shared by every row's seam and motion
    rows = {"truth": {"engine": "truth", **seam_and_motion(known, truth, "tail", motion)}}
    rows["truth"].update(_identity(truth, banks, backend))
    generated = {}
    for name in engines:
        req = replace(
            request,
            engine=name,
            output_dir=out_dir / "media" / name,
            scan_faces=False,
            banks_dir=(out_dir / "banks") if banks else None,
        )
        t0 = time.perf_counter()
        outcome = render_shot(shot, req, progress)
        seconds = time.perf_counter() - t0
        media = outcome.generated[0]
        frames = read_frames(media.path, 0, media.frames)
        generated[name] = frames
        rows[name] = {
            "engine": name,
            **seam_and_motion(known, frames, "tail", motion),
            **fidelity(truth, frames),
            **_identity(frames, banks, backend),
            "seconds": round(seconds, 2),
            "seconds_per_frame": round(seconds / spec.holdout, 3),
        }
        engine_info = outcome.report["directions"][spec.direction].get("engine_info", {})
        for key in ("adapt_steps", "residual_scale", "chosen"):  # the built-in engine's choice, for benchmarks
            if engine_info.get(key) is not None:
                rows[name][key] = engine_info[key]
        if "selection" in engine_info:
            rows[name]["selection"] = engine_info["selection"]
        if isinstance(engine_info.get("seconds"), dict):
            rows[name]["engine_seconds"] = engine_info["seconds"]
    return {
        "media": str(spec.media),
        "known": [spec.first, known_last],
        "holdout": spec.holdout,
        "rate": info.fps,
        "characters": [{"id": b.id, "name": b.name} for b in banks],
        "rows": rows,
        "_frames": (known, truth, generated),
    }


COLUMNS = (
    "engine",
    "seam_jump",
    "motion_energy",
    "flicker",
    "psnr4",
    "ssim4",
    "identity_mean",
    "identity_min",
    "faces_missing",
    "faces_unknown",
    "seam_color",
    "seconds",
)


def table(result: dict) -> str:
    rows = list(result["rows"].values())
    psnr_all = next((k for k in rows[-1] if k.startswith("psnr") and k != "psnr4"), None)
    cols = list(COLUMNS)
    if psnr_all:
        cols.insert(cols.index("psnr4") + 1, psnr_all)
    lines = [" | ".join(f"{c:>13s}" for c in cols)]
    for row in rows:
        cells = []
        for c in cols:
            v = row.get(c)
            cells.append(f"{'-' if v is None else (f'{v:.3f}' if isinstance(v, float) else str(v)):>13s}")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def chart(result: dict, path: Path) -> Path:
    """Bar chart PNG (Pillow only): seam jump, motion energy, PSNR4 and identity per engine."""
    from PIL import Image, ImageDraw

    from ..fsutil import atomic_path

    metrics = [("seam_jump", 3.0), ("motion_energy", 2.0), ("psnr4", 40.0), ("identity_mean", 1.0)]
    rows = list(result["rows"].values())
    colours = [(120, 120, 120), (70, 130, 180), (60, 179, 113), (218, 165, 32), (205, 92, 92), (147, 112, 219)]
    panel_w, h, bar = 220, 240, 24
    img = Image.new("RGB", (panel_w * len(metrics), h + 40), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    for m, (key, top) in enumerate(metrics):
        x0 = m * panel_w + 10
        draw.text((x0, 5), key, fill=(0, 0, 0))
        for i, row in enumerate(rows):
            v = row.get(key)
            if v is None:
                continue
            bh = int(min(1.0, max(0.0, float(v) / top)) * (h - 40))
            x = x0 + i * (bar + 6)
            draw.rectangle([x, h - bh, x + bar, h], fill=colours[i % len(colours)])
            draw.text((x, h - bh - 12), f"{v:.2f}", fill=(0, 0, 0))
    for i, row in enumerate(rows):
        draw.rectangle([10 + i * 120, h + 15, 22 + i * 120, h + 27], fill=colours[i % len(colours)])
        draw.text((26 + i * 120, h + 15), row["engine"], fill=(0, 0, 0))
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
    return Path(path)
