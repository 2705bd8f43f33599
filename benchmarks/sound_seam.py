"""Extended sound at the seam: a table of continuity, level and spectrum figures, and a small
spectrogram PNG of a seam (README).

    python benchmarks/sound_seam.py [--clip tests/data/video/openmpf__video_01.mp4] [--png docs/sound_seam.png]

For each direction and seed: the step at the seam, the largest step in the 50 ms either side of it
against the largest step in the source's last second, the RMS difference and the largest octave
band difference (125 Hz - 8 kHz, bands within 30 dB of the loudest) against the source's last second.
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from lengthen.audio.ambience import octave_bands_db, rms_db
from lengthen.audio.shot import ShotSound
from lengthen.media.probe import probe

REPO = Path(__file__).resolve().parents[1]


def figures(sound: ShotSound, direction: str, frames: int, seed: int, last_frame: int) -> tuple[dict, np.ndarray]:
    a = sound.ends[direction]
    first = last_frame + 1 if direction == "tail" else -frames
    t = time.perf_counter()
    made = sound.extend(direction, first, frames, seed)
    seconds = time.perf_counter() - t
    sr = a.sample_rate
    if direction == "tail":
        seam = a.frame_sample(last_frame + 1)
        ref = a.slice(seam - sr, seam)
        joined, at = np.concatenate([ref, made.samples], 1), sr
    else:
        seam = a.frame_sample(0)
        ref = a.slice(seam, seam + sr)
        joined, at = np.concatenate([made.samples, ref], 1), made.samples.shape[1]
    steps = np.abs(np.diff(joined, axis=1))
    w = int(0.05 * sr)
    want, got = octave_bands_db(ref, sr), octave_bands_db(made.samples, sr)
    main = want > want.max() - 30
    return {
        "direction": direction,
        "seed": seed,
        "method": made.extension.method,
        "seam_step": float(steps[:, at - 1].max()),
        "max_step_50ms": float(steps[:, at - 1 - w : at - 1 + w].max()),
        "source_max_step": float(np.abs(np.diff(ref, axis=1)).max()),
        "rms_diff_db": rms_db(made.samples) - rms_db(ref),
        "band_diff_db": float(np.abs(got - want)[main].max()),
        "seconds": seconds,
    }, joined


def spectrogram_png(x: np.ndarray, sr: int, seam: int, path: Path, title: str) -> None:
    """Log-magnitude spectrogram (0-11 kHz) of the channel mean, seam marked, about 600x230 px."""
    from PIL import Image, ImageDraw

    y = x.mean(0)
    n, hop = 1024, 256
    win = np.hanning(n)
    count = 1 + (len(y) - n) // hop
    frames = np.stack([y[i * hop : i * hop + n] * win for i in range(count)])
    mag = 20 * np.log10(np.abs(np.fft.rfft(frames, axis=1)) + 1e-9)  # (time, bins)
    top = int(11000 / (sr / n))
    img = mag[:, :top].T[::-1]
    hi = np.percentile(img, 99.5)
    norm = np.clip((img - (hi - 70)) / 70, 0, 1)
    # a dark-blue -> yellow ramp
    rgb = np.stack([norm**0.7, norm**1.2 * 0.9, 0.35 * (1 - norm) + 0.1 * norm], -1)
    pic = Image.fromarray((rgb * 255).astype(np.uint8)).resize((600, 200), Image.BILINEAR)
    canvas = Image.new("RGB", (600, 230), (255, 255, 255))
    canvas.paste(pic, (0, 0))
    draw = ImageDraw.Draw(canvas)
    sx = int(round((seam - n / 2) / hop / count * 600))
    draw.line([(sx, 0), (sx, 199)], fill=(255, 255, 255), width=1)
    draw.text((4, 204), title, fill=(0, 0, 0))
    draw.text((max(4, sx - 80), 216), "source  |  generated", fill=(0, 0, 0))
    canvas.quantize(colors=48).save(path, optimize=True)  # a palette keeps the PNG small


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=str(REPO / "tests/data/video/openmpf__video_01.mp4"))
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--png", default=None, help="write the spectrogram of the tail seam (seed 0) here")
    args = ap.parse_args()
    info = probe(args.clip)
    rate = Fraction(info.fps)
    frames = round(args.seconds * rate)
    sound = ShotSound.load(args.clip, 0, info.frames - 1, rate)
    if sound is None:
        raise SystemExit(f"{args.clip}: no audio")
    sr = sound.audio.sample_rate
    print(f"{Path(args.clip).name}: {sr} Hz {sound.audio.layout}, {frames} frames ({args.seconds} s) each way")
    head = "| dir | seed | method | seam step | max step ±50 ms | source max step | RMS diff dB | band diff dB | s |"
    print(head)
    print("|" + "---|" * 9)
    for direction in ("tail", "head"):
        for seed in range(3):
            f, joined = figures(sound, direction, frames, seed, info.frames - 1)
            print(
                f"| {f['direction']} | {f['seed']} | {f['method']} | {f['seam_step']:.5f} | {f['max_step_50ms']:.4f} "
                f"| {f['source_max_step']:.4f} | {f['rms_diff_db']:+.2f} | {f['band_diff_db']:.2f} "
                f"| {f['seconds']:.3f} |"
            )
            if args.png and direction == "tail" and seed == 0:
                keep = joined[:, : sr * 2]  # 1 s of source, 1 s generated
                spectrogram_png(keep, sr, sr, Path(args.png), f"{Path(args.clip).name}: tail seam, 0-11 kHz, 2 s")


if __name__ == "__main__":
    main()
