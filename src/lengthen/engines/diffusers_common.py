"""What the diffusers engines (wan-vace, ltx, skyreels-df) share: finding and loading weights,
device/dtype/offload/VAE tiling/attention backend, prompts, the GPU-memory estimate, turning CUDA
out-of-memory into a clear error, and the generate template.

The template (:meth:`DiffusersEngine.generate`): validate up front (naming the engine's limits),
order the context *away from the cut* (see :mod:`lengthen.engines.grid`), resample it to the
model's native rate, scale and pad it onto the model's frame grid, let the engine call its
pipeline, crop and scale the new frames back to the source's size, and conform them to the clip's
exact rate. Engines return raw frames; reranking, seam colour and splicing belong to the pipeline.

Loading is always ``<PipelineClass>.from_pretrained(folder, use_safetensors=True,
local_files_only=True)`` from a local folder: no pickles, no network.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import EngineError, ModelError, UsageError
from . import grid, presets
from .base import EngineSettings, GenerateRequest, GenerateResult

DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
NEGATIVE_PROMPT = (
    "scene cut, different shot, flicker, frozen frame, blurry, distorted face, deformed hands, "
    "extra people, text, subtitles, watermark, low quality"
)
_AUTO_NAME = re.compile(r"^(char_\d+|character\s*\d+|person\s*\d+|unknown.*|face\s*\d+)$", re.I)


# ---- weights and loading ---------------------------------------------------------------------


def read_model_index(folder: Path) -> dict:
    path = Path(folder) / "model_index.json"
    if not path.is_file():
        raise ModelError("not a diffusers model folder (no model_index.json)", path=folder)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"unreadable model_index.json ({exc})", path=path) from None


def load_pipeline(folder: Path, cls_name: str, dtype):
    """Load the diffusers pipeline class ``cls_name`` from a local folder (safetensors only)."""
    import diffusers

    cls = getattr(diffusers, cls_name)
    with quiet_diffusers():
        try:
            pipe = cls.from_pretrained(str(folder), dtype=dtype, use_safetensors=True, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError, ImportError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ModelError(
                f"cannot load {cls_name} (safetensors only) ({exc.__class__.__name__}: {first})", path=folder
            ) from None
    pipe.set_progress_bar_config(disable=True)
    return pipe


@contextlib.contextmanager
def quiet_diffusers():
    """diffusers/transformers info and warning logs off for the duration (CLI output stays ours)."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    old = dlog.get_verbosity(), tlog.get_verbosity(), dlog.is_progress_bar_enabled(), tlog.is_progress_bar_enabled()
    for log in (dlog, tlog):
        log.set_verbosity_error()
        log.disable_progress_bar()
    try:
        yield
    finally:
        for log, level, bar in ((dlog, old[0], old[2]), (tlog, old[1], old[3])):
            log.set_verbosity(level)
            if bar:
                log.enable_progress_bar()


def pick_device(settings: EngineSettings):
    import torch

    return torch.device(settings.device or ("cuda" if torch.cuda.is_available() else "cpu"))


def pick_dtype(settings: EngineSettings, device):
    import torch

    name = settings.dtype or ("bf16" if device.type == "cuda" else "fp32")
    if name not in DTYPES:
        raise UsageError(f"unknown --dtype {name!r}; choose one of {', '.join(DTYPES)}")
    return getattr(torch, DTYPES[name])


def attention_backends() -> list[str]:
    from diffusers.models.attention_dispatch import AttentionBackendName

    return [b.value for b in AttentionBackendName if not b.value.startswith("_")]


def place_pipeline(pipe, settings: EngineSettings, device) -> None:
    """Device placement or offload, VAE tiling and the attention backend, as the settings ask."""
    import torch

    offload = settings.offload
    if offload not in presets.OFFLOADS:
        raise UsageError(f"unknown --offload {offload!r}; choose model, group or sequential")
    if offload and device.type != "cuda":
        raise UsageError(f"--offload {offload} needs a CUDA GPU; the device here is {device}")
    if offload is None:
        pipe.to(device)
    elif offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:  # group: diffusers models by their own method, the text encoder through the hook
        from diffusers.hooks import apply_group_offloading

        for comp in pipe.components.values():
            if not isinstance(comp, torch.nn.Module):
                continue
            if hasattr(comp, "enable_group_offload"):
                comp.enable_group_offload(onload_device=device, offload_type="leaf_level", use_stream=True)
            else:
                apply_group_offloading(comp, onload_device=device, offload_type="leaf_level", use_stream=True)
    if settings.vae_tiling:
        if not hasattr(pipe.vae, "enable_tiling"):
            raise UsageError(f"--vae-tiling: {type(pipe.vae).__name__} has no tiled decoding")
        pipe.vae.enable_tiling()
    backend = settings.attention
    if backend:
        if backend not in attention_backends():
            raise UsageError(f"unknown attention backend {backend!r}; choose one of {', '.join(attention_backends())}")
        for comp in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None)):
            if comp is not None:
                comp.set_attention_backend(backend)


