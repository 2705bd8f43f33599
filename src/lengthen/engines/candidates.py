"""Self-validation for the built-in engine: which way of continuing *this* shot fits its own frames.

The shot's last ``H`` known frames (``BuiltinSettings.holdout_frames``) are hidden; every candidate
continues the shot from the frame before them, exactly as it would continue it after the cut, and
is scored by PSNR (mean over the ``H`` frames, full resolution) against the real frames:

- ``freeze``: hold the edge frame (the ``freeze`` engine);
- ``flow-raw``: repeat the last measured flow (the ``flow-raw`` baseline);
- ``motion``: the smoothed, damped extrapolation (the ``motion`` engine, and the prior the learned
  model corrects);
- ``motion-slow``: the same, damped hard (``slow_damping``): a shot slowing to a stop;
- ``hedged``: the expected frame when the speed after the cut is uncertain: the mean of the edge
  frame warped by the raw flow at several speeds (``hedge_raw_scales``, 0 = held) and by the
  motion prior at several (``hedge_motion_scales``), every hypothesis within
  ``hedge_spread_cap`` of their common mean, faces kept sharp from the ``motion`` warp
  (``flow.hedged_warp``);
- ``learned xA``: the adapted model's correction on the prior at scale ``A`` (``learned_scales``);
- ``hedged learned``: ``hedged`` with the learned correction in full in place of the motion prior.

Four held-out frames are a noisy judge of which *crisp* continuation comes next: over the cuts of
six real shots (``benchmarks/bench_windows.py``) choosing the best crisp candidate on the 4 frames
before each cut lost 0.65 dB on average to the best of ``freeze`` / ``flow-raw`` / ``motion`` at
the cut itself (which no method knows in advance), while always ``hedged`` gained 0.13. So a hedge
is the default winner, and a crisp candidate replaces it only when it beats the best hedge on the
held-out frames by more than ``hedge_margin_db``.

The cheap candidates reproduce the baseline engines frame for frame (same flows, same warp), so
when one of them wins the engine's frames *are* that baseline's. Each character's face found at
the held-out origin is then tried rigid (``flow.rigid_faces``) and free in the warp of the best
moving cheap candidate, scored inside the face's box only: rigid is kept for that character only
where it fits the real frames better (a face that turns or changes expression stays free).

``oracle``: the warp of the same origin by the flows measured on the held-out frames themselves,
the best any warp of the edge frame can do there. When the best cheap candidate comes within
``skip_margin_db`` of it, or reaches ``still_psnr_db``, there is nothing left for a model to learn
and adaptation is skipped (a still or stopping shot costs seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import flow as flowlib


@dataclass(frozen=True)
class Recipe:
    """How one candidate makes flows: ``kind`` freeze / raw / prior / learned / hedge (``scale`` > 0:
    around the learned correction at that scale instead of the motion prior)."""

    name: str
    kind: str
    blur: float = 0.0  # warp blur sigma (working px)
    damping: float = 1.0  # prior: per-frame damping
    scale: float = 0.0  # learned: residual scale on the prior

    @property
    def moving(self) -> bool:
        return self.kind != "freeze"

    @property
    def learned(self) -> bool:
        """Made from the adapted model's correction."""
        return self.kind == "learned" or (self.kind == "hedge" and self.scale > 0)

    @property
    def crisp(self) -> bool:
        """One warp of the edge frame (not a mean of several)."""
        return self.kind != "hedge"


def cheap_recipes(preset) -> list[Recipe]:
    """The cheap candidates, cheapest and safest first (ties go to the earlier one)."""
    return [
        Recipe("freeze", "freeze"),
        Recipe("motion", "prior", preset.warp_blur_sigma, preset.motion_damping),
        Recipe("motion-slow", "prior", preset.warp_blur_sigma, preset.slow_damping),
        Recipe("flow-raw", "raw"),
        Recipe("hedged", "hedge", preset.warp_blur_sigma, preset.motion_damping),
    ]


def hedge_hypotheses(flows: np.ndarray, preset) -> list:
    """A hedge's stacked flows (raw, centre[, motion prior]) -> the hypotheses of
    ``flow.hedged_warp``: the raw flow at ``hedge_raw_scales``, the centre (the motion prior, or
    the learned correction) at ``hedge_motion_scales``."""
    return [(flows[0], preset.hedge_raw_scales, 0.0), (flows[1], preset.hedge_motion_scales, preset.warp_blur_sigma)]


