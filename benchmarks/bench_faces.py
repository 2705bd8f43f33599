"""Speed of the default face backend (our torch port of dlib's models): detect + align + embed.

    python benchmarks/bench_faces.py [--threads 2] [--frames 8] [--frames-1080 3] [--video PATH]

Frames come from the shared test clip ``video/tears_of_steel_clip01.mp4`` (640x360, decoded with
PyAV), and the same frames upscaled to 1920x1080. Prints frames/s and faces/s per size and the
time per stage; if the real ``dlib`` package happens to be importable, its speed on the same
frames too, as a ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_VIDEO = HERE.parent.parent / "shared" / "testdata" / "video" / "tears_of_steel_clip01.mp4"


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames or 240
        wanted = set(np.linspace(0, total - 1, count).round().astype(int).tolist())
        frames = [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(stream)) if i in wanted]
    return frames


def bench_ours(backend, frames) -> dict:
    t = {"detect": 0.0, "align": 0.0, "embed": 0.0}
    faces = 0
    backend.embed(backend.align(frames[0], backend.detect(frames[0])))  # warm-up
    for img in frames:
        t0 = time.perf_counter()
        dets = backend.detect(img)
        t1 = time.perf_counter()
        chips = backend.align(img, dets)
        t2 = time.perf_counter()
        backend.embed(chips)
        t3 = time.perf_counter()
        t["detect"] += t1 - t0
        t["align"] += t2 - t1
        t["embed"] += t3 - t2
        faces += len(dets)
    total = sum(t.values())
    return {"frames/s": len(frames) / total, "faces": faces, "faces/s": faces / total,
            **{f"{k} ms/frame": 1000 * v / len(frames) for k, v in t.items()}}  # fmt: skip


def bench_dlib(frames) -> dict | None:
    try:
        import dlib  # noqa: F401
    except ImportError:
        return None
    from lengthen.faces.backends.dlib_torch.weights import model_path

    det = dlib.cnn_face_detection_model_v1(str(model_path("mmod")))
    sp = dlib.shape_predictor(str(model_path("shape5")))
    rec = dlib.face_recognition_model_v1(str(model_path("resnet")))
    start = time.perf_counter()
    faces = 0
    for img in frames:
        for d in det(img, 0):
            rec.compute_face_descriptor(img, sp(img, d.rect), 1)
            faces += 1
    total = time.perf_counter() - start
    return {"frames/s": len(frames) / total, "faces/s": faces / total}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frames", type=int, default=8, help="640x360 frames to time")
    p.add_argument("--frames-1080", type=int, default=3, help="1920x1080 frames to time")
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    args = p.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch
    from PIL import Image

    from lengthen.faces.backends import get_backend

    torch.set_num_threads(args.threads)
    if not args.video.is_file():
        print(f"test clip not found: {args.video}", file=sys.stderr)
        return 2
    small = read_frames(args.video, args.frames)
    big = [np.asarray(Image.fromarray(f).resize((1920, 1080), Image.BILINEAR)) for f in small[: args.frames_1080]]
    backend = get_backend("dlib", device="cpu")
    rows = []
    for label, frames in (("640x360", small), ("1920x1080", big)):
        if not frames:
            continue
        ours = bench_ours(backend, frames)
        theirs = bench_dlib(frames)
        rows.append((label, len(frames), ours, theirs))
    print(f"face backend 'dlib' (torch {torch.__version__}, {args.threads} threads, cpu)")
    head = (
        f"{'size':10s} {'frames':>6s} {'faces':>5s} {'frames/s':>9s} {'faces/s':>8s} "
        f"{'detect ms':>10s} {'align ms':>9s} {'embed ms':>9s} {'vs dlib':>8s}"
    )
    print(head)
    print("-" * len(head))
    for label, n, o, d in rows:
        ratio = f"{o['frames/s'] / d['frames/s']:.2f}x" if d else "n/a"
        print(f"{label:10s} {n:6d} {o['faces']:5d} {o['frames/s']:9.2f} {o['faces/s']:8.2f} "
              f"{o['detect ms/frame']:10.0f} {o['align ms/frame']:9.1f} {o['embed ms/frame']:9.1f} "
              f"{ratio:>8s}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
