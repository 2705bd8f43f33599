"""Seam, motion, flicker and fidelity figures on uint8 RGB frames (T, H, W, 3).

Definitions (also in the README):
- frame change: mean absolute difference between consecutive frames, in 8-bit levels;
- seam jump: the change across the cut over the source's median frame-to-frame change
  (1.0 = the cut looks like any other frame step of the source);
- motion energy: median change between generated frames over the same source median
  (0 for a freeze, about 1 for motion like the source's);
- seam colour: mean over R, G, B of the absolute difference between the per-channel means of the
  source frame at the cut and the generated frame next to it, in 8-bit code values (0 = no colour
  shift at the cut; the whole frame, so motion moves it little);
- flicker: median absolute second difference of the frames' mean brightness, generated over source;
- PSNR and SSIM (global, on luma) against a truth.
"""

from __future__ import annotations

import numpy as np


def frame_changes(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference of each pair of consecutive frames (one pair at a time, in int16:
    no float copy of the whole clip)."""
    if len(frames) < 2:
        return np.zeros(0, dtype=np.float64)
    return np.array(
        [np.abs(frames[i + 1].astype(np.int16) - frames[i]).mean() for i in range(len(frames) - 1)], dtype=np.float64
    )


def source_motion(source: np.ndarray, window: int = 48) -> float:
    """Median frame-to-frame change of the source's frames nearest the cut (at least 1e-3)."""
    changes = frame_changes(source[-window:])
    return max(1e-3, float(np.median(changes))) if len(changes) else 1e-3


def seam_jump(
    source: np.ndarray, generated: np.ndarray, direction: str = "tail", motion: float | None = None
) -> float:
    """Change across the cut over the source's median change (``motion``: that median, when known).
    ``source``/``generated`` in time order."""
    if direction == "tail":
        a, b, ref = source[-1], generated[0], source
    else:
        a, b, ref = generated[-1], source[0], source[::-1]
    jump = float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())
    return jump / (motion if motion is not None else source_motion(ref))


def motion_energy(
    source: np.ndarray, generated: np.ndarray, direction: str = "tail", motion: float | None = None
) -> float:
    ref = source if direction == "tail" else source[::-1]
    changes = frame_changes(generated)
    if not len(changes):
        return 0.0
    return float(np.median(changes)) / (motion if motion is not None else source_motion(ref))


def flicker(source: np.ndarray, generated: np.ndarray) -> float:
    def second_diff(frames):
        means = frames.astype(np.float32).mean(axis=(1, 2, 3))
        return float(np.median(np.abs(np.diff(means, n=2)))) if len(means) > 2 else 0.0

    return second_diff(generated) / max(1e-3, second_diff(source))


def _luma(frame: np.ndarray) -> np.ndarray:
    f = frame.astype(np.float64)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse <= 1e-10 else 10.0 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM on luma with an 8x8 box window (no SciPy needed)."""
    x, y = _luma(a), _luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def box(img, k=8):
        h, w = img.shape[0] // k * k, img.shape[1] // k * k
        return img[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))

    mx, my = box(x), box(y)
    vx, vy = box(x * x) - mx**2, box(y * y) - my**2
    cov = box(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())


def fidelity(truth: np.ndarray, generated: np.ndarray, first: int = 4) -> dict:
    n = min(len(truth), len(generated))
    k = min(first, n)
    return {
        f"psnr{k}": float(np.mean([psnr(truth[i], generated[i]) for i in range(k)])),
        f"psnr{n}": float(np.mean([psnr(truth[i], generated[i]) for i in range(n)])),
        f"ssim{k}": float(np.mean([ssim(truth[i], generated[i]) for i in range(k)])),
    }


def seam_color(source: np.ndarray, generated: np.ndarray, direction: str = "tail") -> float:
    """Mean colour difference across the cut (8-bit code values). ``source``/``generated`` in time order."""
    from .media.color import mean_color_difference

    a, b = (source[-1], generated[0]) if direction == "tail" else (generated[-1], source[0])
    return mean_color_difference(a, b)


def seam_and_motion(source: np.ndarray, generated: np.ndarray, direction: str, motion: float | None = None) -> dict:
    """The seam and motion figures; ``motion``: the source's :func:`source_motion` (time order away
    from the cut), when the caller measured it already (best-of-N candidates share one source)."""
    if motion is None:
        motion = source_motion(source if direction == "tail" else source[::-1])
    return {
        "seam_jump": round(seam_jump(source, generated, direction, motion), 4),
        "seam_color": round(seam_color(source, generated, direction), 4),
        "motion_energy": round(motion_energy(source, generated, direction, motion), 4),
        "flicker": round(flicker(source, generated), 4),
    }
