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


def test_doctor_lists_every_optional_extra_with_its_install_command():
    """Every extra in pyproject.toml (but the test extra) has a line; in this [dev] environment all
    are installed. The missing case is checked by .ci/run on its base-install virtualenv."""
    from pathlib import Path

    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"]) - {"dev"}
    run = _run("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(run.stdout)}
    for extra in extras:
        check = checks[f"extra [{extra}]"]
        assert check["required"] is False and check["ok"] is True, check
    from lengthen.commands.doctor import install_command

    assert install_command("farm").endswith("[farm]'") and "pip install" in install_command("farm")
