"""lengthen doctor: what this machine has, and what is missing."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "doctor",
        help="check Python, torch/CUDA, codecs, face and video models, disk space",
        description="Check this machine: Python, torch and CUDA, PyAV encoders for ProRes/DNxHR/H.264, "
        "face models (dlib CC0 weights, insightface), video model weights, what the panel needs to start "
        "(Qt platform plugin and its system libraries, with the exact install command), disk space. "
        "Exits 1 when something required is missing.",
    )
    p.add_argument("--json", action="store_true")


EXTRA_PURPOSE = {  # what each optional extra of pyproject.toml adds, for people reading `doctor`
    "insightface": "insightface face backend (its model packs are non-commercial)",
    "adapters": "FCP7 XML, FCPXML and CMX 3600 EDL timelines",
    "credentials": "C2PA Content Credentials on generated media (lengthen verify)",
    "farm": "Ray executor: lengthen timeline --executor ray (one task per shot, local or a cluster)",
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


# system libraries whose Debian/Ubuntu package name does not follow the soname (see apt_package)
APT_NAMES = {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0"}
# loaded by the xcb plugin at start (dlopen), so ``ldd`` does not list them
QT_XCB_RUNTIME = ("libxcb-cursor.so.0",)


def apt_package(soname: str) -> str:
    """The Debian/Ubuntu package of a library: ``libxcb-cursor.so.0`` -> ``libxcb-cursor0``,
    ``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0``, ``libEGL.so.1`` -> ``libegl1``."""
    import re

    if soname in APT_NAMES:
        return APT_NAMES[soname]
    m = re.match(r"^(.+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    name, major = m.group(1).lower(), m.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def missing_libraries(ldd_output: str) -> list[str]:
    """Sonames ``ldd`` reports as ``not found``."""
    out = []
    for line in ldd_output.splitlines():
        if "not found" in line:
            name = line.split("=>")[0].strip()
            if name and name not in out:
                out.append(name)
    return out


def qt_panel_check() -> dict:
    """What the panel needs to start: PyQt6, its xcb platform plugin (a desktop on Linux) and
    that plugin's system libraries, and the offscreen plugin (``--screenshot``). Returns
    {"ok", "detail", "missing": [sonames], "install": exact command or None}."""
    import ctypes
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    try:
        from PyQt6.QtCore import QLibraryInfo
    except ImportError:
        cmd = f"{sys.executable} -m pip install 'pyqt6>=6.6'"
        return {"ok": False, "detail": f"PyQt6 is not installed: {cmd}", "missing": [], "install": cmd}
    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    if not sys.platform.startswith("linux"):
        ok = plugins.is_dir()
        return {"ok": ok, "detail": f"Qt platform plugins in {plugins}", "missing": [], "install": None}
    wanted = [plugins / "libqxcb.so", plugins / "libqoffscreen.so"]
    absent = [p.name for p in wanted if not p.is_file()]
    if absent:
        cmd = f"{sys.executable} -m pip install --force-reinstall 'pyqt6>=6.6'"
        return {
            "ok": False,
            "detail": f"Qt plugins missing ({', '.join(absent)}): {cmd}",
            "missing": [],
            "install": cmd,
        }
    missing: list[str] = []
    if shutil.which("ldd"):
        for lib in wanted:
            try:
                out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True, timeout=20).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            missing += [m for m in missing_libraries(out) if m not in missing]
    for soname in QT_XCB_RUNTIME:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    if not missing:
        return {"ok": True, "detail": f"xcb and offscreen plugins load ({plugins})", "missing": [], "install": None}
    packages = sorted({apt_package(m) for m in missing})
    cmd = "sudo apt-get install -y " + " ".join(packages)
    return {
        "ok": False,
        "detail": f"the panel cannot start: the Qt xcb plugin lacks {', '.join(missing)}; install with: {cmd}",
        "missing": missing,
        "install": cmd,
    }


def checks() -> list[dict]:
    import platform
    import shutil
    import sys

    from ..errors import LengthenError
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
    qt = qt_panel_check()
    add("panel (Qt platform plugin and its libraries)", qt["ok"], qt["detail"], required=False)
    out[-1]["install"] = qt["install"]
    try:
        cache = cache_dir()
    except LengthenError as exc:
        add("cache folder", False, str(exc))
    else:
        free = shutil.disk_usage(cache).free / 2**30
        add("disk space", free > 2, f"{free:.1f} GiB free at {cache}")
    try:
        from ..guards import memory_limit

        add("memory limit", True, f"{memory_limit() / 2**30:.1f} GiB per request (LENGTHEN_MEMORY_LIMIT to change)")
    except LengthenError as exc:
        add("memory limit", False, str(exc))
    return out


def run(args) -> int:
    results = checks()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            mark = "ok " if r["ok"] else ("MISSING" if r["required"] else "--")
            print(f"{mark:8s} {r['check']:44s} {r['detail']}")
        for r in results:
            if not r["ok"] and r.get("install"):
                print(f"to fix {r['check']}: {r['install']}")
    from . import say

    missing = [r for r in results if r["required"] and not r["ok"]]
    for r in missing:  # the table is on stdout; each missing requirement is also one error line
        say(f"lengthen doctor: error: {r['check']}: {r['detail']}")
    return 1 if missing else 0
