"""What the diffusers engines (wan-vace, ltx, skyreels-df) share: finding and loading weights
(per-component dtypes, the model cards' scheduler settings), device/offload/VAE tiling/attention
backend, prompts, the GPU-memory estimate, one-line errors for out-of-memory and pipeline failures,
and the generate template.

The template (:meth:`DiffusersEngine.generate`): validate up front (naming the engine's limits),
order the context *away from the cut* (see :mod:`lengthen.engines.grid`), re-time it to the model's
native rate (motion-compensated), scale and pad it onto the model's frame grid, then generate the
extension **window by window**: each pipeline call is conditioned on the frames nearest the growing
edge (the source's at first, then the end of the previous window: the *shared overlap*), the new
frames' colour is matched to the overlap the model re-rendered, and progress is reported per window
and step. Finally the new frames are re-timed to the clip's exact rate (motion-compensated, never
cross-faded), cropped and scaled back to the source's size. Engines only say how one window is laid
out and call their pipeline; reranking, seam colour and splicing belong to the pipeline.

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

from ..errors import EngineError, LengthenError, ModelError, UsageError
from . import grid, presets
from .base import EngineLimits, EngineSettings, GenerateRequest, GenerateResult

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
    """Load the diffusers pipeline class ``cls_name`` from a local folder (safetensors only).
    ``dtype``: a torch dtype, or a dict of them by component name with a ``"default"``."""
    import diffusers
    import torch

    cls = getattr(diffusers, cls_name)
    with quiet_diffusers():
        try:
            pipe = cls.from_pretrained(str(folder), dtype=dtype, use_safetensors=True, local_files_only=True)
        except (torch.OutOfMemoryError, MemoryError):
            raise ModelError(f"out of memory loading {cls_name}; try --offload model or a smaller preset", path=folder)
        except (OSError, ValueError, KeyError, TypeError, ImportError, RuntimeError, AttributeError) as exc:
            raise ModelError(f"cannot load {cls_name} (safetensors only) ({first_line(exc)})", path=folder) from None
    pipe.set_progress_bar_config(disable=True)
    return pipe


def first_line(exc: BaseException) -> str:
    """``Class: first line of the message`` (one line for any exception)."""
    text = str(exc).strip()
    return f"{exc.__class__.__name__}: {text.splitlines()[0]}" if text else exc.__class__.__name__


def option(settings: EngineSettings, name: str, default=None):
    """An engine option: a typed setting of that name when EngineSettings has one, else the
    ``options`` dict (kept working while the settings move to typed fields)."""
    value = getattr(settings, name, None)
    if value is None:
        value = (getattr(settings, "options", None) or {}).get(name)
    return default if value is None else value


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


def component_dtypes(preset: dict, settings: EngineSettings, device) -> dict:
    """Per-component dtypes: ``--dtype`` (or bf16 on CUDA, fp32 on the CPU) for every component,
    except those the preset pins (the model cards keep the Wan/SkyReels VAE in fp32)."""
    import torch

    main = pick_dtype(settings, device)
    out = {"default": main}
    for comp, name in (preset.get("dtypes") or {}).items():
        out[comp] = getattr(torch, DTYPES[name]) if main != torch.float32 else main
    return out


def configure_scheduler(pipe, shift: float | None) -> None:
    """Set the sampling shift the model card gives for this preset and size (``flow_shift`` of
    UniPC, ``shift`` of flow-match Euler); None keeps the folder's own."""
    if shift is None:
        return
    config = dict(pipe.scheduler.config)
    if "flow_shift" in config:
        pipe.scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config, flow_shift=float(shift))
    elif "shift" in config and not config.get("use_dynamic_shifting"):
        pipe.scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config, shift=float(shift))


def call_kwargs(pipe, wanted: dict) -> dict:
    """The preset's extra pipeline arguments that this pipeline's ``__call__`` takes."""
    import inspect

    params = inspect.signature(type(pipe).__call__).parameters
    return {k: v for k, v in wanted.items() if k in params}


