"""Model presets (``resources/models.json``): where each engine's weights come from, where they
are found on this machine, the command that downloads them, and how much GPU memory a run needs.

Weights are looked for, in this order, and never fetched unless asked (``--allow-download``):

1. ``--model-path`` (a diffusers folder with ``model_index.json``, or a folder holding one
   sub-folder per preset name);
2. each folder of ``$LENGTHEN_MODELS`` (``os.pathsep``-separated), as ``<dir>/<preset name>``
   or ``<dir>/<repo name>``; then lengthen's own download folder (the first ``$LENGTHEN_MODELS``
   folder, else ``<lengthen cache>/models``);
3. the Hugging Face cache (``huggingface_hub.try_to_load_from_cache``: files only, no network).

A folder counts when every file the preset expects is there and the denoiser has safetensors.

Memory estimate (GB, documented in ``models.json``): ``s = frames*height*width`` over the preset's
reference size; without offload all weights stay on the GPU plus the larger of the denoiser's
activations (``activations_gb * s``) and the VAE decode (``decode_gb * s``; with VAE tiling
``decode_gb * frames / ref_frames / 4``); with model offload one component at a time is on the GPU
(the peak of text encoding, denoising and decoding); with group or sequential offload about 1 GB
of weights stays on the GPU.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from ..errors import ModelError, UsageError
from ..paths import RESOURCES, models_dirs

ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model"]
OFFLOADS = (None, "model", "group", "sequential")


@lru_cache(maxsize=1)
def _load() -> tuple[dict, ...]:
    doc = json.loads((RESOURCES / "models.json").read_text(encoding="utf-8"))
    return tuple(doc["presets"])


def load_presets() -> list[dict]:
    """Every preset (copies, so callers may not change the shared ones)."""
    return [dict(p) for p in _load()]


def get_preset(name: str) -> dict:
    for p in _load():
        if p["name"] == name:
            return dict(p)
    raise UsageError(f"unknown model preset {name!r}; known presets: {', '.join(p['name'] for p in _load())}")


_EXTRA_QUALITIES: dict[str, dict[str, dict]] = {}  # preset -> quality -> values (registered by tests)


def register_quality(preset_name: str, name: str, values: dict) -> None:
    """Add a quality level to a preset (the test suite's ``tiny``: see tests/tiny_presets.py);
    the name must also be registered with :func:`lengthen.config.register_quality`."""
    _EXTRA_QUALITIES.setdefault(preset_name, {})[name] = dict(values)


def quality(preset: dict, name: str) -> dict:
    """The preset's window/context/area/steps/guidance for a quality level."""
    q = preset.get("qualities", {}).get(name) or _EXTRA_QUALITIES.get(preset.get("name", ""), {}).get(name)
    if q is None:
        raise UsageError(
            f"preset {preset['name']!r} has no quality {name!r}; choose one of "
            f"{', '.join(preset.get('qualities', {}))}"
        )
    return {"window": preset.get("window"), "context": preset.get("context"), **q}


def default_download_dir(preset: dict) -> Path:
    dirs = models_dirs()
    if dirs:
        return dirs[0] / preset["name"]
    from ..paths import cache_dir

    return cache_dir("models") / preset["name"]


def is_complete(folder: Path, preset: dict) -> bool:
    folder = Path(folder)
    if not all((folder / f).is_file() for f in preset.get("files", ["model_index.json"])):
        return False
    denoiser = folder / "transformer"
    return not denoiser.is_dir() or any(denoiser.glob("*.safetensors"))


def _candidates(preset: dict, model_path: str | os.PathLike | None) -> list[Path]:
    names = [preset["name"], preset["repo"].split("/")[-1]]
    out: list[Path] = []
    if model_path is not None:
        mp = Path(model_path).expanduser()
        out += [mp] + [mp / n for n in names]
    for d in models_dirs():
        out += [d / n for n in names]
    out.append(default_download_dir(preset))
    return out


def _hf_cache(preset: dict) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - diffusers depends on it
        return None
    hit = try_to_load_from_cache(preset["repo"], "model_index.json", revision=preset.get("revision") or "main")
    if isinstance(hit, str) and is_complete(Path(hit).parent, preset):
        return Path(hit).parent
    return None


def locate(preset: dict, model_path: str | os.PathLike | None = None) -> Path | None:
    """The local folder holding ``preset``'s weights, or None (no network is used)."""
    if preset.get("builtin"):
        return None
    for folder in _candidates(preset, model_path):
        if folder.is_dir() and is_complete(folder, preset):
            return folder
    return _hf_cache(preset)


def searched_places(preset: dict, model_path=None) -> list[str]:
    places = [str(p) for p in dict.fromkeys(_candidates(preset, model_path))]
    return places + [f"Hugging Face cache ({preset['repo']}@{preset.get('revision') or 'main'})"]


def download_command(preset: dict, local_dir: Path | None = None) -> str:
    local_dir = local_dir or default_download_dir(preset)
    include = " ".join(f'"{p}"' for p in ALLOW_PATTERNS)
    return (
        f"hf download {preset['repo']} --revision {preset.get('revision') or 'main'} "
        f"--include {include} --local-dir {local_dir}"
    )


def missing_error(preset: dict, model_path=None) -> ModelError:
    where = "; ".join(searched_places(preset, model_path))
    return ModelError(
        f"no weights for {preset['name']!r} ({preset['repo']}) found; looked in: {where}. "
        f"Download them with: {download_command(preset)}  (or pass --allow-download, or --model-path FOLDER)"
    )


def download(preset: dict, local_dir: Path | None = None) -> Path:
    """Fetch the preset's safetensors/JSON/text files with ``snapshot_download`` (needs network)."""
    from huggingface_hub import snapshot_download

    local_dir = Path(local_dir or default_download_dir(preset))
    try:
        path = snapshot_download(
            preset["repo"],
            revision=preset.get("revision") or "main",
            allow_patterns=ALLOW_PATTERNS,
            local_dir=str(local_dir),
        )
    except Exception as exc:  # offline, unknown repo, disk full: one clear line
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelError(
            f"could not download {preset['repo']} ({exc.__class__.__name__}: {first}); "
            f"run it by hand: {download_command(preset, local_dir)}",
            path=local_dir,
        ) from None
    if not is_complete(Path(path), preset):
        raise ModelError(
            f"downloaded {preset['repo']} but files are missing: expected {', '.join(preset['files'])}", path=path
        )
    return Path(path)


def resolve(preset: dict, model_path=None, allow_download: bool = False) -> Path:
    """The weights folder for a run: found locally, or downloaded when allowed, else ModelError."""
    if model_path is not None:
        mp = Path(model_path).expanduser()
        if (mp / "model_index.json").is_file():
            return mp  # an explicit diffusers folder: the loader checks the rest
    found = locate(preset, model_path)
    if found is not None:
        return found
    if allow_download:
        return download(preset)
    raise missing_error(preset, model_path)


# ---- memory ----------------------------------------------------------------------------------


def estimate_gb(
    preset: dict, frames: int, height: int, width: int, offload: str | None = None, vae_tiling: bool = False
) -> float:
    """GPU memory (GB) a run needs; see the module docstring for the model."""
    v = preset["vram"]
    ref_t, ref_h, ref_w = v["at"]
    s = (frames * height * width) / (ref_t * ref_h * ref_w)
    act = v["activations_gb"] * s
    dec = v["decode_gb"] * (frames / ref_t / 4 if vae_tiling else s)
    w = v["weights_gb"]
    if offload is None:
        need = sum(w.values()) + max(act, dec)
    elif offload == "model":
        need = max(w.get("text_encoder", 0.0), w.get("transformer", 0.0) + act, w.get("vae", 0.0) + dec)
    elif offload in ("group", "sequential"):
        need = 1.0 + max(act, dec)
    else:
        raise UsageError(f"unknown offload {offload!r}; choose model, group or sequential")
    return round(need + 0.5, 1)  # + CUDA context and allocator slack


def fitting_options(preset: dict, frames: int, height: int, width: int, budget_gb: float) -> list[str]:
    """The memory options (cheapest in speed first) whose estimate fits ``budget_gb``."""
    out = []
    for offload in OFFLOADS:
        for tiling in (False, True):
            need = estimate_gb(preset, frames, height, width, offload, tiling)
            if need <= budget_gb:
                flags = " ".join(
                    f for f in (f"--offload {offload}" if offload else "", "--vae-tiling" if tiling else "") if f
                )
                out.append(f"{flags or 'no options'} (about {need:g} GB)")
                break
    return out
