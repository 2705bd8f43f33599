"""``ltx``: LTX-Video through diffusers' ``LTXConditionPipeline`` (``LTX2ConditionPipeline`` when
the folder's model_index.json is an LTX-2 pipeline).

LTX works on ``8k + 1`` frames at sizes divisible by 32, at the clip's own rate up to 30 fps
(faster clips are generated at 30 fps and conformed). The context frames become one video
condition at frame 0 (``LTXVideoCondition(video=..., frame_index=0)``), trimmed to ``8k + 1``
frames ending at the cut, and the model continues them forward in time.

Head extensions run **backward**: the context is reversed in time (so the first frame of the shot
is the last frame of the condition), LTX continues that reversed clip, and the new frames are
reversed back. Motion that is not time-symmetric (falling objects, walking direction) is only
as plausible as the model makes the reversed clip; ``wan-vace`` handles heads natively.
LTX has no reference-image input: identity comes from the context frames and the prompt, and the
pipeline's reranking by identity picks the best candidate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError
from . import grid
from .base import GenerateRequest
from .diffusers_common import NEGATIVE_PROMPT, DiffusersEngine, Plan, build_prompt, step_callback, to_uint8


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

    def fit_window(self, context: int, new: int) -> tuple[int, int]:
        m, window = self.preset["frame_multiple"], self.quality["window"]
        if 1 + new > window:
            raise self._too_long(new)
        context = grid.below_grid(max(1, min(context, window - new)), m)  # a video condition is 8k+1
        return context, grid.on_grid(context + new, m)

    def run(self, pipe, context_away: np.ndarray, plan: Plan, request: GenerateRequest, progress) -> np.ndarray:
        from PIL import Image

        condition = [Image.fromarray(f) for f in context_away[::-1]]  # ends at the cut
        gh, gw = plan.placement.grid
        if type(pipe).__name__.startswith("LTX2"):
            from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

            conditions = [LTX2VideoCondition(frames=condition, index=0, strength=1.0)]
        else:
            from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

            conditions = [LTXVideoCondition(video=condition, frame_index=0, strength=1.0)]
        result = pipe(
            conditions=conditions,
            prompt=build_prompt(request.banks, self.settings.prompt),
            negative_prompt=NEGATIVE_PROMPT,
            height=gh,
            width=gw,
            num_frames=plan.total,
            frame_rate=float(plan.native),
            num_inference_steps=plan.steps,
            guidance_scale=plan.guidance,
            generator=self.generator,
            output_type="np",
            callback_on_step_end=step_callback(progress, plan.steps),
        )
        self.last_info = {
            "pipeline": type(pipe).__name__,
            "direction_handling": "reversed" if request.direction == "head" else "forward",
        }
        return to_uint8(result.frames)[plan.context :]  # generation order = away from the cut
