"""The linter configured in pyproject.toml (ruff: pyflakes, pycodestyle, import order, line length,
formatting) runs as part of the suite, so a lint error fails CI like a failing test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TREES = ["src", "tests", "benchmarks", "plugin"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args, *TREES], cwd=REPO, capture_output=True, text=True)


def test_ruff_check_passes():
    run = _ruff("check", "--no-cache", "--output-format", "concise")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_format_is_clean():
    run = _ruff("format", "--check", "--no-cache")
    assert run.returncode == 0, run.stdout + run.stderr
