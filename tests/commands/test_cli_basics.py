import json
import subprocess
import sys

import lengthen


def _run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "lengthen", *args], capture_output=True, text=True, **kw)


def test_help_is_fast_and_imports_no_heavy_modules():
    code = (
        "import sys, lengthen.cli as c\n"
        "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'PyQt6', 'insightface', 'av', 'diffusers', 'cv2') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in run.stdout
    for command in ("extend", "probe", "doctor"):
        assert command in run.stdout


def test_import_lengthen_is_light():
    run = subprocess.run(
        [sys.executable, "-c", "import sys, lengthen; print([m for m in ('torch','PyQt6','av') if m in sys.modules])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "[]"


def test_version():
    run = _run("--version", check=True)
    assert run.stdout.strip() == f"lengthen {lengthen.__version__}"


def test_no_command_is_usage_error():
    assert _run().returncode == 2
    assert _run("frobnicate").returncode == 2


def test_doctor_reports_every_check():
    run = _run("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(run.stdout)}
    for name in (
        "python",
        "torch",
        "encoder prores",
        "encoder dnxhr",
        "encoder h264",
        "face models (dlib, CC0)",
        "disk space",
    ):
        assert name in checks
    assert checks["encoder prores"]["ok"] is True
    required_ok = all(c["ok"] for c in checks.values() if c["required"])
    assert run.returncode == (0 if required_ok else 1)
