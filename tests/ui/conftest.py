"""Fixtures for the panel tests: a small real timeline over the shared test videos."""

from __future__ import annotations

from pathlib import Path

import pytest
from panel_cuts import write_cut


@pytest.fixture
def cut(testdata, tmp_path) -> Path:
    return write_cut(testdata, tmp_path / "edit")
