"""The layer rules of pyproject.toml ([tool.importlinter]) hold, and they are real: the same
contracts fail on a copy of the package where an import cycle, a config that imports an engine,
and an engine that reads media were added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT), str(config), "--no-cache"], cwd=config.parent, env=env, capture_output=True, text=True
    )


def test_layer_contracts_hold():
    run = _lint(REPO / "src", REPO / "pyproject.toml")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout and "5 kept" in run.stdout


def test_the_contracts_fail_when_a_layer_is_crossed(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO / "src" / "lengthen", src / "lengthen", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    pkg = src / "lengthen"

    def append(rel: str, line: str) -> None:
        path = pkg / rel
        path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")

    append("identity/loss.py", "from ..engines import base as _engines  # a cycle: engines import identity")
    append("config.py", "from .engines import base as _engines_base  # config over an engine")
    append("engines/freeze.py", "from ..media import reader as _reader  # an engine that reads media")
    run = _lint(src, tmp_path / "pyproject.toml")
    assert run.returncode != 0
    out = run.stdout
    assert "lengthen.identity.loss -> lengthen.engines.base" in out  # named as the import to remove
    for name in (
        "No import cycles between the packages and modules of lengthen BROKEN",
        "imports only below it) BROKEN",
        "Engines never read media: the pipeline decodes context frames and cuts reference\nfaces BROKEN",
        "Requests and settings (config) import no engine, pipeline or front end BROKEN",
    ):
        assert name in out, out[-4000:]
