"""Media speed on this machine (run by hand: python benchmarks/bench_media.py).

1. Decode a 1080p H.264 clip to RGB: our reader (PyAV, threaded) against the ffmpeg command line
   (the binary shipped by imageio-ffmpeg) on the same file in the same run. Goal: ratio >= 0.9.
2. ProRes 422 HQ encode at 1080p with our writer.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lengthen.media.reader import read_frames  # noqa: E402
from lengthen.media.synthetic import encode_clip, pan_zoom_frames  # noqa: E402
from lengthen.media.writer import write_video  # noqa: E402

FRAMES = 120


def make_source(folder: Path) -> tuple[Path, np.ndarray]:
    from PIL import Image

    shared = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "images" / "openmpf__girl-1741925_1920.jpg"
    if shared.exists():
        image = np.asarray(Image.open(shared).convert("RGB"))
    else:
        image = (np.random.default_rng(0).random((1275, 1920, 3)) * 255).astype(np.uint8)
    frames = np.stack(list(pan_zoom_frames(image, FRAMES, (1080, 1920))))
    path = folder / "src1080.mp4"
    encode_clip(path, frames, "24000/1001", "h264")
    return path, frames


def time_ffmpeg(path: Path) -> float:
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    t = time.perf_counter()
    out = subprocess.run(
        [exe, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    seconds = time.perf_counter() - t
    assert len(out) == FRAMES * 1080 * 1920 * 3
    return FRAMES / seconds


def time_reader(path: Path) -> float:
    t = time.perf_counter()
    frames = read_frames(path, 0, FRAMES)
    seconds = time.perf_counter() - t
    assert frames.shape == (FRAMES, 1080, 1920, 3)
    return FRAMES / seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, frames = make_source(folder)
        read_frames(path, 0, 2)  # warm the index cache and imports
        ours = max(time_reader(path) for _ in range(2))
        theirs = max(time_ffmpeg(path) for _ in range(2))
        t = time.perf_counter()
        write_video(folder / "enc.mov", frames[:48], rate="24000/1001")
        prores = 48 / (time.perf_counter() - t)
    print("| measure (1080p, 2 cores)              | value |")
    print("|---------------------------------------|-------|")
    print(f"| decode H.264 -> RGB, lengthen reader  | {ours:6.1f} fps |")
    print(f"| decode H.264 -> RGB, ffmpeg CLI       | {theirs:6.1f} fps |")
    print(f"| ratio (goal >= 0.9)                   | {ours / theirs:6.2f}x |")
    print(f"| encode ProRes 422 HQ, lengthen writer | {prores:6.1f} fps |")


if __name__ == "__main__":
    main()
