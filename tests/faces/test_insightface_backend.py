"""The optional insightface backend without its models: the missing-model error, no download,
and the parts of the protocol that need no model (alignment)."""

from __future__ import annotations

import inspect
import socket

import numpy as np
import pytest

from lengthen.errors import ModelError
from lengthen.faces.backends import insightface as ib
from lengthen.faces.types import Detection, FaceBackend


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket or to use insightface's downloader fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    import insightface.utils.storage as storage

    monkeypatch.setattr(storage, "download_file", refuse)


def test_missing_models_raise_with_where_to_put_them(tmp_path, no_network):
    with pytest.raises(ModelError) as err:
        ib.InsightFaceBackend(root=tmp_path)
    text = str(err.value)
    assert str(tmp_path / "models" / "buffalo_l") in text
    assert "buffalo_l" in text and "antelopev2" in text and "non-commercial" in text
    assert "--allow-download" in text
    assert not (tmp_path / "models").exists()  # nothing created either


def test_environment_root_and_pack(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("LENGTHEN_INSIGHTFACE_ROOT", str(tmp_path / "envroot"))
    with pytest.raises(ModelError, match=r"envroot/models/antelopev2"):
        ib.InsightFaceBackend(pack="antelopev2")
    # a folder without .onnx files is still missing
    (tmp_path / "envroot" / "models" / "buffalo_l").mkdir(parents=True)
    (tmp_path / "envroot" / "models" / "buffalo_l" / "README.txt").write_text("x")
    with pytest.raises(ModelError):
        ib.InsightFaceBackend()


def test_lazy_app_also_refuses_to_download(tmp_path, no_network):
    backend = ib.InsightFaceBackend(root=tmp_path, allow_download=True)  # allowed: no check yet
    backend.allow_download = False  # ... but with downloads off the app is never built
    with pytest.raises(ModelError):
        backend.app


def test_protocol_conformance_without_models(testdata):
    backend = object.__new__(ib.InsightFaceBackend)  # no models here: skip __init__'s check
    assert isinstance(backend, FaceBackend)
    assert (backend.name, backend.embedding_dim, backend.chip_size) == ("insightface", 512, 112)
    assert len(backend.landmark_names) == 5
    for method in ("detect", "align", "embed"):
        assert (
            list(inspect.signature(getattr(ib.InsightFaceBackend, method)).parameters)[:2]
            == list(inspect.signature(getattr(FaceBackend, method)).parameters)[:2]
        )
    # align is insightface's norm_crop: the eyes land where ArcFace expects them
    from PIL import Image

    image = np.asarray(Image.open(testdata / "images" / "skimage__astronaut.png").convert("RGB"))
    kps = np.array([[180, 120], [240, 118], [212, 160], [188, 195], [236, 193]], np.float32)
    det = Detection((150.0, 80.0, 270.0, 230.0), 0.9, kps)
    chips = backend.align(image, [det, det])
    assert chips.shape == (2, 112, 112, 3) and chips.dtype == np.uint8
    assert chips.std() > 10  # real pixels, not the black border
    assert backend.align(image, []).shape == (0, 112, 112, 3)