def attention_backends() -> list[str]:
    from diffusers.models.attention_dispatch import AttentionBackendName

    return [b.value for b in AttentionBackendName if not b.value.startswith("_")]


def place_pipeline(pipe, settings: EngineSettings, device, preset: dict | None = None) -> None:
    """Device placement or offload, VAE tiling and the attention backend, as the settings ask.
    Running out of GPU memory while placing is one line naming the options that would fit."""
    import torch

    offload = settings.offload
    if offload not in presets.OFFLOADS:
        raise UsageError(f"unknown --offload {offload!r}; choose model, group or sequential")
    if offload and device.type != "cuda":
        raise UsageError(f"--offload {offload} needs a CUDA GPU; the device here is {device}")
    try:
        _place(pipe, offload, device)
    except torch.OutOfMemoryError:
        if device.type == "cuda":
            torch.cuda.empty_cache()
        name = preset["name"] if preset else type(pipe).__name__
        hint = (
            "--offload model"
            if offload is None
            else ("--offload sequential" if offload == "model" else "a smaller preset")
        )
        raise EngineError(
            f"CUDA ran out of memory moving {name} onto {device} (--offload {offload or 'none'}); try {hint}"
        ) from None
    _finish_placing(pipe, settings)


def _place(pipe, offload: str | None, device) -> None:
    import torch

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


def _finish_placing(pipe, settings: EngineSettings) -> None:
    if settings.vae_tiling:
        if not hasattr(pipe.vae, "enable_tiling"):
            raise UsageError(f"--vae-tiling: {type(pipe.vae).__name__} has no tiled decoding")
        pipe.vae.enable_tiling()
    backend = option(settings, "attention")
    if backend:
        if backend not in attention_backends():
            raise UsageError(f"unknown attention backend {backend!r}; choose one of {', '.join(attention_backends())}")
        for comp in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None)):
            if comp is not None:
                comp.set_attention_backend(backend)


# ---- prompts, memory, errors -----------------------------------------------------------------


def describe_shot(context: np.ndarray | None, banks=(), caption: str = "") -> str:
    """What the shot shows, in neutral words: the local captioner's sentence about the frame at the
    cut when one is installed (:mod:`lengthen.engines.caption`), who is on screen (real bank names,
    else a count of the characters found), whether the camera holds still or moves (global shift
    between the first and last context frames), and the light level."""
    names = [str(getattr(b, "name", "") or "").strip() for b in banks]
    real = [n for n in dict.fromkeys(names) if n and not _AUTO_NAME.match(n)]
    count = len(banks)
    if real and len(real) == count:
        who = f"{', '.join(real[:-1])} and {real[-1]} on screen" if len(real) > 1 else f"{real[0]} on screen"
    elif count:
        words = {1: "one person", 2: "two people", 3: "three people"}
        who = f"{words.get(count, f'{count} people')} on screen"
        if real:
            who += f" ({', '.join(real)})"
    else:
        who = "the same scene"
    parts = ([caption] if caption else []) + [who]
    if context is not None and len(context) >= 2:
        parts += _camera_and_light(np.asarray(context))
    return ", ".join(parts)


def _camera_and_light(context: np.ndarray) -> list[str]:
    import cv2

    h, w = context.shape[1:3]
    size = (160, max(8, round(160 * h / w)))
    a, b = (
        cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), size).astype(np.float32) for f in (context[0], context[-1])
    )
    (dx, dy), _ = cv2.phaseCorrelate(a, b)
    per_frame = float(np.hypot(dx, dy)) / (len(context) - 1)
    if per_frame < 0.15:
        camera = "a still camera"
    elif abs(dx) >= abs(dy):
        camera = "the camera panning " + ("left" if dx > 0 else "right")  # the image moves the other way
    else:
        camera = "the camera tilting " + ("up" if dy > 0 else "down")
    luma = float(
        np.mean(context[..., 0]) * 0.299 + np.mean(context[..., 1]) * 0.587 + np.mean(context[..., 2]) * 0.114
    )
    light = "low light" if luma < 50 else ("bright light" if luma > 180 else "")
    return [p for p in (camera, light) if p]


