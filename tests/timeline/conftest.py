from __future__ import annotations

import os

import pytest
from builders import make_tiny_media


@pytest.fixture(scope="session")
def tiny_media(tmp_path_factory):
    return make_tiny_media(tmp_path_factory.mktemp("tiny") / "media")


@pytest.fixture
def project(tmp_path, tiny_media):
    """A fresh folder with ``media/`` (a link to the session's tiny media) beside where timelines go."""
    os.symlink(tiny_media["a"].parent, tmp_path / "media")
    return tmp_path
