"""Fixtures for the panel tests: a small real timeline over the shared test videos, and the
panel's settings in a temporary file (the suite never writes the user's settings)."""

from __future__ import annotations

from pathlib import Path

import pytest
from panel_cuts import write_cut


@pytest.fixture(autouse=True)
def temporary_panel_settings(tmp_path, monkeypatch) -> Path:
    """Every window made in a test (the `panel --screenshot` command included) keeps its recent
    files and folders in this file instead of the user's settings."""
    path = tmp_path / "panel-settings.ini"
    monkeypatch.setenv("LENGTHEN_PANEL_SETTINGS", str(path))
    return path


@pytest.fixture
def cut(testdata, tmp_path) -> Path:
    return write_cut(testdata, tmp_path / "edit")