def build_prompt(banks, user_prompt: str | None, context: np.ndarray | None = None, caption: str = "") -> str:
    """The shot's own prompt (``--prompt``, the spec file or the panel), if any, then a neutral
    description asking for the same shot (:func:`describe_shot`)."""
    shows = describe_shot(context, banks, caption)
    base = f"The same shot continues without a cut: {shows}, same framing, same lighting, natural motion."
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
    """CUDA out of memory inside the block -> one EngineError naming the options that would fit."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError:
        total = None
        if device is not None and device.type == "cuda":
            torch.cuda.empty_cache()
            total = gpu_memory_gb(device)[1]
        raise EngineError(oom_message(preset, frames, hw, settings, total)) from None


def to_uint8(video) -> np.ndarray:
    """Pipeline ``output_type="np"`` frames (float in [0, 1], (1, T, H, W, 3) or (T, H, W, 3))."""
    arr = np.asarray(video, np.float32)
    arr = arr[0] if arr.ndim == 5 else arr
    return np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)


def step_callback(progress, total: int, offset: int = 0, label: str = "denoising"):
    """A ``callback_on_step_end`` reporting each step (``offset`` steps done before this window)
    and honouring cancellation."""

    def callback(pipe, step, timestep, kwargs):
        progress.report("generate", offset + step + 1, total, label)
        progress.check()
        return {}

    return callback


# ---- the engine template ---------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One pipeline call: ``context`` native frames it is conditioned on (nearest the growing edge)
    and ``new`` frames past them; ``total`` = context + new frames, on the model's grid."""

    context: int
    new: int

    @property
    def total(self) -> int:
        return self.context + self.new


@dataclass(frozen=True)
class Plan:
    native: Fraction  # the model's working rate
    placement: grid.Placement
    context: int  # native-rate context frames of the first window
    new: int  # native-rate frames needed to conform to the request
    windows: tuple[Window, ...]
    steps: int
    guidance: float
    shift: float | None  # the scheduler's flow shift for this preset and size
    estimate_gb: float

    @property
    def total(self) -> int:
        """Frames in the longest pipeline call."""
        return max(w.total for w in self.windows)


@dataclass(frozen=True)
class Sampling:
    """What every window of one :meth:`DiffusersEngine.generate` call shares: the plan (steps,
    guidance, native rate), the prompt, and the seeded generator, which runs on from window to window."""

    plan: Plan
    prompt: str
    generator: object  # torch.Generator


