"""``motion``: smoothed, damped optical-flow extrapolation with the built-in engine's warp back end.

Instant (a fraction of a second per shot on the CPU), never invents content, and the baseline the
diffusion engine has to beat. It measures the context's motion at the working resolution, continues
the recent motion (exponentially weighted over the last frames, blurred, damped a little per frame)
and warps the real edge frame at full resolution by the composed motion. For a head extension the
context is reversed in time, extended, and the result reversed back.
"""

from __future__ import annotations

import time
from dataclasses import replace

from .base import EngineSettings, GenerateRequest, GenerateResult
from .builtin_settings import PRESETS, BuiltinSettings


class MotionEngine:
    name = "motion"
    min_context = 2
    max_frames = None

    def __init__(self, settings: EngineSettings | None = None, *, raw: bool = False) -> None:
        self.settings = settings or EngineSettings()
        self.raw = raw  # raw: repeat the last flow, no smoothing/damping/blur (evaluation baseline)

    def generate(self, request: GenerateRequest, progress) -> GenerateResult:
        from ..flow import compose_and_warp, context_flows, work_size_for
        from .sample import prior_flows

        t0 = time.perf_counter()
        preset = BuiltinSettings.preset(request.settings.quality if request.settings.quality in PRESETS else "normal")
        frames = request.context if request.direction == "tail" else request.context[::-1]
        frames = frames[-preset.window_span :]
        h, w = frames.shape[1:3]
        size = work_size_for(w, h, preset.work_width, preset.patch_size)
        flows = context_flows(frames, size, preset.flow_source_width)
        if progress is not None:
            progress.report("motion", 1, 3, "flows measured")
            progress.check()
        if self.raw:
            from ..flow import extrapolate_flows

            new = extrapolate_flows(flows, request.frames, window=1, smooth=0.0, damping=1.0, blur_sigma=0.0)
        else:  # the same extrapolation the built-in engine starts from (its motion prior)
            new = prior_flows(flows, request.frames, replace(preset, prior="motion")).numpy()
        if progress is not None:
            progress.report("motion", 2, 3, "warping")
            progress.check()
        out = compose_and_warp(frames[-1], new, blur_sigma=0.0 if self.raw else preset.warp_blur_sigma)
        if request.direction == "head":
            out = out[::-1].copy()
        if progress is not None:
            progress.report("motion", 3, 3)
        return GenerateResult(
            frames=out,
            info={
                "engine": self.name,
                "model": "flow extrapolation (raw)" if self.raw else "smoothed damped flow extrapolation",
                "seed": request.seed,
                "work_size": list(size),
                "seconds": round(time.perf_counter() - t0, 3),
            },
        )


class RawFlowEngine(MotionEngine):
    """Evaluation baseline: repeat the last measured flow as it is."""

    name = "flow-raw"

    def __init__(self, settings: EngineSettings | None = None) -> None:
        super().__init__(settings, raw=True)
