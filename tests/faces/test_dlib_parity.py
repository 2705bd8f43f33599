"""Parity of our dlib port with dlib 20.0.1 itself (oracle JSON written by dlib, spec section 10)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from lengthen.faces.backends.dlib_torch import DlibBackend, chip_details, extract_chip

IMAGES = {"t1": "insightface__t1.jpg", "tom_hanks": "insightface__Tom_Hanks_54745.png"}


@pytest.fixture(scope="session")
def backend() -> DlibBackend:
    return DlibBackend(device="cpu")


@pytest.fixture(scope="session")
def backend_up1() -> DlibBackend:
    return DlibBackend(upsample=1, device="cpu")


def _load(shared_testdata, name):
    oracle = json.loads((shared_testdata / "dlib_oracle" / f"{name}.json").read_text())
    image = np.asarray(Image.open(shared_testdata / "unclear_rights" / IMAGES[name]).convert("RGB"))
    assert hashlib.sha256(image.tobytes()).hexdigest() == oracle["image"]["sha256_rgb"]
    return oracle, image


def _all_dets(oracle):
    return [d for key in ("upsample_0", "upsample_1") for d in oracle[key]["detections"]]


@pytest.mark.parametrize(
    "name, upsample",
    [("t1", 0), ("tom_hanks", 0), ("tom_hanks", 1)],  # t1 at upsample 1 takes ~10 s: left to the benchmark
)
def test_boxes_scores_and_landmarks_match_dlib(shared_testdata, backend, backend_up1, name, upsample):
    oracle, image = _load(shared_testdata, name)
    expected = oracle[f"upsample_{upsample}"]["detections"]
    dets = (backend_up1 if upsample else backend).detect(image)
    assert [list(map(int, d.box)) for d in dets] == [e["rect"] for e in expected]
    np.testing.assert_allclose([d.score for d in dets], [e["confidence"] for e in expected], atol=1e-4)
    for d, e in zip(dets, expected):
        assert d.landmarks.shape == (5, 2) and d.landmarks.dtype == np.float32
        np.testing.assert_array_equal(d.landmarks, np.asarray(e["landmarks5"], np.float32))


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_chips_are_bit_identical_to_dlib(shared_testdata, name):
    oracle, image = _load(shared_testdata, name)
    for e in _all_dets(oracle):
        details = chip_details(np.asarray(e["landmarks5"]))
        np.testing.assert_allclose(details.rect, e["chip"]["rect"], atol=1e-9)
        assert details.angle == pytest.approx(e["chip"]["angle"], abs=1e-12)
        chip = extract_chip(image, details)
        assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
        assert hashlib.sha256(chip.tobytes()).hexdigest() == e["chip"]["sha256"]


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_descriptors_match_dlib(shared_testdata, backend, name):
    oracle, image = _load(shared_testdata, name)
    expected = _all_dets(oracle)
    dets = [_det(e) for e in expected]
    chips = backend.align(image, dets)
    raw = backend.descriptors(chips)  # one batch: batching must not change results
    want = np.asarray([e["descriptor"] for e in expected], np.float32)
    assert np.abs(raw - want).max() < 1e-4
    unit = backend.embed(chips)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)


def test_full_pipeline_on_image_matches_dlib_descriptors(shared_testdata, backend):
    oracle, image = _load(shared_testdata, "tom_hanks")
    dets = backend.detect(image)
    raw = backend.descriptors(backend.align(image, dets))
    want = np.asarray([e["descriptor"] for e in oracle["upsample_0"]["detections"]])
    assert raw.shape == want.shape and np.abs(raw - want).max() < 1e-4


def _det(e):
    from lengthen.faces.types import Detection

    return Detection(tuple(map(float, e["rect"])), e["confidence"], np.asarray(e["landmarks5"], np.float32))
