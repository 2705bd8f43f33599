"""``ltx``: LTX-Video through diffusers' ``LTXConditionPipeline`` (``LTX2ConditionPipeline`` when
the folder's model_index.json is an LTX-2 pipeline).

LTX works on ``8k + 1`` frames at sizes divisible by 32, at the clip's own rate up to 30 fps
(faster clips are generated at 30 fps and conformed); longer extensions run window after window
(see :mod:`lengthen.engines.diffusers_common`). The context frames (``8k + 1`` of them, ending at
the cut) become one video condition anchored where they belong in time:

* tail: at the start of the window (``LTXVideoCondition(video=..., frame_index=0)``), and the
  model continues forward;
* head: at the **end** of the window (``frame_index = num_frames - len(context)``, a multiple of
  8 so the condition's latents line up with the window's), and the model generates the frames
  that lead into it. Nothing is reversed in time: gait, gravity, smoke and speech run forward.

LTX has no reference-image input: identity comes from the context frames and the prompt, and the
pipeline's reranking by identity picks the best candidate. Old LTX-Video folders (0.9.0/0.9.1,
whose scheduler uses dynamic shifting) are refused with one line before any work starts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError
from . import grid
from .base import GenerateRequest
from .diffusers_common import NEGATIVE_PROMPT, OLD_LTX, DiffusersEngine, Sampling, Window, call_kwargs, to_uint8


def is_ltx2(index: dict) -> bool:
    """An LTX-2 folder: its pipeline class says LTX2, or it has LTX-2's text connectors."""
    return str(index.get("_class_name", "")).startswith("LTX2") or "connectors" in index


class LTXEngine(DiffusersEngine):
    name = "ltx"
    pipeline_classes = (
        "LTXPipeline",
        "LTXConditionPipeline",
        "LTXImageToVideoPipeline",
        "LTX2Pipeline",
        "LTX2ConditionPipeline",
        "LTX2ImageToVideoPipeline",
    )

    def pipeline_class(self, index: dict, folder: Path) -> str:
        if index.get("_class_name") not in self.pipeline_classes:
            raise ModelError(
                f"this folder holds a {index.get('_class_name')}; engine 'ltx' needs LTX-Video "
                "(LTXConditionPipeline) or LTX-2 weights in diffusers format",
                path=folder,
            )
        return "LTX2ConditionPipeline" if is_ltx2(index) else "LTXConditionPipeline"

    def check_loaded(self, pipe, folder: Path) -> None:
        if type(pipe).__name__ == "LTXConditionPipeline" and pipe.scheduler.config.get("use_dynamic_shifting"):
            raise ModelError(OLD_LTX, path=folder)

    def context_size(self, available: int, direction: str) -> int:
        c = grid.below_grid(max(1, min(available, int(self.quality["context"]))), self.preset["frame_multiple"])
        if direction == "head" and c < self.preset["frame_multiple"] + 1:
            return 0  # an end-anchored video condition needs two latents (9 frames)
        return c

    def run(self, pipe, context: np.ndarray, window: Window, request: GenerateRequest, callback, sampling: Sampling):
        from PIL import Image

        condition = [Image.fromarray(f) for f in context]  # time order
        index = 0 if request.direction == "tail" else window.total - window.context
        gh, gw = context.shape[1:3]
        if type(pipe).__name__.startswith("LTX2"):
            from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

            conditions = [LTX2VideoCondition(frames=condition, index=index, strength=1.0)]
        else:
            from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

            conditions = [LTXVideoCondition(video=condition, frame_index=index, strength=1.0)]
        result = pipe(
            conditions=conditions,
            prompt=sampling.prompt,
            negative_prompt=NEGATIVE_PROMPT,
            height=gh,
            width=gw,
            num_frames=window.total,
            frame_rate=float(sampling.plan.native),
            num_inference_steps=sampling.plan.steps,
            guidance_scale=sampling.plan.guidance,
            generator=sampling.generator,
            output_type="np",
            callback_on_step_end=callback,
            **call_kwargs(pipe, self.preset.get("call", {})),
        )
        self.last_info = {"pipeline": type(pipe).__name__, "condition_frame_index": index}
        frames = to_uint8(result.frames)  # (total, gh, gw, 3) in time order
        c = window.context
        if request.direction == "tail":
            return frames[:c], frames[c:]
        return frames[window.new :], frames[: window.new]
