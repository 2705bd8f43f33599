"""Train the built-in engine's motion prior once: the weights per-shot adaptation starts from.

    python benchmarks/train_motion_prior.py --out DIR [--steps N] [--minutes M] [--videos 48]
        [--real tears openmpf] [--exclude CLIP ...] [--quality draft] [--seed 0] [--half]

Corpus (all of it redistributable, all of it rebuilt by this script, nothing downloaded):
- procedurally generated videos (``synthetic_video``): a textured background and 1-3 textured
  layers (ellipses and rectangles, random noise textures at several scales) that move, accelerate,
  stop, turn (rotate) and pass in front of each other (occlusion, z-order), with camera pans and
  slow zooms, in the way optical-flow models are pre-trained on synthetic scenes;
- optionally the shippable real clips in tests/data (``--real``; CC BY, see tests/data/README.md),
  minus the clips given to ``--exclude`` (leave-one-clip-out: a prior scored on a clip is trained
  without it).

Each video becomes a :class:`lengthen.engines.sample.MotionContext` exactly as the engine measures a
shot (Farneback at the preset's sizes), and training is the engine's own adaptation objective
(flow matching, x0, residual on the motion prior, both time directions; ``engines.adapt``), with
windows drawn across the whole corpus. No identity: the prior is about motion only.

Writes ``DIR/config.json`` + ``DIR/diffusion_pytorch_model.safetensors`` (diffusers format, a few MB),
``DIR/training.json`` (data, steps, seconds, load, loss curve) and ``DIR/loss.csv``. The model
card in ``src/lengthen/resources/motion_prior/README.md`` is written from these by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "video"
REAL = {  # shot ranges with one continuous shot each
    "tears": (DATA / "tears_of_steel_clip01.mp4", [(21, 64), (65, 184), (185, 239)]),
    "openmpf": (DATA / "openmpf__video_01.mp4", [(0, 89)]),
}


def texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random colour texture: noise blurred at a random scale, plus a gradient."""
    import cv2

    sigma = float(rng.uniform(1.0, 8.0))
    img = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 3)).astype(np.float32), (0, 0), sigma)
    img = (img - img.mean()) / (img.std() + 1e-6)
    base = rng.uniform(40, 215, 3)
    grad = np.linspace(-1, 1, w)[None, :, None] * rng.uniform(-30, 30, 3)
    return np.clip(base + grad + img * rng.uniform(15, 50), 0, 255).astype(np.float32)


def _speed_profile(rng: np.random.Generator, n: int) -> np.ndarray:
    """Per-frame speed multipliers: constant, accelerating, stopping or starting."""
    kind = rng.integers(0, 4)
    t = np.arange(n) / max(1, n - 1)
    if kind == 0:
        return np.ones(n)
    if kind == 1:
        return 0.3 + 1.4 * t
    stop = rng.uniform(0.3, 0.9)
    return (t < stop).astype(float) if kind == 2 else (t >= stop).astype(float)


