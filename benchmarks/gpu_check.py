"""GPU check of the diffusers engines (wan-vace, ltx, skyreels-df): real model sizes, random weights.

Needs no download: each engine's transformer and VAE are built from their **real configurations**
(below, with where each comes from) with random weights, in bf16 (the Wan/SkyReels VAE in fp32, as
the presets load them); the text encoder is a one-layer stand-in of the real width (its cost is not
what this checks) fed by a tokenizer trained here on a few sentences. Then lengthen's own engine
runs one real-size window (the preset's window at its ``normal`` working area) through the real
diffusers pipeline, once per offload mode, and the script prints one table row per run:

* peak GPU memory (``torch.cuda.max_memory_allocated``) against the preset's estimate;
* seconds per denoising step (transformer time / steps, both guidance passes);
* our overhead: the engine's wall time outside the transformer, VAE and text encoder (context
  re-timing, padding, colour matching, conform), as a share of the model time for this run and
  extrapolated to the preset's full step count (target: under 10%);
* agreement with the no-offload run on the same seed (mean and max absolute difference, 8-bit).

Run (one GPU; budget: under 8 minutes on one H100):

    python benchmarks/gpu_check.py                       # every engine, every offload mode
    python benchmarks/gpu_check.py --engines wan-vace --offloads none model --steps 2

``--tiny`` builds test-size models instead (the CPU test runs it that way with ``--device cpu``).
It has not run on a GPU yet: see the README's GPU guide.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction

OFFLOADS = ("none", "model", "group", "sequential")
ENGINES = ("wan-vace", "ltx", "skyreels-df")

# Wan2.1 1.3B (Wan-AI/Wan2.1-VACE-1.3B-diffusers transformer/config.json): dim 1536 = 12 heads x 128,
# ffn 8960, 30 layers, VACE blocks on every other layer.
WAN_13B = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=12,
    attention_head_dim=128,
    in_channels=16,
    out_channels=16,
    text_dim=4096,
    freq_dim=256,
    ffn_dim=8960,
    num_layers=30,
    cross_attn_norm=True,
    qk_norm="rms_norm_across_heads",
    eps=1e-6,
    rope_max_seq_len=1024,
)
WAN_VAE = {}  # AutoencoderKLWan's defaults are the Wan2.1 VAE (base_dim 96, dim_mult 1,2,4,4, z 16)
# LTX-Video 0.9.5 (2B): LTXVideoTransformer3DModel's defaults; the 0.9.5 VAE (diffusers'
# scripts/convert_ltx_to_diffusers.py, version 0.9.5): timestep-conditioned decoder, 32x/8x.
LTX_095 = {}
LTX_095_VAE = dict(
    block_out_channels=(128, 256, 512, 1024, 2048),
    down_block_types=("LTXVideo095DownBlock3D",) * 4,
    decoder_block_out_channels=(256, 512, 1024),
    layers_per_block=(4, 6, 6, 2, 2),
    decoder_layers_per_block=(5, 5, 5, 5),
    spatio_temporal_scaling=(True, True, True, True),
    decoder_spatio_temporal_scaling=(True, True, True),
    decoder_inject_noise=(False, False, False, False),
    downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    upsample_residual=(True, True, True),
    upsample_factor=(2, 2, 2),
    timestep_conditioning=True,
    spatial_compression_ratio=32,
    temporal_compression_ratio=8,
)
# SkyReels-V2-DF-1.3B-540P: the Wan 1.3B backbone with diffusion forcing (per-frame timesteps).
SKYREELS_13B = dict(WAN_13B, inject_sample_info=False, num_frame_per_block=1)

# Test-size stand-ins with the same frame grids (see tests/engines/tiny_pipelines.py).
_TINY_WAN = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=2,
    attention_head_dim=8,
    in_channels=16,
    out_channels=16,
    text_dim=32,
    freq_dim=32,
    ffn_dim=16,
    num_layers=2,
    cross_attn_norm=True,
    qk_norm="rms_norm_across_heads",
    rope_max_seq_len=32,
)
_TINY_WAN_VAE = dict(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1)
_TINY_LTX = dict(
    in_channels=8,
    out_channels=8,
    num_attention_heads=2,
    attention_head_dim=8,
    cross_attention_dim=16,
    num_layers=1,
    caption_channels=32,
)
_TINY_LTX_VAE = dict(
    latent_channels=8,
    block_out_channels=(8, 8, 8, 8),
    decoder_block_out_channels=(8, 8, 8, 8),
    layers_per_block=(1, 1, 1, 1, 1),
    decoder_layers_per_block=(1, 1, 1, 1, 1),
    decoder_inject_noise=(False,) * 5,
)


@dataclass(frozen=True)
class EngineCheck:
    """What is built and run for one engine."""

    engine: str  # lengthen engine name (its preset gives window, area, steps)
    pipeline: str  # diffusers pipeline class
    transformer: tuple[str, dict]
    vae: tuple[str, dict]
    text: tuple[str, int]  # text encoder class, width
    scheduler: tuple[str, dict]
    rate: Fraction  # clip rate of the synthetic shot
    extra: dict = field(default_factory=dict)


def checks(tiny: bool = False) -> dict[str, EngineCheck]:
    """Every engine's configuration (``tiny``: test-size models with the same grids)."""
    wan_t = dict(_TINY_WAN) if tiny else dict(WAN_13B)
    unipc = {"prediction_type": "flow_prediction", "use_flow_sigmas": True, "flow_shift": 3.0}
    return {
        "wan-vace": EngineCheck(
            "wan-vace",
            "WanVACEPipeline",
            ("WanVACETransformer3DModel", {**wan_t, "vace_layers": [0] if tiny else list(range(0, 30, 2))}),
            ("AutoencoderKLWan", _TINY_WAN_VAE if tiny else WAN_VAE),
            ("UMT5EncoderModel", wan_t["text_dim"]),
            ("UniPCMultistepScheduler", unipc),
            Fraction(24000, 1001),
        ),
        "ltx": EngineCheck(
            "ltx",
            "LTXConditionPipeline",
            ("LTXVideoTransformer3DModel", _TINY_LTX if tiny else LTX_095),
            ("AutoencoderKLLTXVideo", _TINY_LTX_VAE if tiny else LTX_095_VAE),
            ("T5EncoderModel", 32 if tiny else 4096),
            ("FlowMatchEulerDiscreteScheduler", {}),
            Fraction(24000, 1001),
        ),
        "skyreels-df": EngineCheck(
            "skyreels-df",
            "SkyReelsV2DiffusionForcingVideoToVideoPipeline",
            ("SkyReelsV2Transformer3DModel", dict(_TINY_WAN, inject_sample_info=True) if tiny else SKYREELS_13B),
            ("AutoencoderKLWan", _TINY_WAN_VAE if tiny else WAN_VAE),
            ("UMT5EncoderModel", wan_t["text_dim"]),
            ("UniPCMultistepScheduler", {**unipc, "flow_shift": 5.0}),
            Fraction(24000, 1001),
        ),
    }


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    p.add_argument("--offloads", nargs="+", choices=OFFLOADS, default=list(OFFLOADS))
    p.add_argument("--steps", type=int, default=2, help="denoising steps per run (s/step is measured)")
    p.add_argument("--quality", default="normal", help="preset quality whose window and area are run")
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="test-size models (CPU smoke test)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--budget-s", type=float, default=450.0, help="skip the runs that would start after this many seconds"
    )
    args = p.parse_args(argv)
    if args.tiny and args.quality == "normal":
        args.quality = "tiny"
    if args.device == "cpu" and set(args.offloads) != {"none"}:
        p.error("offload modes need a CUDA device; use --offloads none with --device cpu")
    return args