def hedge_stack(raw: np.ndarray, centre: np.ndarray, motion: np.ndarray | None = None) -> np.ndarray:
    """A hedge's flows as one array: raw, centre and the motion prior that faces follow (the last;
    ``hedged`` has the prior as its centre, so two suffice)."""
    return np.stack([raw, centre] + ([] if motion is None else [motion]))


def learned_recipes(preset) -> list[Recipe]:
    blur, damping = preset.warp_blur_sigma, preset.motion_damping
    out = [Recipe(f"learned x{a:g}", "learned", blur, damping, a) for a in preset.learned_scales]
    if preset.hedge_learned:  # the hedge around the learned correction in full instead of the prior
        out.append(Recipe("hedged learned", "hedge", blur, damping, 1.0))
    return out


def cheap_flows(recipe: Recipe, history: np.ndarray, n: int) -> np.ndarray:
    """``(n, 2, h, w)`` flows after ``history`` (backward flows, generation order, working px), as
    the ``freeze`` / ``flow-raw`` / ``motion`` engines make them; for ``hedged`` ``(2, n, 2, h, w)``:
    its raw and motion-prior flows (``hedge_stack``)."""
    h, w = history.shape[-2:]
    if recipe.kind == "hedge":
        raw = flowlib.extrapolate_flows(history, n, window=1, smooth=0.0, damping=1.0, blur_sigma=0.0)
        return hedge_stack(raw, flowlib.extrapolate_flows(history, n, damping=recipe.damping))
    if recipe.kind == "freeze" or n == 0:
        return np.zeros((n, 2, h, w), dtype=np.float32)
    if recipe.kind == "raw":
        return flowlib.extrapolate_flows(history, n, window=1, smooth=0.0, damping=1.0, blur_sigma=0.0)
    if recipe.kind == "prior":
        return flowlib.extrapolate_flows(history, n, damping=recipe.damping)
    raise ValueError(f"{recipe.name} is not a cheap candidate")


def psnr(truth: np.ndarray, frames: np.ndarray, box=None) -> float:
    """Mean PSNR over frames (uint8 ``(N, H, W, 3)``); ``box = (x0, y0, x1, y1)`` scores inside it only."""
    from ..metrics import psnr as one

    if box is not None:
        x0, y0, x1, y1 = box
        truth, frames = truth[:, y0:y1, x0:x1], frames[:, y0:y1, x0:x1]
    return float(np.mean([one(a, b) for a, b in zip(truth, frames)]))


def face_box(region, frame_size: tuple[int, int], work_size: tuple[int, int]):
    """Working-px ``(cx, cy, r)`` -> full-res pixel box ``(x0, y0, x1, y1)`` clipped to the frame."""
    (W, H), (w, h) = frame_size, work_size
    cx, cy, r = region
    sx, sy = W / w, H / h
    x, y = (cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5
    x0, x1 = int(max(0, x - r * sx)), int(min(W, x + r * sx + 1))
    y0, y1 = int(max(0, y - r * sy)), int(min(H, y + r * sy + 1))
    return (x0, y0, x1, y1) if x1 - x0 >= 4 and y1 - y0 >= 4 else None


@dataclass
class Selection:
    """The self-validation table, as ``report.json`` shows it (``engine_info["selection"]``)."""

    held_out: int
    rows: list[dict] = field(default_factory=list)  # {"candidate", "psnr", "seconds"}
    oracle_psnr: float | None = None
    rigid: dict = field(default_factory=dict)  # character -> {"free", "rigid", "kept"}
    chosen: str = "motion"
    why: str = ""
    adaptation: str = ""
    identity_guard: dict = field(default_factory=dict)  # worst-frame identity: chosen vs the motion prior

    def score(self, name: str) -> float | None:
        return next((r["psnr"] for r in self.rows if r["candidate"] == name), None)

    def best(self, names=None) -> tuple[str, float]:
        rows = [r for r in self.rows if names is None or r["candidate"] in names]
        best = max(rows, key=lambda r: r["psnr"])  # max keeps the first of equals: the cheaper one
        return best["candidate"], best["psnr"]

    def to_dict(self) -> dict:
        return {
            "held_out_frames": self.held_out,
            "candidates": [{**r, "psnr": round(r["psnr"], 3), "seconds": round(r["seconds"], 3)} for r in self.rows],
            "oracle_psnr": None if self.oracle_psnr is None else round(self.oracle_psnr, 3),
            "rigid_faces": self.rigid,
            "chosen": self.chosen,
            "why": self.why,
            "adaptation": self.adaptation,
            "identity_guard": self.identity_guard,
        }
