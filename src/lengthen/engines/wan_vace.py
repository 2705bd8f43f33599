"""``wan-vace``: Wan2.1 VACE through diffusers' ``WanVACEPipeline`` (the default GPU engine).

One call works on a window of ``4k + 1`` frames at 16 fps (81 at most for the released models),
at sizes divisible by 16. The window holds the shot's context frames, kept as they are (mask
black), and grey placeholders for the new frames (mask white): after the context for a tail
extension, before it for a head extension, so the model always sees real time order. The identity
banks give ``reference_images``: per character the best reference face, cut with margin from its
source frame (see :mod:`lengthen.engines.references`), on a white canvas. ``identity_strength``
scales the VACE conditioning (``conditioning_scale``), clamped to [0.5, 1.5].
"""

from __future__ import annotations

import numpy as np

from .base import GenerateRequest
from .diffusers_common import NEGATIVE_PROMPT, DiffusersEngine, Plan, build_prompt, step_callback, to_uint8
from .references import bank_reference_images

GREY = 127  # what the placeholders of the frames to make hold (VACE's convention for "unknown")


def vace_inputs(context_away: np.ndarray, total: int, direction: str):
    """Time-ordered ``video`` and ``mask`` (lists of PIL images) for a window of ``total`` frames,
    from context ordered away from the cut. Mask black keeps a frame, white asks for it."""
    from PIL import Image

    n, (h, w) = len(context_away), context_away.shape[1:3]
    grey = np.full((h, w, 3), GREY, np.uint8)
    black, white = Image.new("RGB", (w, h), (0, 0, 0)), Image.new("RGB", (w, h), (255, 255, 255))
    context = [Image.fromarray(f) for f in context_away[::-1]]  # towards the cut: time order for a tail
    new = [Image.fromarray(grey)] * (total - n)
    if direction == "tail":
        return context + new, [black] * n + [white] * (total - n)
    # head: the new frames come first in time, then the context in time order
    return new + [Image.fromarray(f) for f in context_away], [white] * (total - n) + [black] * n


class WanVaceEngine(DiffusersEngine):
    name = "wan-vace"
    pipeline_classes = ("WanVACEPipeline",)

    def run(self, pipe, context_away: np.ndarray, plan: Plan, request: GenerateRequest, progress) -> np.ndarray:
        video, mask = vace_inputs(context_away, plan.total, request.direction)
        gh, gw = plan.placement.grid
        refs, record = bank_reference_images(
            request.banks, per_bank=1, size=min(gh, gw), max_images=self.settings.max_references
        )
        self.last_info = {"references": record}
        scale = float(np.clip(self.settings.identity_strength / 0.8, 0.5, 1.5)) if refs else 1.0
        result = pipe(
            prompt=build_prompt(request.banks, self.settings.prompt),
            negative_prompt=NEGATIVE_PROMPT,
            video=video,
            mask=mask,
            reference_images=refs or None,
            conditioning_scale=scale,
            height=gh,
            width=gw,
            num_frames=plan.total,
            num_inference_steps=plan.steps,
            guidance_scale=plan.guidance,
            generator=self.generator,
            output_type="np",
            callback_on_step_end=step_callback(progress, plan.steps),
        )
        frames = to_uint8(result.frames)  # (total, gh, gw, 3) in time order
        if request.direction == "tail":
            return frames[plan.context :]
        return frames[: plan.total - plan.context][::-1]
