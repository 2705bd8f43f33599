"""Find dlib's CC0 model files, parse them once, and cache the arrays as safetensors.

Where the ``.dat`` files are looked for, in order:

1. ``$LENGTHEN_DLIB_MODELS``: a folder holding the ``.dat`` files (nothing else is searched
   when it is set);
2. the ``models/`` folder of the installed PyPI package ``face_recognition_models`` (CC0, by
   Davis King), found WITHOUT importing it (its ``__init__`` needs ``pkg_resources``).

The parsed arrays are written to ``lengthen.paths.cache_dir("dlib")`` as one ``.safetensors``
file per model, named after the source file and keyed by its name, size and modification time
(plus a format version); the source's sha256 is kept in the file's metadata. Later loads read
only the safetensors file.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
from pathlib import Path

import numpy as np

from ....errors import ModelError
from ....paths import cache_dir

MODEL_FILES = {
    "resnet": "dlib_face_recognition_resnet_model_v1.dat",
    "mmod": "mmod_human_face_detector.dat",
    "shape5": "shape_predictor_5_face_landmarks.dat",
}
ENV_VAR = "LENGTHEN_DLIB_MODELS"
PACKAGE = "face_recognition_models"
CACHE_FORMAT = 1
INSTALL_HINT = f"install the CC0 dlib models with: pip install {PACKAGE}"


def _package_models_dir() -> Path | None:
    """models/ of face_recognition_models, located without executing its __init__."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if (Path(loc) / "models").is_dir():
                return Path(loc) / "models"
    try:
        files = importlib.metadata.files(PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name in MODEL_FILES.values():
            return Path(f.locate()).parent
    return None


def model_path(kind: str) -> Path:
    """Path of one model file (``kind`` in MODEL_FILES); ModelError saying what to install."""
    name = MODEL_FILES[kind]
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser() / name
        if not path.is_file():
            raise ModelError(
                f"{name} not found in ${ENV_VAR}; put it there or unset ${ENV_VAR} and {INSTALL_HINT}", path=path
            )
        return path
    folder = _package_models_dir()
    if folder is None:
        raise ModelError(
            f"dlib model file {name} not found: {INSTALL_HINT} (or set ${ENV_VAR} to a folder with the .dat files)"
        )
    path = folder / name
    if not path.is_file():
        raise ModelError(
            f"dlib model file missing from the {PACKAGE} package; reinstall it: pip install "
            f"--force-reinstall {PACKAGE}",
            path=path,
        )
    return path


def _parse(kind: str, data: bytes) -> dict[str, np.ndarray]:
    """Parse the bytes of one .dat file into named arrays (the slow, one-time step)."""
    from . import mmod, resnet, shape
    from .serialize import read_dnn

    if kind == "resnet":
        return resnet.tensors_from_dnn(read_dnn(data))
    if kind == "mmod":
        return mmod.tensors_from_dnn(read_dnn(data))
    if kind == "shape5":
        return shape.read_shape_predictor(data)
    raise KeyError(kind)


def cache_path(kind: str, source: Path) -> Path:
    st = source.stat()
    key = hashlib.sha256(f"{CACHE_FORMAT}:{source.name}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir("dlib") / f"{source.stem}-{key}.safetensors"


def load_tensors(kind: str, path: Path | None = None) -> dict[str, np.ndarray]:
    """Arrays of one model: from the safetensors cache, else parsed from the .dat and cached."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file, save_file

    source = Path(path) if path is not None else model_path(kind)
    cached = cache_path(kind, source)
    if cached.is_file():
        try:
            return load_file(cached)
        except (SafetensorError, OSError, ValueError):
            cached.unlink(missing_ok=True)  # a damaged cache entry: rebuild it below
    data = source.read_bytes()
    from .serialize import DlibFormatError

    try:
        tensors = _parse(kind, data)
    except (DlibFormatError, ValueError, IndexError, OverflowError, TypeError) as exc:
        raise ModelError(f"not a valid {MODEL_FILES[kind]} file ({exc}); {INSTALL_HINT}", path=source) from exc
    meta = {"source": source.name, "sha256": hashlib.sha256(data).hexdigest(), "size": str(len(data)), "kind": kind}
    from ....fsutil import atomic_path

    try:
        with atomic_path(cached, record=False) as tmp:
            save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, tmp, metadata=meta)
    except OSError:
        pass  # a read-only cache only costs speed
    return tensors


def cache_metadata(kind: str) -> dict[str, str]:
    """Metadata stored with a cached model (source name, sha256, size)."""
    from safetensors import safe_open

    with safe_open(cache_path(kind, model_path(kind)), framework="numpy") as f:
        return dict(f.metadata() or {})


def describe() -> str:
    """One JSON line about where the models come from (for `lengthen doctor`-style reports)."""
    out = {}
    for kind, name in MODEL_FILES.items():
        try:
            out[name] = str(model_path(kind))
        except ModelError as exc:
            out[name] = f"missing: {exc}"
    return json.dumps(out)