class DiffusersEngine:
    """Base of the diffusers engines; subclasses set the class attributes, :meth:`context_size`
    and :meth:`run` (one window), and may refine :meth:`window`."""

    name = ""
    pipeline_classes: tuple[str, ...] = ()  # folders whose model_index.json names one of these
    directions = ("tail", "head")  # what the model can do natively
    max_frames = None  # long extensions run in windows: no limit per request

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.preset = presets.get_preset(option(self.settings, "preset", self.name))
        if self.preset.get("engine") != self.name:
            raise UsageError(
                f"preset {self.preset['name']!r} is for engine {self.preset.get('engine')!r}, not {self.name!r}"
            )
        self.quality = presets.quality(self.preset, self.settings.quality)
        self.min_context = int(self.quality.get("min_context", self.preset["min_context"]))  # native frames
        self.model_dir: Path | None = None
        self.device = None
        self._pipe = None
        self.last_info: dict = {}
        self._captions: dict[str, str] = {}

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

    def context_size(self, available: int, direction: str) -> int:
        """Native context frames one window is conditioned on, given ``available`` (aligned to
        the model's latent grid); 0 if too few."""
        return grid.below_grid(min(available, int(self.quality["context"])), self.preset["frame_multiple"])

    def needed_context(self, direction: str) -> int:
        """The fewest native context frames a ``direction`` window can be conditioned on: the preset's
        ``min_context``, or more where :meth:`context_size` needs them (an LTX head two latents, a
        Wan head one whole latent)."""
        top = int(self.quality["context"])
        fits = next((a for a in range(1, top + 1) if self.context_size(a, direction) >= 1), top)
        return max(self.min_context, fits)

    def window(self, context: int, remaining: int, direction: str) -> Window:
        """The next window: ``context`` frames, then as many new frames as the window holds (or
        the ``remaining`` ones, rounded up to the grid)."""
        m, size = self.preset["frame_multiple"], int(self.quality["window"])
        total = min(size, grid.on_grid(context + remaining, m))
        return Window(context, total - context)

    def check_loaded(self, pipe, folder: Path) -> None:
        """Refuse a folder the pipeline cannot run (one line) before any work starts."""

    def run(self, pipe, context: np.ndarray, window: Window, request: GenerateRequest, callback, sampling: Sampling):
        """One pipeline call. ``context``: uint8 (c, gh, gw, 3) in **time order** (for a head, the
        frames just after the new ones); ``sampling``: steps, guidance, prompt and generator. Returns
        ``(rerendered, new)``, uint8, time order: the model's own rendering of the context frames and
        the ``window.new`` new frames."""
        raise NotImplementedError

    # -- limits and planning ------------------------------------------------------------------
    def native(self, rate: Fraction) -> Fraction:
        return grid.native_rate(rate, self.preset["native_fps"], self.preset.get("follow_rate_up_to"))

    def limits(self, rate: Fraction) -> EngineLimits:
        """Limits in clip-rate frames (the pipeline reads this many source frames next to the cut)."""
        native = self.native(rate)
        want = max(self.context_size(10**6, d) for d in self.directions)
        return EngineLimits(
            min_context=grid.source_frames_for(self.min_context, rate, native),
            context=grid.source_frames_for(want, rate, native),
            max_frames=None,
            directions=tuple(self.directions),
            refusal=self.refusal(),
            direction_context={
                d: grid.source_frames_for(self.needed_context(d), rate, native) for d in self.directions
            },
        )

    def refusal(self) -> str:
        if "head" in self.directions:
            return ""
        return (
            f"engine {self.name!r} only extends shots forward (tails); for a head use wan-vace or ltx, which "
            f"generate before the first frame natively"
        )

    def check_direction(self, direction: str) -> None:
        if direction not in self.directions:
            raise UsageError(self.refusal())

    def plan(self, request: GenerateRequest) -> Plan:
        self.check_direction(request.direction)
        native = self.native(request.rate)
        n_ctx = len(request.context)
        avail = grid.context_available(n_ctx, request.rate, native)
        first = self.context_size(avail, request.direction)
        if avail < self.min_context or first < 1:
            needed = self.needed_context(request.direction)
            need = grid.source_frames_for(needed, request.rate, native)
            raise UsageError(
                f"engine {self.name!r} needs at least {need} context frames at {request.rate} fps "
                f"({needed} at its {native} fps working rate) for a {request.direction}; "
                f"the clip gives {n_ctx}"
            )
        new = grid.native_count(request.frames, request.rate, native)
        full = self.context_size(10**6, request.direction)
        windows, made, context = [], 0, first
        while made < new:
            w = self.window(context, new - made, request.direction)
            if w.new < 1:
                raise UsageError(f"engine {self.name!r}: a {w.context}-frame context leaves no room in its window")
            windows.append(w)
            made += w.new
            context = min(full, self.context_size(avail + made, request.direction))
        placement = grid.place(
            request.context.shape[1:3],
            int(self.quality["area"]),
            self.preset["spatial_multiple"],
            request.pixel_aspect,
        )
        gh, gw = placement.grid
        total = max(w.total for w in windows)
        est = presets.estimate_gb(self.preset, total, gh, gw, self.settings.offload, self.settings.vae_tiling)
        steps = int(self.settings.steps or self.quality["steps"])
        shift = self.quality.get("flow_shift", self.preset.get("flow_shift"))
        return Plan(native, placement, first, new, tuple(windows), steps, float(self.quality["guidance"]), shift, est)

    # -- loading ------------------------------------------------------------------------------
    def pipeline(self, progress):
        if self._pipe is None:
            import torch  # noqa: F401  (fail here, not half-way)

            folder = presets.resolve(self.preset, self.settings.model_path, self.settings.allow_download)
            progress.report("load", 0, 1, f"{self.preset['name']} from {folder}")
            device = pick_device(self.settings)
            cls_name = self.pipeline_class(read_model_index(folder), folder)
            pipe = load_pipeline(folder, cls_name, component_dtypes(self.preset, self.settings, device))
            self.check_loaded(pipe, folder)
            place_pipeline(pipe, self.settings, device, self.preset)
            self._pipe, self.model_dir, self.device = pipe, folder, device
            progress.report("load", 1, 1, str(folder))
        return self._pipe

    def caption(self, frame: np.ndarray) -> str:
        """The optional local captioner's sentence about the frame at the cut ("" without one);
        on the CPU, so the video model keeps the GPU; once per frame."""
        import hashlib

        from . import caption

        key = hashlib.sha1(np.ascontiguousarray(frame).tobytes()).hexdigest()
        if key not in self._captions:
            self._captions[key] = caption.describe(frame, bool(self.settings.allow_download))
        return self._captions[key]

    # -- the template ---------------------------------------------------------------------------
    def generate(self, request: GenerateRequest, progress=None) -> GenerateResult:
        import torch

        from ..progress import SilentProgress

        progress = progress or SilentProgress()
        plan = self.plan(request)
        pipe = self.pipeline(progress)
        configure_scheduler(pipe, plan.shift)
        mem = gpu_memory_gb(self.device)
        n_win = len(plan.windows)
        progress.report(
            "generate",
            0,
            plan.steps * n_win,
            f"{request.frames} frames in {n_win} window{'s' if n_win > 1 else ''} of up to {plan.total} at "
            f"{plan.placement.grid[1]}x{plan.placement.grid[0]}, {plan.native} fps; estimated GPU memory "
            f"{plan.estimate_gb:g} GB" + (f" of {mem[1]:.1f} GB" if mem else ""),
        )
        tail = request.direction == "tail"
        away = request.context[::-1] if tail else request.context  # (T, H, W, 3), index 0 at the cut
        n_native = grid.context_available(len(away), request.rate, plan.native)
        working = grid.to_working(np.ascontiguousarray(away), plan.placement)  # away from the cut
        working = grid.resample_context(working, request.rate, plan.native, n_native)  # at the model's rate
        edge_frame = request.context[-1] if tail else request.context[0]
        own = _prompt_of(request, self.settings)
        prompt = build_prompt(request.banks, own, request.context, self.caption(edge_frame))
        sampling = Sampling(plan, prompt, torch.Generator("cpu").manual_seed(int(request.seed)))
        started = time.perf_counter()
        # seq: everything known, ordered from the far end of the context to the growing edge
        seq = list(working[::-1])
        made: list[np.ndarray] = []
        corrections = []
        for i, w in enumerate(plan.windows):
            ctx = np.stack(seq[-w.context :])  # nearest the edge, in generation order
            ctx_time = ctx if tail else ctx[::-1]
            callback = step_callback(
                progress, plan.steps * n_win, offset=plan.steps * i, label=f"window {i + 1}/{n_win}"
            )
            rerendered, new = self._run_window(pipe, ctx_time, w, request, callback, sampling, i)
            if not tail:
                rerendered, new = rerendered[::-1], new[::-1]  # generation order
            new, gain = match_colour(new, rerendered, ctx)
            corrections.append(gain)
            seq.extend(new)
            made.extend(new)
            progress.report("window", i + 1, n_win, f"{len(made)} of {plan.new} frames at {plan.native} fps")
        made_arr = np.stack(made[: plan.new])  # away from the cut, working size
        edge = working[0]
        mode = option(self.settings, "conform", "flow")
        out = grid.conform(made_arr, edge, plan.native, request.rate, request.frames, mode)
        out = grid.from_working(out, plan.placement)
        frames = out if tail else out[::-1]
        info = {
            "engine": self.name,
            "model": self.preset["repo"],
            "model_dir": str(self.model_dir),
            "seed": request.seed,
            "native_fps": str(plan.native),
            "working_size": list(plan.placement.grid),
            "context_frames": plan.context,
            "windows": [[w.context, w.new] for w in plan.windows],
            "window": plan.total,
            "steps": plan.steps,
            "guidance": plan.guidance,
            "flow_shift": plan.shift,
            "conform": "frame for frame" if grid.same_rate(plan.native, request.rate) else mode,
            "colour_gain": [round(float(g), 4) for g in np.mean(corrections, axis=0)],
            "estimated_gb": plan.estimate_gb,
            "seconds": round(time.perf_counter() - started, 3),
            "prompt": prompt,
        }
        info.update(self.last_info)
        return GenerateResult(frames=np.ascontiguousarray(frames), info=info)

    def _run_window(self, pipe, ctx_time, w: Window, request, callback, sampling: Sampling, index: int):
        """One window with every failure made one line: out of memory (naming what would fit),
        an old LTX folder, anything else the pipeline raises."""
        plan = sampling.plan
        try:
            with oom_guard(self.preset, w.total, plan.placement.grid, self.settings, self.device), quiet_diffusers():
                rerendered, new = self.run(pipe, ctx_time, w, request, callback, sampling)
        except LengthenError:  # oom_guard's EngineError too
            raise
        except Exception as exc:  # any pipeline failure: one line, never a traceback
            if "mu" in str(exc) and "use_dynamic_shifting" in str(exc):
                raise ModelError(OLD_LTX, path=self.model_dir) from None
            raise EngineError(
                f"engine {self.name!r} failed in window {index + 1}/{len(plan.windows)} "
                f"({w.total} frames at {plan.placement.grid[1]}x{plan.placement.grid[0]}): {first_line(exc)}"
            ) from None
        if len(new) != w.new or len(rerendered) != w.context:
            raise EngineError(
                f"engine {self.name!r} returned {len(rerendered)}+{len(new)} frames, {w.context}+{w.new} were expected"
            )
        return rerendered, new


