"""``freeze``: hold the frame at the cut. The simplest real frame source, and the baseline every
other engine has to beat (motion energy 0, perfect seam)."""

from __future__ import annotations

import numpy as np

from .base import EngineSettings, GenerateRequest, GenerateResult


class FreezeEngine:
    name = "freeze"
    min_context = 1
    max_frames = None

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()

    def generate(self, request: GenerateRequest, progress) -> GenerateResult:
        edge = request.context[-1] if request.direction == "tail" else request.context[0]
        frames = np.repeat(edge[None], request.frames, axis=0)
        if progress is not None:
            progress.report("generate", request.frames, request.frames)
        return GenerateResult(
            frames=frames, info={"engine": self.name, "model": "hold the edge frame", "seed": request.seed}
        )