# ---- prompts, memory, errors -----------------------------------------------------------------


def build_prompt(banks, user_prompt: str | None) -> str:
    """The user's text (if any) plus a description asking for the same shot, naming the
    characters whose banks have real names (automatic names like ``char_001`` are left out)."""
    names = [str(getattr(b, "name", "") or "").strip() for b in banks]
    names = [n for n in dict.fromkeys(names) if n and not _AUTO_NAME.match(n)]
    if len(names) > 1:
        who = f"{', '.join(names[:-1])} and {names[-1]} on screen"
    else:
        who = f"{names[0]} on screen" if names else "the same people on screen"
    base = f"The same shot continues without a cut: {who}, same framing, same lighting, natural motion."
    user = (user_prompt or "").strip()
    return f"{user.rstrip('.')}. {base}" if user else base


def gpu_memory_gb(device) -> tuple[float, float] | None:
    """(free, total) GB on a CUDA device, else None."""
    import torch

    if device.type != "cuda":
        return None
    free, total = torch.cuda.mem_get_info(device)
    return free / 2**30, total / 2**30


def oom_message(
    preset: dict, frames: int, hw: tuple[int, int], settings: EngineSettings, total_gb: float | None
) -> str:
    need = presets.estimate_gb(preset, frames, hw[0], hw[1], settings.offload, settings.vae_tiling)
    budget = total_gb if total_gb is not None else need * 0.75
    fit = presets.fitting_options(preset, frames, hw[0], hw[1], budget * 0.9)
    have = f"{total_gb:.1f} GB on this GPU" if total_gb is not None else "the GPU's memory"
    hint = (
        f"options that would fit: {'; '.join(fit)}"
        if fit
        else ("no offload setting fits; ask for fewer frames, use --quality draft, or a smaller preset")
    )
    return (
        f"CUDA ran out of memory generating {frames} frames at {hw[1]}x{hw[0]} with {preset['name']} "
        f"(estimated {need:g} GB with the current options, {have}); {hint}"
    )


@contextlib.contextmanager
def oom_guard(preset: dict, frames: int, hw: tuple[int, int], settings: EngineSettings, device):
    import torch

    try:
        yield
    except torch.OutOfMemoryError:
        total = None
        if device.type == "cuda":
            torch.cuda.empty_cache()
            total = gpu_memory_gb(device)[1]
        raise EngineError(oom_message(preset, frames, hw, settings, total)) from None


def to_uint8(video) -> np.ndarray:
    """Pipeline ``output_type="np"`` frames (float in [0, 1], (1, T, H, W, 3) or (T, H, W, 3))."""
    arr = np.asarray(video, np.float32)
    arr = arr[0] if arr.ndim == 5 else arr
    return np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)


def step_callback(progress, total: int):
    """A ``callback_on_step_end`` reporting each step and honouring cancellation."""

    def callback(pipe, step, timestep, kwargs):
        progress.report("generate", step + 1, total, "denoising")
        progress.check()
        return {}

    return callback


# ---- the engine template ---------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    native: Fraction  # the model's working rate
    placement: grid.Placement
    context: int  # native-rate context frames given to the model
    new: int  # native-rate frames needed to conform to the request
    total: int  # frames in the pipeline call (context + new + grid rounding)
    steps: int
    guidance: float
    estimate_gb: float