def synthetic_video(seed: int, n: int = 40, size: tuple[int, int] = (256, 144)) -> np.ndarray:
    """uint8 ``(n, h, w, 3)``: layers that move, accelerate, stop, turn and occlude; a moving camera."""
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size
    pad = 64
    bg = texture(rng, h + 2 * pad, w + 2 * pad)
    cam_v = rng.normal(0, 1.2, 2) * (rng.random() < 0.7)
    cam_zoom = rng.normal(0, 0.002) * (rng.random() < 0.3)
    cam_speed = _speed_profile(rng, n)
    layers = []
    for _ in range(int(rng.integers(1, 4))):
        lh, lw = int(rng.integers(24, h // 1.5)), int(rng.integers(24, w // 2))
        tex = texture(rng, lh, lw)
        mask = np.zeros((lh, lw), np.float32)
        if rng.random() < 0.5:
            cv2.ellipse(mask, (lw // 2, lh // 2), (lw // 2 - 1, lh // 2 - 1), 0, 0, 360, 1.0, -1)
        else:
            mask[2:-2, 2:-2] = 1.0
        mask = cv2.GaussianBlur(mask, (0, 0), 1.0)
        layers.append(
            dict(
                tex=tex,
                mask=mask,
                pos=np.array([rng.uniform(0.2 * w, 0.8 * w), rng.uniform(0.2 * h, 0.8 * h)]),
                vel=rng.normal(0, 2.5, 2),
                acc=rng.normal(0, 0.04, 2),
                spin=rng.normal(0, 1.5) * (rng.random() < 0.5),  # degrees per frame
                speed=_speed_profile(rng, n),
            )
        )
    frames = []
    cam = np.zeros(2)
    for i in range(n):
        cam += cam_v * cam_speed[i]
        zoom = 1.0 + cam_zoom * i
        m = np.float32([[zoom, 0, -pad - cam[0]], [0, zoom, -pad - cam[1]]])
        frame = cv2.warpAffine(bg, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        for layer in layers:
            s = layer["speed"][i]
            layer["vel"] = layer["vel"] + layer["acc"] * s
            layer["pos"] = layer["pos"] + layer["vel"] * s
            lh, lw = layer["mask"].shape
            angle = layer["spin"] * i
            rot = cv2.getRotationMatrix2D((lw / 2, lh / 2), angle, 1.0)
            rot[:, 2] += layer["pos"] - np.array([lw / 2, lh / 2]) - cam * 0.0
            tex = cv2.warpAffine(layer["tex"], rot, (w, h), borderMode=cv2.BORDER_REFLECT)
            alpha = cv2.warpAffine(layer["mask"], rot, (w, h))[..., None]
            frame = frame * (1 - alpha) + tex * alpha
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return np.stack(frames)


def real_videos(names, exclude) -> list[tuple[str, np.ndarray]]:
    from lengthen.media.reader import read_frames

    out = []
    for name in names:
        path, shots = REAL[name]
        if path.stem in exclude or name in exclude:
            continue
        for first, last in shots:
            out.append((f"{path.name}[{first}:{last}]", read_frames(str(path), first, last - first + 1)))
    return out


def main() -> None:
    import torch

    from lengthen.engines.adapt import _Windows, build_models
    from lengthen.engines.builtin_settings import BuiltinSettings
    from lengthen.engines.sample import HEAD, TAIL, MotionContext
    from lengthen.flow import work_size_for

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--videos", type=int, default=48)
    ap.add_argument("--real", nargs="*", default=[], choices=list(REAL))
    ap.add_argument("--exclude", nargs="*", default=[])
    ap.add_argument("--quality", default="draft")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--half", action="store_true", help="store the weights as float16 (half the size)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    # pretrained=None: the draft preset now starts from the shipped prior, and a prior is trained
    # from scratch (so that --exclude really leaves a clip out of everything it learned)
    preset = replace(
        BuiltinSettings.preset(args.quality),
        seed=args.seed,
        validate=False,
        adapt_steps=None,
        adapt_seconds=1.0,
        pretrained=None,
    )
    t0 = time.perf_counter()
    seeds = [args.seed * 10000 + i for i in range(args.videos)]
    corpus = [(f"synthetic-{s}", synthetic_video(s)) for s in seeds]
    corpus += real_videos(args.real, set(args.exclude))
    rng = np.random.default_rng(args.seed)
    windows = []
    for k, (name, frames) in enumerate(corpus):
        h, w = frames.shape[1:3]
        size = work_size_for(w, h, preset.work_width, preset.patch_size)
        ctx = MotionContext.from_frames(frames, size, TAIL if k % 2 == 0 else HEAD, preset.flow_source_width)
        windows.append(_Windows(ctx, replace(preset, window_span=len(frames)), rng))
    prep = time.perf_counter() - t0
    print(f"{len(corpus)} videos prepared in {prep:.0f} s", flush=True)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model, _ = build_models(preset)
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda i: min(1.0, (i + 1) / 50))
    losses, start, step = [], time.perf_counter(), 0
    model.train()
    while True:
        if args.steps is not None and step >= args.steps:
            break
        if args.steps is None and time.perf_counter() - start >= args.minutes * 60:
            break
        win = windows[int(rng.integers(0, len(windows)))]
        flows, rgb, dirs, priors = win.batch(preset.batch_size)
        ctx, target, prior = win.diffusion_target(flows, priors, model)
        b = ctx.shape[0]
        sigma = torch.rand((b,), generator=gen)
        sigma = torch.where(torch.rand((b,), generator=gen) < preset.sigma_one_fraction, torch.ones_like(sigma), sigma)
        noise = torch.randn(target.shape, generator=gen)
        s = sigma.view(b, 1, 1, 1, 1)
        pred = model(torch.cat([ctx, (1 - s) * target + s * noise], dim=1), rgb, sigma, win.c, dirs, prior=prior)
        loss = ((pred - target) ** 2).mean()
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), preset.grad_clip)
        optim.step()
        sched.step()
        step += 1
        losses.append(float(loss.detach()))
        if step % 25 == 0:
            took = time.perf_counter() - start
            print(f"step {step} loss(last 25) {np.mean(losses[-25:]):.4f} {took:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    out = Path(args.out)
    if args.half:  # half the file; the engine loads it into its float32 model
        model = model.to(torch.float16)
    model.save_pretrained(out, safe_serialization=True)
    (out / "loss.csv").write_text("step,loss\n" + "".join(f"{i + 1},{v:.5f}\n" for i, v in enumerate(losses)))
    info = {
        "quality": args.quality,
        "steps": step,
        "train_seconds": round(seconds, 1),
        "prepare_seconds": round(prep, 1),
        "batch_size": preset.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "started_from": "scratch",
        "stored_as": "float16" if args.half else "float32",
        "videos": [name for name, _ in corpus],
        "excluded": args.exclude,
        "load_average": os.getloadavg()[0],
        "loss_first_25": round(float(np.mean(losses[:25])), 4) if losses else None,
        "loss_last_25": round(float(np.mean(losses[-25:])), 4) if losses else None,
    }
    (out / "training.json").write_text(json.dumps(info, indent=1))
    print(json.dumps({k: v for k, v in info.items() if k != "videos"}))


if __name__ == "__main__":
    main()
