"""lengthen models: presets listed with their local status, found in --model-path /
$LENGTHEN_MODELS, the exact download command, and missing weights as one clear error line."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from lengthen.cli import main
from lengthen.engines import presets
from lengthen.engines.base import EngineSettings, GenerateRequest, get_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines"))
from tiny_pipelines import tiny_folder  # noqa: E402


@pytest.fixture(autouse=True)
def offline_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("LENGTHEN_MODELS", str(tmp_path / "models"))


def test_lists_every_preset_with_status_and_download_command(capsys, tmp_path):
    assert main(["models", "--json"]) == 0
    table = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"wan-vace", "ltx", "skyreels-df", "builtin", "motion"} <= set(table)
    assert table["builtin"]["status"] == table["motion"]["status"] == "built in, no weights needed"
    wan = table["wan-vace"]
    assert wan["status"] == "missing" and wan["repo"] == presets.get_preset("wan-vace")["repo"]
    assert wan["download"].startswith(f"hf download {wan['repo']} --revision {wan['revision']}")
    assert str(tmp_path / "models" / "wan-vace") in wan["download"]
    assert any(str(tmp_path / "models") in s for s in wan["searched"])
    assert wan["gpu_gb"]["model"] < wan["gpu_gb"]["none"]


def test_finds_weights_in_lengthen_models_and_model_path(capsys, tmp_path, tmp_path_factory):
    tiny = tiny_folder("wan-vace", tmp_path_factory)
    shutil.copytree(tiny, tmp_path / "models" / "wan-vace")
    assert main(["models", "--json", "--preset", "wan-vace"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "found" and row["path"] == str(tmp_path / "models" / "wan-vace")
    assert main(["models", "--preset", "ltx", "--model-path", str(tmp_path / "models")]) == 0
    assert "missing" in capsys.readouterr().out  # a wan folder is not ltx weights


def test_missing_weights_fail_in_one_line_naming_places_and_command(capsys, tmp_path):
    eng = get_engine("wan-vace", EngineSettings(quality="tiny"))
    from fractions import Fraction

    import numpy as np

    from lengthen.errors import ModelError

    with pytest.raises(ModelError) as err:
        eng.generate(GenerateRequest(np.zeros((4, 32, 32, 3), np.uint8), "tail", 2, Fraction(24)), None)
    msg = str(err.value)
    assert "hf download Wan-AI/" in msg and str(tmp_path / "models") in msg and "\n" not in msg


def test_allow_download_offline_is_a_clear_error(capsys):
    assert main(["models", "--preset", "skyreels-df", "--allow-download"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not download Skywork/" in err and "hf download" in err
    assert "Traceback" not in err