def parameter_count(cls_name: str, config: dict) -> int:
    """Parameters of a model built on the meta device (no memory, no time)."""
    import diffusers
    import torch

    with torch.device("meta"):
        model = getattr(diffusers, cls_name)(**config)
    return sum(p.numel() for p in model.parameters())


def _tokenizer(words: str):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([words], trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"]))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def build_pipeline(check: EngineCheck, seed: int = 0, bf16: bool = True):
    """The diffusers pipeline with random weights on the CPU: bf16 (fp32 when ``bf16`` is False,
    as on a CPU) except what the preset pins and what diffusers keeps in fp32."""
    import diffusers
    import torch
    import transformers

    from lengthen.engines.diffusers_common import quiet_diffusers
    from lengthen.engines.presets import get_preset

    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16 if bf16 else torch.float32)  # build at half the memory and time
    try:
        pipe = _build(check, diffusers, transformers, torch)
    finally:
        torch.set_default_dtype(default)
    pinned = get_preset(check.engine).get("dtypes", {})
    with quiet_diffusers():
        for name in ("transformer", "vae", "text_encoder"):
            model = getattr(pipe, name)
            model.to(torch.float32 if pinned.get(name) == "fp32" or not bf16 else torch.bfloat16)
            keep = getattr(model, "_keep_in_fp32_modules", None) or []
            for sub_name, sub in model.named_modules():  # as from_pretrained keeps them
                if any(k in sub_name.split(".") for k in keep):
                    sub.to(torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _build(check: EngineCheck, diffusers, transformers, torch):
    from lengthen.engines.diffusers_common import NEGATIVE_PROMPT

    tokenizer = _tokenizer(NEGATIVE_PROMPT + " the same shot continues without a cut scene camera still light")
    text_cls, width = check.text
    cfg_cls = transformers.UMT5Config if text_cls.startswith("UMT5") else transformers.T5Config
    text = getattr(transformers, text_cls)(
        cfg_cls(vocab_size=len(tokenizer), d_model=width, d_kv=8, d_ff=32, num_layers=1, num_heads=4)
    )
    parts = {
        "tokenizer": tokenizer,
        "text_encoder": text.eval(),
        "transformer": getattr(diffusers, check.transformer[0])(**check.transformer[1]).eval(),
        "vae": getattr(diffusers, check.vae[0])(**check.vae[1]).eval(),
        "scheduler": getattr(diffusers, check.scheduler[0])(**check.scheduler[1]),
    }
    return getattr(diffusers, check.pipeline)(**parts)


class ModelClock:
    """Seconds spent inside the transformer, the VAE and the text encoder (synchronised on CUDA)."""

    def __init__(self, pipe, device) -> None:
        import torch

        self.seconds = 0.0
        self.steps_seconds = 0.0
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        for owner, name, steps in (
            (pipe.transformer, "forward", True),
            (pipe.vae, "encode", False),
            (pipe.vae, "decode", False),
            (pipe.text_encoder, "forward", False),
        ):
            setattr(owner, name, self._timed(getattr(owner, name), steps))

    def _timed(self, fn, steps: bool):
        def timed(*args, **kwargs):
            self.sync()
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.sync()
                spent = time.perf_counter() - start
                self.seconds += spent
                self.steps_seconds += spent if steps else 0.0

        return timed


def shot_frames(n: int, height: int = 1080, width: int = 1920):
    """A synthetic moving shot: a textured ground panning and a bright block crossing it."""
    import numpy as np

    rng = np.random.default_rng(1)
    ground = (rng.random((height // 8, (width + 8 * n) // 8, 3)) * 200).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    out = np.stack([ground[:height, 8 * i : 8 * i + width] for i in range(n)])
    for i in range(n):
        out[i, height // 3 : height // 2, 100 + 12 * i : 300 + 12 * i] = 235
    return out


def run_one(check: EngineCheck, base_pipe, offload: str, args) -> dict:
    """One real-size window through lengthen's engine with this offload mode."""
    import numpy as np
    import torch

    from lengthen.config import EngineSettings
    from lengthen.engines import grid
    from lengthen.engines.base import GenerateRequest, get_engine
    from lengthen.engines.diffusers_common import place_pipeline
    from lengthen.engines.presets import estimate_gb
    from lengthen.progress import SilentProgress

    device = torch.device(args.device)
    settings = EngineSettings(
        quality=args.quality,
        steps=args.steps,
        device=args.device,
        seed=args.seed,
        offload=None if offload == "none" else offload,
        dtype="bf16" if device.type == "cuda" else None,
    )
    engine = get_engine(check.engine, settings)
    native = engine.native(check.rate)
    window, ctx = int(engine.quality["window"]), engine.context_size(10**6, "tail")
    new_native = window - ctx
    frames = new_native * check.rate.numerator * native.denominator // (check.rate.denominator * native.numerator)
    context = shot_frames(grid.source_frames_for(ctx, check.rate, native) + 2, *((64, 96) if args.tiny else ()))
    pipe = copy.deepcopy(base_pipe)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    place_pipeline(pipe, settings, device, engine.preset)
    engine._pipe, engine.model_dir, engine.device = pipe, "random weights", device
    clock = ModelClock(pipe, device)
    request = GenerateRequest(context, "tail", int(frames), check.rate, settings=settings)
    plan = engine.plan(request)
    start = time.perf_counter()
    result = engine.generate(request, SilentProgress())
    wall = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    model = clock.seconds
    per_step = clock.steps_seconds / max(1, args.steps)
    full_steps = int(engine.quality["steps"])
    full_model = model + per_step * (full_steps - args.steps)
    gh, gw = plan.placement.grid
    del pipe
    return {
        "engine": check.engine,
        "offload": offload,
        "window": f"{plan.total}x{gh}x{gw}",
        "frames": result.frames,
        "peak_gb": peak,
        "estimate_gb": estimate_gb(engine.preset, plan.total, gh, gw, settings.offload, False),
        "s_per_step": per_step,
        "overhead_s": wall - model,
        "overhead_pct": 100.0 * (wall - model) / max(model, 1e-9),
        "overhead_full_pct": 100.0 * (wall - model) / max(full_model, 1e-9),
        "wall_s": wall,
        "windows": len(plan.windows),
        "dtype": str(next(base_pipe.transformer.parameters()).dtype).replace("torch.", ""),
        "agreement": np.nan,
    }


def main(argv=None) -> int:
    import numpy as np

    args = parse_args(argv)
    began = time.perf_counter()
    table = checks(args.tiny)
    rows = []
    for name in args.engines:
        check = table[name]
        params = parameter_count(*check.transformer) / 1e9
        print(f"# {name}: building {check.transformer[0]} ({params:.2f} B parameters) and {check.vae[0]}", flush=True)
        base = build_pipeline(check, args.seed, bf16=args.device != "cpu")
        reference = None
        for offload in args.offloads:
            if time.perf_counter() - began > args.budget_s:
                print(f"{name:<12} {offload:<11} skipped: past the {args.budget_s:g} s budget", flush=True)
                continue
            row = run_one(check, base, offload, args)
            if reference is None:
                reference = row["frames"]
            diff = np.abs(row["frames"].astype(np.int16) - reference.astype(np.int16))
            row["agreement"] = f"{diff.mean():.2f}/{diff.max()}"
            rows.append(row)
            print(_format(row), flush=True)
        del base
    print(f"# total {time.perf_counter() - began:.0f} s")
    return 0


HEADER = (
    "engine       offload     window         peak GB  est GB  s/step  overhead (this run / at full steps)  "
    "mean/max diff vs none"
)


def _format(row: dict) -> str:
    return (
        f"{row['engine']:<12} {row['offload']:<11} {row['window']:<14} {row['peak_gb']:7.1f} "
        f"{row['estimate_gb']:7.1f} {row['s_per_step']:7.2f}  {row['overhead_s']:6.2f} s = "
        f"{row['overhead_pct']:5.1f}% / {row['overhead_full_pct']:5.1f}%{'':12} {row['agreement']}"
    )


if __name__ == "__main__":
    print(HEADER)
    sys.exit(main())
