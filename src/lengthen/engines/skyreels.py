"""``skyreels-df``: SkyReels-V2 diffusion forcing through diffusers'
``SkyReelsV2DiffusionForcingVideoToVideoPipeline``, for long tail extensions.

The model works at 24 fps (23.976 material runs frame for frame) on ``4k + 1`` frames at sizes
divisible by 16, in windows of ``base_num_frames`` (97 for the 540p models). Each window is one
pipeline call given the ``overlap_history`` frames (``4k + 1``, 17 by default) nearest the edge:
the source's last frames at first, then the end of the previous window (see
:mod:`lengthen.engines.diffusers_common`). The pipeline returns the input video followed by the
decoded window, whose first ``overlap_history`` frames re-render the input; the frames after
those are new.

SkyReels' video-to-video pipeline only extends forward, so head extensions are refused with a
message naming the engines that generate heads natively (wan-vace, ltx).
"""

from __future__ import annotations

import numpy as np

from . import grid
from .base import GenerateRequest
from .diffusers_common import NEGATIVE_PROMPT, DiffusersEngine, Sampling, Window, call_kwargs, option, to_uint8


class SkyReelsEngine(DiffusersEngine):
    name = "skyreels-df"
    pipeline_classes = (
        "SkyReelsV2DiffusionForcingPipeline",
        "SkyReelsV2DiffusionForcingVideoToVideoPipeline",
        "SkyReelsV2DiffusionForcingImageToVideoPipeline",
    )
    directions = ("tail",)

    def pipeline_class(self, index, folder) -> str:
        super().pipeline_class(index, folder)
        return "SkyReelsV2DiffusionForcingVideoToVideoPipeline"  # same components, video input

    def context_size(self, available: int, direction: str) -> int:
        need = int(self.quality["context"])
        return grid.below_grid(need, self.preset["frame_multiple"]) if available >= need else 0

    def run(self, pipe, context: np.ndarray, window: Window, request: GenerateRequest, callback, sampling: Sampling):
        from PIL import Image

        video = [Image.fromarray(f) for f in context]  # ends at the edge
        gh, gw = context.shape[1:3]
        result = pipe(
            video=video,
            prompt=sampling.prompt,
            negative_prompt=NEGATIVE_PROMPT,
            height=gh,
            width=gw,
            num_frames=window.total,
            num_inference_steps=sampling.plan.steps,
            guidance_scale=sampling.plan.guidance,
            generator=sampling.generator,
            output_type="np",
            overlap_history=window.context,
            base_num_frames=int(self.quality["window"]),
            addnoise_condition=float(option(self.settings, "addnoise_condition", 20)),
            fps=int(round(float(sampling.plan.native))),
            callback_on_step_end=callback,
            **call_kwargs(pipe, self.preset.get("call", {})),
        )
        frames = to_uint8(result.frames)  # (context + total): the input, then the decoded window
        self.last_info = {"overlap_history": window.context, "base_num_frames": int(self.quality["window"])}
        decoded = frames[len(video) :]
        return decoded[: window.context], decoded[window.context :]
