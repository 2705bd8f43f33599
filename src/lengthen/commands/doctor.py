"""lengthen doctor: what this machine has, and what is missing."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "doctor",
        help="check Python, torch/CUDA, codecs, face and video models, disk space",
        description="Check this machine: Python, torch and CUDA, PyAV encoders for ProRes/DNxHR/H.264, "
        "face models (dlib CC0 weights, insightface), video model weights, disk space. "
        "Exits 1 when something required is missing.",
    )
    p.add_argument("--json", action="store_true")


EXTRA_PURPOSE = {  # what each optional extra of pyproject.toml adds, for people reading `doctor`
    "insightface": "insightface face backend (its model packs are non-commercial)",
    "adapters": "FCP7 XML, FCPXML and CMX 3600 EDL timelines",
    "credentials": "C2PA Content Credentials on generated media (lengthen verify)",
}


def install_command(extra: str) -> str:
    """The exact command that adds an extra: from a checkout made with ./dev, or from PyPI."""
    import sys
    from pathlib import Path

    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "dev").is_file():
        return f"{sys.executable} -m pip install -e '{checkout}[{extra}]'"
    return f"{sys.executable} -m pip install 'lengthen[{extra}]'"


def optional_extras() -> dict[str, list[str]]:
    """Each optional extra of the installed lengthen (but the test extra ``dev``) -> the
    distributions it needs that are not installed; read from the package's own metadata, so an
    extra added to pyproject.toml is checked without changing this code."""
    import re
    from importlib.metadata import PackageNotFoundError, requires, version

    extras: dict[str, list[str]] = {}
    for req in requires("lengthen") or []:
        marker = re.search(r"extra\s*==\s*[\"']([^\"']+)[\"']", req)
        if not marker or marker.group(1) == "dev":
            continue
        name = re.split(r"[\s<>=!~;\[(]", req.strip(), maxsplit=1)[0]
        missing = extras.setdefault(marker.group(1), [])
        if name == "lengthen":  # an extra made of other extras
            continue
        try:
            version(name)
        except PackageNotFoundError:
            missing.append(name)
    return extras


def checks() -> list[dict]:
    import platform
    import shutil
    import sys

    from ..paths import cache_dir

    out: list[dict] = []

    def add(name, ok, detail, required=True):
        out.append({"check": name, "ok": bool(ok), "required": required, "detail": detail})

    add("python", sys.version_info >= (3, 10), f"{platform.python_version()} ({sys.executable})")
    try:
        import torch

        cuda = torch.cuda.is_available()
        where = (
            f"available: {torch.cuda.get_device_name(0)}"
            if cuda
            else "not available (CPU only: built-in engines work, GPU engines will not)"
        )
        detail = f"torch {torch.__version__}; CUDA {where}"
        add("torch", True, detail)
        add(
            "cuda",
            cuda,
            "GPU engines (wan-vace, ltx, skyreels-df) need an NVIDIA GPU and a CUDA build of torch: "
            "pip install --force-reinstall 'torch>=2.4,<2.15' (PyPI's Linux wheels are CUDA builds)"
            if not cuda
            else torch.cuda.get_device_name(0),
            required=False,
        )
    except Exception as exc:
        add("torch", False, f"cannot import torch: {exc}")
    try:
        import av

        from ..media.writer import CODECS, available_codecs

        have = available_codecs()
        for key, ok in have.items():
            add(
                f"encoder {key}",
                ok,
                f"{CODECS[key].name} via {CODECS[key].codec} (PyAV {av.__version__})",
                required=key == "prores",
            )
    except Exception as exc:
        add("pyav", False, f"cannot import av: {exc}")
    try:
        from ..faces.backends.dlib_torch.weights import MODEL_FILES, model_path

        folders = sorted({str(model_path(kind).parent) for kind in MODEL_FILES})
        add("face models (dlib, CC0)", True, f"{len(MODEL_FILES)} model files in {', '.join(folders)}")
    except Exception as exc:
        add("face models (dlib, CC0)", False, str(exc))
    for extra, missing in optional_extras().items():
        add(
            f"extra [{extra}]",
            not missing,
            f"{EXTRA_PURPOSE.get(extra, extra)}: "
            + ("installed" if not missing else f"missing {', '.join(missing)}; add it with: {install_command(extra)}"),
            required=False,
        )
    try:
        from ..engines.presets import load_presets, locate

        for preset in load_presets():
            if preset.get("builtin"):
                continue
            where = locate(preset)
            add(
                f"video model {preset['name']}",
                where is not None,
                str(where) if where else "not found locally (see `lengthen models`)",
                required=False,
            )
    except Exception as exc:
        add("video model presets", False, str(exc), required=False)
    cache = cache_dir()
    free = shutil.disk_usage(cache).free / 2**30
    add("disk space", free > 2, f"{free:.1f} GiB free at {cache}")
    return out


def run(args) -> int:
    results = checks()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            mark = "ok " if r["ok"] else ("MISSING" if r["required"] else "--")
            print(f"{mark:8s} {r['check']:44s} {r['detail']}")
    return 0 if all(r["ok"] for r in results if r["required"]) else 1
