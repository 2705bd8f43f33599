"""The Engine protocol, its request/result values and the registry of engines by name.

An engine sees only plain values: context frames in time order, the direction, how many frames to
make, the rate, the identity banks and its settings. It returns frames in time order. Reading the
source, reranking candidates, seam matching and encoding belong to :mod:`lengthen.pipeline`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..config import QUALITIES, EngineSettings  # noqa: F401 (settings live in config; re-exported)
from ..errors import ModelError, UsageError


@dataclass(frozen=True)
class GenerateRequest:
    context: np.ndarray  # uint8 (T, H, W, 3), source frames nearest the cut, in time order
    direction: str  # "tail": continue after context[-1]; "head": precede context[0]
    frames: int  # how many new frames
    rate: Fraction
    banks: tuple = ()  # IdentityBank values of the characters in the shot
    settings: EngineSettings = field(default_factory=EngineSettings)
    cache_key: str = ""  # identifies media + range + settings, for per-shot caches
    # the faces of the context frames (a lengthen.faces.detections.FrameFaces over ``context``, or
    # None): found once by the pipeline, read by the engine and the reranker alike
    context_faces: object = None
    # best-of-N: which candidate this is. Candidates share everything (an engine's adaptation to
    # the shot included) but the sampling seed, ``settings.seed + candidate``.
    candidate: int = 0
    # per bank, ``(crops, how)``: reference faces with margin cut from the source by the pipeline
    # (:mod:`lengthen.faces.references`) for engines that set ``reference_faces``; engines never read media
    references: tuple = ()
    pixel_aspect: Fraction = Fraction(1)  # the source's sample aspect ratio (2 for 2x anamorphic)
    prompt: str | None = None  # this shot's own text (spec file, panel); wins over settings.prompt

    def __post_init__(self) -> None:
        if self.direction not in ("head", "tail"):
            raise UsageError(f"direction must be 'head' or 'tail', not {self.direction!r}")
        if self.frames < 1:
            raise UsageError("an engine must be asked for at least one frame")
        if self.context.ndim != 4 or self.context.shape[-1] != 3 or self.context.dtype != np.uint8:
            raise UsageError(f"context must be uint8 (T, H, W, 3), got {self.context.dtype} {self.context.shape}")

    @property
    def seed(self) -> int:
        """The sampling seed of this candidate."""
        return self.settings.seed + self.candidate


@dataclass
class GenerateResult:
    frames: np.ndarray  # uint8 (N, H, W, 3) in time order
    info: dict = field(default_factory=dict)  # engine, model, seed, timings, anything for the report
    # faces the engine already found in ``frames`` (a lengthen.faces.detections.FrameFaces over them,
    # time order), or None: the pipeline's identity scores read them instead of detecting again
    faces: object = None


@dataclass(frozen=True)
class EngineLimits:
    """What an engine needs and allows for a clip, in frames **at the clip's rate** (engines that
    work at their own rate convert, so the pipeline and the engine cannot disagree)."""

    min_context: int  # fewest source frames next to the cut it can work from
    context: int  # source frames it reads next to the cut when the shot has them
    max_frames: int | None  # most new frames per request, None: unlimited
    directions: tuple = ("head", "tail")  # what it can make (skyreels-df: tails only)
    refusal: str = ""  # why a direction it cannot make is refused (one line, naming alternatives)
    # direction -> fewest source frames it needs where that is more than min_context (an LTX head
    # needs two latents of context, a Wan head one whole latent)
    direction_context: dict = field(default_factory=dict)

    def min_context_for(self, direction: str) -> int:
        """The fewest source frames next to the cut a ``direction`` can be made from."""
        return max(self.min_context, int(self.direction_context.get(direction, 0)))


@runtime_checkable
class Engine(Protocol):
    name: str
    min_context: int  # fewest context frames it can work from (clip-rate frames; see limits)
    max_frames: int | None  # most frames per request, None: unlimited (clip-rate frames; see limits)

    def generate(self, request: GenerateRequest, progress) -> GenerateResult: ...


def engine_limits(engine, rate: Fraction, default_context: int) -> EngineLimits:
    """``engine.limits(rate)`` when the engine states them per rate (the diffusers engines, which
    work at their model's rate), else its ``min_context``/``max_frames`` (already clip frames)."""
    if hasattr(engine, "limits"):
        return engine.limits(Fraction(rate))
    min_context = int(engine.min_context)
    return EngineLimits(min_context, max(min_context, default_context), engine.max_frames)


# name -> "module:Class" (loaded lazily so a broken optional engine never breaks the others)
ENGINES: dict[str, str] = {
    "builtin": "lengthen.engines.builtin:BuiltinEngine",
    "motion": "lengthen.engines.motion:MotionEngine",
    "flow-raw": "lengthen.engines.motion:RawFlowEngine",
    "freeze": "lengthen.engines.freeze:FreezeEngine",
    "wan-vace": "lengthen.engines.wan_vace:WanVaceEngine",
    "ltx": "lengthen.engines.ltx:LTXEngine",
    "skyreels-df": "lengthen.engines.skyreels:SkyReelsEngine",
}


def _load(name: str):
    if name not in ENGINES:
        raise UsageError(f"unknown engine {name!r}; known engines: {', '.join(ENGINES)}")
    module_name, _, cls_name = ENGINES[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ModelError(f"engine {name!r} is not available: {exc}") from None
    return getattr(module, cls_name)


def get_engine(name: str, settings: EngineSettings | None = None) -> Engine:
    """An engine instance by name, configured with ``settings``."""
    return _load(name)(settings or EngineSettings())


def list_engines() -> dict[str, Any]:
    """name -> engine class, or the error text for engines that cannot load here."""
    out: dict[str, Any] = {}
    for name in ENGINES:
        try:
            out[name] = _load(name)
        except Exception as exc:  # a broken optional engine is reported, not fatal
            out[name] = f"unavailable: {exc}"
    return out
