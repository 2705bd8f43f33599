"""``wan-vace``: Wan2.1 VACE through diffusers' ``WanVACEPipeline`` (the default GPU engine).

One call works on a window of ``4k + 1`` frames at 16 fps (81 at most for the released models),
at sizes divisible by 16; longer extensions run window after window (see
:mod:`lengthen.engines.diffusers_common`). A window holds the context frames, kept as they are
(mask black), and grey placeholders for the new frames (mask white): after the context for a tail
extension, before it for a head extension, so the model always sees real time order.

The VAE packs frame 0 alone and then 4 frames per latent, and the pipeline reduces the mask to one
value per latent by sampling one frame of it (``nearest-exact``). So the cut must fall on a latent
boundary: a tail's context is ``4k + 1`` frames, a head's ``4k`` (the new frames fill latents
``0..j`` exactly), and a window whose sampled mask would mark a latent holding new frames "keep"
is lengthened (:func:`latent_mask`, checked against the real pipeline in the tests).

The identity banks give ``reference_images``: per character the best reference face (two when
``identity_strength`` is above 1), cut with margin from its source frame (see
:mod:`lengthen.engines.references`), on a white canvas; ``identity_strength`` 0 sends none. VACE's
``conditioning_scale`` stays 1.0, so identity never loosens how closely the context is followed.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from .base import GenerateRequest
from .diffusers_common import NEGATIVE_PROMPT, DiffusersEngine, Sampling, Window, call_kwargs, option, to_uint8
from .references import bank_reference_images

GREY = 127  # what the placeholders of the frames to make hold (VACE's convention for "unknown")
TEMPORAL = 4  # Wan VAE: frame 0, then 4 frames per latent


def latent_mask(total: int) -> list[int]:
    """For a window of ``total = 4k + 1`` frames, the frame whose mask value each of the ``k + 1``
    latents takes (``torch.nn.functional.interpolate(..., mode="nearest-exact")`` in time, as
    ``WanVACEPipeline.prepare_masks`` does): ``floor((i + 1/2) * total / (k + 1))``."""
    k = (total - 1) // TEMPORAL
    return [((2 * i + 1) * total) // (2 * (k + 1)) for i in range(k + 1)]


def mask_misses(total: int, context: int, direction: str) -> list[int]:
    """Latents holding a new frame that the sampled mask would mark "keep" (should be none)."""
    new = set(range(context, total)) if direction == "tail" else set(range(total - context))
    bad = []
    for i, sampled in enumerate(latent_mask(total)):
        frames = {0} if i == 0 else set(range(TEMPORAL * i - 3, TEMPORAL * i + 1))
        if frames & new and sampled not in new:
            bad.append(i)
    return bad


def vace_inputs(context: np.ndarray, total: int, direction: str):
    """Time-ordered ``video`` and ``mask`` (lists of PIL images) for a window of ``total`` frames
    from time-ordered ``context``. Mask black keeps a frame, white asks for it."""
    from PIL import Image

    n, (h, w) = len(context), context.shape[1:3]
    grey = Image.fromarray(np.full((h, w, 3), GREY, np.uint8))
    black, white = Image.new("RGB", (w, h), (0, 0, 0)), Image.new("RGB", (w, h), (255, 255, 255))
    frames = [Image.fromarray(f) for f in context]
    if direction == "tail":
        return frames + [grey] * (total - n), [black] * n + [white] * (total - n)
    return [grey] * (total - n) + frames, [white] * (total - n) + [black] * n


class WanVaceEngine(DiffusersEngine):
    name = "wan-vace"
    pipeline_classes = ("WanVACEPipeline",)
    reference_faces = 2  # per character: the pipeline cuts them with margin (GenerateRequest.references)

    def context_size(self, available: int, direction: str) -> int:
        c = min(available, int(self.quality["context"]))
        if direction == "tail":
            return (c - 1) // TEMPORAL * TEMPORAL + 1 if c >= 1 else 0  # 4k + 1: the cut ends a latent
        return c // TEMPORAL * TEMPORAL  # 4k: the new frames fill whole latents

    def window(self, context: int, remaining: int, direction: str) -> Window:
        w = super().window(context, remaining, direction)
        size, total, context = int(self.quality["window"]), w.total, w.context
        while mask_misses(total, context, direction) and total + TEMPORAL <= size:
            total += TEMPORAL  # more new frames (the extra ones are dropped)
        while mask_misses(total, context, direction) and context > TEMPORAL:
            context -= TEMPORAL
        if mask_misses(total, context, direction):
            raise UsageError(f"wan-vace cannot lay out a {direction} window of {total} frames on its latent grid")
        return Window(context, total - context)

    def run(self, pipe, context: np.ndarray, window: Window, request: GenerateRequest, callback, sampling: Sampling):
        video, mask = vace_inputs(context, window.total, request.direction)
        gh, gw = context.shape[1:3]
        strength = float(self.settings.identity_strength)
        refs, record = ([], [])
        if strength > 0:
            refs, record = bank_reference_images(
                request.banks,
                per_bank=1 if strength <= 1.0 else 2,
                size=min(gh, gw),
                max_images=int(option(self.settings, "max_references", 3)),
                references=request.references,
            )
        self.last_info = {"references": record, "conditioning_scale": 1.0}
        result = pipe(
            prompt=sampling.prompt,
            negative_prompt=NEGATIVE_PROMPT,
            video=video,
            mask=mask,
            reference_images=refs or None,
            conditioning_scale=1.0,
            height=gh,
            width=gw,
            num_frames=window.total,
            num_inference_steps=sampling.plan.steps,
            guidance_scale=sampling.plan.guidance,
            generator=sampling.generator,
            output_type="np",
            callback_on_step_end=callback,
            **call_kwargs(pipe, self.preset.get("call", {})),
        )
        frames = to_uint8(result.frames)  # (total, gh, gw, 3) in time order
        c = window.context
        if request.direction == "tail":
            return frames[:c], frames[c:]
        return frames[window.new :], frames[: window.new]
