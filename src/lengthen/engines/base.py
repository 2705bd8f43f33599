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

from ..errors import ModelError, UsageError

QUALITIES = ("draft", "normal", "high")


@dataclass(frozen=True)
class EngineSettings:
    """Settings every engine understands; engine-specific extras go in ``options``."""

    quality: str = "normal"
    candidates: int = 1
    identity_strength: float = 0.8
    seed: int = 0
    model_path: str | None = None
    prompt: str | None = None
    device: str | None = None  # None: CUDA when present, else CPU
    dtype: str | None = None  # "bf16" | "fp16" | "fp32"; None: the engine's default for the device
    offload: str | None = None  # "model" | "sequential" | "group"
    vae_tiling: bool = False
    steps: int | None = None  # sampling steps; None: the engine/preset default
    allow_download: bool = False
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES and self.quality != "tiny":
            raise UsageError(f"unknown quality {self.quality!r}; choose one of {', '.join(QUALITIES)}")
        if self.candidates < 1:
            raise UsageError("--candidates must be at least 1")
        if not 0.0 <= self.identity_strength <= 2.0:
            raise UsageError("--identity-strength must be between 0 and 2")


@dataclass(frozen=True)
class GenerateRequest:
    context: np.ndarray  # uint8 (T, H, W, 3), source frames nearest the cut, in time order
    direction: str  # "tail": continue after context[-1]; "head": precede context[0]
    frames: int  # how many new frames
    rate: Fraction
    banks: tuple = ()  # IdentityBank values of the characters in the shot
    settings: EngineSettings = field(default_factory=EngineSettings)
    cache_key: str = ""  # identifies media + range + settings, for per-shot caches
    # Faces found in the context frames, per frame: list of (bank index, landmarks (5, 2)).
    context_faces: tuple = ()

    def __post_init__(self) -> None:
        if self.direction not in ("head", "tail"):
            raise UsageError(f"direction must be 'head' or 'tail', not {self.direction!r}")
        if self.frames < 1:
            raise UsageError("an engine must be asked for at least one frame")
        if self.context.ndim != 4 or self.context.shape[-1] != 3 or self.context.dtype != np.uint8:
            raise UsageError(f"context must be uint8 (T, H, W, 3), got {self.context.dtype} {self.context.shape}")

    @property
    def seed(self) -> int:
        return self.settings.seed


@dataclass
class GenerateResult:
    frames: np.ndarray  # uint8 (N, H, W, 3) in time order
    info: dict = field(default_factory=dict)  # engine, model, seed, timings, anything for the report


@runtime_checkable
class Engine(Protocol):
    name: str
    min_context: int  # fewest context frames it can work from
    max_frames: int | None  # most frames per request, None: unlimited

    def generate(self, request: GenerateRequest, progress) -> GenerateResult: ...


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
