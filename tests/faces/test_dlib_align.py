"""Differentiable chip extraction (torch) against the bit-exact numpy one, and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lengthen.faces.backends.dlib_torch import (
    DlibBackend,
    chip_affines,
    chip_details,
    extract_chip,
    extract_chips_torch,
)
from lengthen.faces.backends.dlib_torch.align import chip_affine, chip_plan, details_from_affine


@pytest.fixture(scope="module")
def backend() -> DlibBackend:
    return DlibBackend(device="cpu")


@pytest.fixture(scope="module")
def astronaut(testdata) -> np.ndarray:
    return np.asarray(Image.open(testdata / "images" / "skimage__astronaut.png").convert("RGB"))


@pytest.fixture(scope="module")
def landmarks(backend, astronaut) -> np.ndarray:
    (det,) = backend.detect(astronaut)
    return det.landmarks


def _frames(*images) -> torch.Tensor:
    return torch.stack([torch.from_numpy(im.copy()).permute(2, 0, 1).float() for im in images])  # n 3 h w


def test_affine_round_trip_and_maps_chip_corners_to_rect():
    lms = np.array([[255, 104], [237, 105], [195, 101], [212, 103], [224, 135]], float)
    d = chip_details(lms)
    a = chip_affine(d)
    back = details_from_affine(a)
    np.testing.assert_allclose(back.rect, d.rect, atol=1e-9)
    assert back.angle == pytest.approx(d.angle, abs=1e-12)
    centre = a @ np.array([74.5, 74.5, 1.0])
    np.testing.assert_allclose(centre, [(d.rect[0] + d.rect[2]) / 2, (d.rect[1] + d.rect[3]) / 2], atol=1e-9)
    assert chip_affines(lms[None]).shape == (1, 2, 3)


def test_torch_chips_match_numpy_chips(backend, astronaut, landmarks):
    big = np.asarray(Image.fromarray(astronaut).resize((2048, 2048), Image.BILINEAR))  # face ~380 px: pyramid path
    shifted = np.roll(astronaut, (7, -11), axis=(0, 1))
    images = [astronaut, big, shifted]
    lms = [landmarks, (landmarks + 0.5) * 4 - 0.5, landmarks + np.array([-11, 7], np.float32)]
    levels = [chip_plan(chip_details(lm), im.shape[1], im.shape[0])[2] for im, lm in zip(images, lms)]
    assert levels[0] == -1 and levels[1] >= 0  # both the direct and the pyramid path are tested
    ref = np.stack([extract_chip(im, chip_details(lm)) for im, lm in zip(images, lms)]).astype(np.float32)
    out = []
    for im, lm in zip(images, lms):  # frames of different sizes: one call each
        out.append(extract_chips_torch(_frames(im), chip_affines(lm[None]))[0])
    got = torch.stack(out).permute(0, 2, 3, 1).numpy()
    diff = np.abs(got - ref)
    assert diff[0].max() <= 1.0 + 1e-3  # direct path: only dlib's uint8 truncation differs
    assert diff[2].max() <= 1.0 + 1e-3
    # pyramid path: dlib floors each pyramid level and the chip (about -0.5 grey level each)
    assert diff[1].mean() < 1.3 and diff[1].max() <= 3.0
    # and the embedder sees the same face: raw descriptors nearly equal
    with torch.inference_mode():
        e_ref = backend.embedder(torch.from_numpy(ref).permute(0, 3, 1, 2))
        e_got = backend.embedder(torch.from_numpy(got).permute(0, 3, 1, 2))
    assert (e_ref - e_got).abs().max() < 0.02


def test_batched_torch_chips_and_black_border(astronaut, landmarks):
    lm = landmarks
    # second face pushed half out of the frame: dlib's border rule makes those pixels black
    lm2 = lm - np.array([200.0, 0.0], np.float32)
    affines = chip_affines(np.stack([lm, lm2]))
    chips = extract_chips_torch(_frames(astronaut, astronaut), torch.from_numpy(affines))
    ref = extract_chip(astronaut, chip_details(lm2)).astype(np.float32)
    got = chips[1].permute(1, 2, 0).numpy()
    black = (ref == 0).all(-1)
    assert black[:, :40].all() and (got[black] == 0).all()
    assert np.abs(got - ref).max() <= 1.0 + 1e-3


def test_gradient_flows_from_embedding_to_frame_pixels(backend, astronaut, landmarks):
    lm = landmarks
    frames = _frames(astronaut).requires_grad_(True)
    chips = extract_chips_torch(frames, chip_affines(lm[None]))
    emb = backend.embedder(chips)  # n 128
    assert emb.shape == (1, 128) and emb.requires_grad
    target = torch.zeros(1, 128)
    loss = torch.nn.functional.mse_loss(emb, target)
    loss.backward()
    g = frames.grad
    assert g is not None and torch.isfinite(g).all()
    d = chip_details(lm)
    x0, y0, x1, y1 = (int(v) for v in d.rect)
    inside = g[0, :, max(y0, 0) : y1, max(x0, 0) : x1].abs().sum()
    assert inside > 0
    assert g[0, :, :, : max(x0 - 60, 1)].abs().sum() == 0  # far outside the chip: no gradient