OLD_LTX = (
    "this LTX-Video folder is an old release (0.9.0/0.9.1: its scheduler uses dynamic shifting, which "
    "LTXConditionPipeline cannot drive: 'mu must be passed'); use LTX-Video 0.9.5 or later (the 'ltx' preset)"
)


def _prompt_of(request: GenerateRequest, settings: EngineSettings) -> str | None:
    """The shot's own prompt (spec file, panel) wins over the run's (``--prompt``)."""
    return request.prompt or settings.prompt


def match_colour(new: np.ndarray, rerendered: np.ndarray, reference: np.ndarray, frames: int = 4):
    """Keep colour continuous across a window join: fit, per channel, the gain and offset that take
    the model's re-rendering of the context frames nearest the edge to those frames as they are,
    and apply it to the new frames. Arrays in generation order (edge last for the context).
    Returns (corrected uint8 frames, per-channel gains)."""
    k = min(frames, len(rerendered), len(reference))
    src = rerendered[-k:].reshape(-1, 3).astype(np.float64)
    ref = reference[-k:].reshape(-1, 3).astype(np.float64)
    gain = np.clip(ref.std(0) / np.maximum(src.std(0), 1.0), 0.5, 2.0)
    offset = ref.mean(0) - gain * src.mean(0)
    out = np.clip(np.rint(new.astype(np.float64) * gain + offset), 0, 255).astype(np.uint8)
    return out, gain
