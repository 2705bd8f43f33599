"""Shared fixtures. Tests are offline, tiny and strict; Qt runs offscreen."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tiny_presets import register as _register_tiny  # noqa: E402

_register_tiny()  # the test-only quality "tiny" (it ships in no CLI choice or preset)
# the panel's own settings (recent files) go to a throwaway file, never the user's (tests/ui sets one per test)
os.environ.setdefault(
    "LENGTHEN_PANEL_SETTINGS", os.path.join(tempfile.mkdtemp(prefix="lengthen-test-settings-"), "panel.ini")
)

REPO = Path(__file__).resolve().parents[1]


TESTDATA = REPO / "tests" / "data"  # redistributable clips, photos and dlib oracles (see its README)


def _shared_testdata() -> Path | None:
    env = os.environ.get("LENGTHEN_SHARED")
    candidates = [Path(env) / "testdata"] if env else []
    candidates.append(REPO.parent / "shared" / "testdata")
    for c in candidates:
        if (c / "MANIFEST.md").is_file():
            return c
    return None


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The test media that ship in the repository: every essential test reads only these."""
    return TESTDATA


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """The optional extra layer (MEDS-II photos, images whose rights are unclear): tests that use it
    are marked ``shared`` and deselected, not skipped, when ../shared/testdata is absent."""
    path = _shared_testdata()
    assert path is not None, "tests marked 'shared' are deselected without ../shared/testdata"
    return path


def pytest_collection_modifyitems(config, items):
    if _shared_testdata() is not None:
        return
    extra = [item for item in items if item.get_closest_marker("shared")]
    if extra:
        config.hook.pytest_deselected(items=extra)
        items[:] = [item for item in items if not item.get_closest_marker("shared")]


def pytest_report_header(config):
    where = _shared_testdata()
    return f"optional shared test layer: {where if where else 'absent (tests marked shared deselected)'}"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets a private lengthen cache dir unless it asks otherwise (weights are re-used
    across tests through the session-scoped directory below)."""
    monkeypatch.setenv("LENGTHEN_CACHE", str(_session_cache(tmp_path_factory)))


_CACHE: list[Path] = []


def _session_cache(factory) -> Path:
    if not _CACHE:
        _CACHE.append(factory.mktemp("lengthen-cache"))
    return _CACHE[0]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on shared cores they stall badly.
    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