class DiffusersEngine:
    """Base of the diffusers engines; subclasses set the class attributes and :meth:`run`."""

    name = ""
    pipeline_classes: tuple[str, ...] = ()  # folders whose model_index.json names one of these
    windowed = True  # False: one call may be longer than the window (diffusion forcing)

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.preset = presets.get_preset(self.settings.preset or self.name)
        if self.preset.get("engine") != self.name:
            raise UsageError(
                f"preset {self.preset['name']!r} is for engine {self.preset.get('engine')!r}, not {self.name!r}"
            )
        self.quality = presets.quality(self.preset, self.settings.quality)
        self.min_context = int(self.quality.get("min_context", self.preset["min_context"]))
        self.max_frames = self.quality["window"] - 1 if self.windowed else None  # at the native rate
        self.model_dir: Path | None = None
        self._pipe = None

    # -- hooks -----------------------------------------------------------------------------
    def pipeline_class(self, index: dict, folder: Path) -> str:
        """The pipeline class to build from a folder's model_index.json."""
        cls_name = index.get("_class_name")
        if cls_name not in self.pipeline_classes:
            raise ModelError(
                f"this folder holds a {cls_name}; engine {self.name!r} needs {' or '.join(self.pipeline_classes)}",
                path=folder,
            )
        return cls_name

    def fit_window(self, context: int, new: int) -> tuple[int, int]:
        """(context frames used, total frames of the call) on the grid; raise UsageError if the
        request cannot fit. Default: context shrinks first, extra grid frames go to the new side."""
        m, window = self.preset["frame_multiple"], self.quality["window"]
        if self.windowed and 1 + new > window:
            raise self._too_long(new)
        context = min(context, window - new) if self.windowed else context
        return context, grid.on_grid(context + new, m)

    def run(self, pipe, context_away: np.ndarray, plan: Plan, request: GenerateRequest, progress) -> np.ndarray:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    def _too_long(self, new_native: int) -> UsageError:
        window, native = self.quality["window"], self.preset["native_fps"]
        return UsageError(
            f"engine {self.name!r} makes at most {window - 1} new frames per request at its "
            f"{native} fps working rate ({new_native} needed); ask for fewer frames "
            f"or use skyreels-df for long extensions"
        )

    def plan(self, request: GenerateRequest) -> Plan:
        n_ctx = len(request.context)
        if n_ctx < self.min_context:
            raise UsageError(
                f"engine {self.name!r} needs at least {self.min_context} context frames; the clip gives {n_ctx}"
            )
        follow = self.preset.get("follow_rate_up_to")
        native = grid.native_rate(request.rate, self.preset["native_fps"], follow)
        new = grid.native_count(request.frames, request.rate, native)
        avail = grid.context_available(n_ctx, request.rate, native)
        context, total = self.fit_window(min(int(self.quality["context"]), avail), new)
        if context < 1:
            raise UsageError(f"engine {self.name!r} needs at least one context frame at {native} fps")
        placement = grid.place(request.context.shape[1:3], int(self.quality["area"]), self.preset["spatial_multiple"])
        gh, gw = placement.grid
        est = presets.estimate_gb(self.preset, total, gh, gw, self.settings.offload, self.settings.vae_tiling)
        steps = int(self.settings.steps or self.quality["steps"])
        return Plan(native, placement, context, new, total, steps, float(self.quality["guidance"]), est)

    def pipeline(self, progress):
        if self._pipe is None:
            import torch  # noqa: F401  (fail here, not half-way)

            folder = presets.resolve(self.preset, self.settings.model_path, self.settings.allow_download)
            progress.report("load", 0, 1, f"{self.preset['name']} from {folder}")
            device = pick_device(self.settings)
            cls_name = self.pipeline_class(read_model_index(folder), folder)
            pipe = load_pipeline(folder, cls_name, pick_dtype(self.settings, device))
            place_pipeline(pipe, self.settings, device)
            self._pipe, self.model_dir, self.device = pipe, folder, device
            progress.report("load", 1, 1, str(folder))
        return self._pipe

    def generate(self, request: GenerateRequest, progress=None) -> GenerateResult:
        import torch

        from ..progress import SilentProgress

        progress = progress or SilentProgress()
        plan = self.plan(request)
        pipe = self.pipeline(progress)
        mem = gpu_memory_gb(self.device)
        progress.report(
            "generate",
            0,
            plan.steps,
            f"{plan.total} frames at {plan.placement.grid[1]}x{plan.placement.grid[0]}, "
            f"{plan.native} fps; estimated GPU memory {plan.estimate_gb:g} GB"
            + (f" of {mem[1]:.1f} GB" if mem else ""),
        )
        tail = request.direction == "tail"
        away = request.context[::-1] if tail else request.context  # (T, H, W, 3), index 0 at the cut
        native_ctx = grid.resample_context(away, request.rate, plan.native, plan.context)
        working = grid.to_working(np.ascontiguousarray(native_ctx), plan.placement)
        self.generator = torch.Generator("cpu").manual_seed(int(request.seed))
        started = time.perf_counter()
        with oom_guard(self.preset, plan.total, plan.placement.grid, self.settings, self.device), quiet_diffusers():
            made = self.run(pipe, working, plan, request, progress)  # uint8 (K, gh, gw, 3), away from the cut
        if len(made) < plan.new:
            raise EngineError(f"engine {self.name!r} returned {len(made)} frames, {plan.new} were needed")
        made = grid.from_working(made[: plan.new], plan.placement)
        mode = self.settings.conform
        out = grid.conform(made, away[0], plan.native, request.rate, request.frames, mode)
        frames = out if tail else out[::-1]
        info = {
            "engine": self.name,
            "model": self.preset["repo"],
            "model_dir": str(self.model_dir),
            "seed": request.seed,
            "native_fps": str(plan.native),
            "working_size": list(plan.placement.grid),
            "context_frames": plan.context,
            "window": plan.total,
            "steps": plan.steps,
            "conform": mode,
            "estimated_gb": plan.estimate_gb,
            "seconds": round(time.perf_counter() - started, 3),
            "prompt": build_prompt(request.banks, self.settings.prompt),
        }
        info.update(getattr(self, "last_info", {}))
        return GenerateResult(frames=np.ascontiguousarray(frames), info=info)
