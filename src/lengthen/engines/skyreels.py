"""``skyreels-df``: SkyReels-V2 diffusion forcing through diffusers'
``SkyReelsV2DiffusionForcingVideoToVideoPipeline``, for long extensions.

The model works at 24 fps on ``4k + 1`` frames at sizes divisible by 16, in windows of
``base_num_frames`` (97 for the 540p models) that overlap by ``overlap_history`` frames: the last
``overlap_history`` context frames (``4k + 1``, 17 by default) seed the first window and each
later window continues from the end of the one before, so an extension can be many windows long.
The pipeline returns the input video followed by the decoded windows, whose first
``overlap_history`` frames re-render the context; only the frames after those are new.

Head extensions run backward, as in ``ltx``: the context is reversed in time, continued, and the
new frames are reversed back.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from . import grid
from .base import GenerateRequest
from .diffusers_common import NEGATIVE_PROMPT, DiffusersEngine, Plan, build_prompt, step_callback, to_uint8


class SkyReelsEngine(DiffusersEngine):
    name = "skyreels-df"
    pipeline_classes = (
        "SkyReelsV2DiffusionForcingPipeline",
        "SkyReelsV2DiffusionForcingVideoToVideoPipeline",
        "SkyReelsV2DiffusionForcingImageToVideoPipeline",
    )
    windowed = False

    def pipeline_class(self, index, folder) -> str:
        super().pipeline_class(index, folder)
        return "SkyReelsV2DiffusionForcingVideoToVideoPipeline"  # same components, video input

    def fit_window(self, context: int, new: int) -> tuple[int, int]:
        m, window = self.preset["frame_multiple"], self.quality["window"]
        need = int(self.quality["context"])
        if context < need:
            raise UsageError(
                f"engine {self.name!r} continues from {need} context frames at "
                f"{self.preset['native_fps']} fps (overlap_history); the clip gives {context}"
            )
        overlap = grid.below_grid(need, m)
        if overlap >= window:
            raise UsageError(f"overlap_history {overlap} must be shorter than the {window}-frame window")
        return overlap, grid.on_grid(overlap + new, m)

    def run(self, pipe, context_away: np.ndarray, plan: Plan, request: GenerateRequest, progress) -> np.ndarray:
        from PIL import Image

        video = [Image.fromarray(f) for f in context_away[::-1]]  # ends at the cut
        gh, gw = plan.placement.grid
        result = pipe(
            video=video,
            prompt=build_prompt(request.banks, self.settings.prompt),
            negative_prompt=NEGATIVE_PROMPT,
            height=gh,
            width=gw,
            num_frames=plan.total,
            num_inference_steps=plan.steps,
            guidance_scale=plan.guidance,
            generator=self.generator,
            output_type="np",
            overlap_history=plan.context,
            base_num_frames=int(self.quality["window"]),
            addnoise_condition=float(self.settings.addnoise_condition),
            fps=int(round(float(plan.native))),
            callback_on_step_end=step_callback(progress, plan.steps),
        )
        frames = to_uint8(result.frames)  # (context + total, gh, gw, 3): the input, then the windows
        self.last_info = {"overlap_history": plan.context, "base_num_frames": int(self.quality["window"])}
        return frames[len(video) + plan.context :]
