"""Identity loss: chips through the warp, faces that follow the motion, gradients into the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lengthen.flow import compose_displacements
from lengthen.identity.encoder import IdentityEncoder
from lengthen.identity.loss import extract_chips, identity_loss, warped_chips
from lengthen.models.motion_transformer import MotionTransformer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class TinyEmbedder(nn.Module):
    """A real (small) differentiable face embedder: RGB 0..255 chips -> 16-d vectors."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 5, stride=3),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(256, 16),
        )

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        return self.net(chips / 127.5 - 1.0)


def frame(h=96, w=128, seed=0) -> torch.Tensor:
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.float32), (0, 0), 2)
    return torch.from_numpy(img).permute(2, 0, 1)[None]  # 1 3 h w, 0..255-ish


def face_affine(x=40.0, y=30.0, scale=1.0) -> torch.Tensor:
    return torch.tensor([[[scale, 0.0, x], [0.0, scale, y]]])  # chip (u, v) -> image (x + s u, y + s v)


def test_extract_chips_with_a_translation_is_a_crop():
    img = frame()
    chips = extract_chips(img, face_affine(40, 30), size=32)
    assert chips.shape == (1, 3, 32, 32)
    assert torch.allclose(chips[0], img[0, :, 30:62, 40:72], atol=1e-3)
    half = extract_chips(img, face_affine(40, 30, scale=2.0), size=16)
    assert torch.allclose(half[0], img[0, :, 30:62:2, 40:72:2], atol=1e-3)


def test_warped_chips_without_motion_are_the_real_chips():
    img = frame()
    chips = warped_chips(img, torch.zeros(1, 3, 2, 24, 32), face_affine()[None], size=32)
    assert chips.shape == (1, 3, 1, 3, 32, 32)
    real = extract_chips(img, face_affine(), size=32)[0]
    assert all(torch.allclose(chips[0, k, 0], real, atol=1e-3) for k in range(3))


def test_chips_follow_a_face_carried_by_the_motion():
    img = frame()
    flows = torch.zeros(1, 3, 2, 24, 32)
    flows[:, :, 0] = -0.5  # content moves right 0.5 working px = 2 full px per frame
    disp = compose_displacements(flows)
    chips = warped_chips(img, disp, face_affine()[None], size=32)
    real = extract_chips(img, face_affine(), size=32)[0]
    for k in range(3):  # the face moved, the chip went with it: same pixels
        assert torch.allclose(chips[0, k, 0], real, atol=1e-2)
    # a chip held still would see a shifted face
    still = extract_chips(img, face_affine(40 - 2, 30), size=32)[0]
    assert (still - real).abs().mean() > 1


def test_loss_is_zero_change_for_a_freeze_and_counts_only_present_faces():
    img, embed = frame(), TinyEmbedder()
    affines = torch.cat([face_affine(40, 30), face_affine(70, 40)])[None]  # 1 2 2 3
    refs = torch.randn(1, 2, 16, generator=torch.Generator().manual_seed(0))
    present = torch.tensor([[True, False]])
    loss, parts = identity_loss(torch.zeros(1, 2, 2, 24, 32), img, affines, present, refs, embed, chip_size=32)
    real = embed(extract_chips(img, affines[0, :1], 32)).detach()
    assert abs(parts["smooth"]) < 1e-6
    assert np.isclose(parts["ref"], float(((real - refs[0, :1]) ** 2).sum()), rtol=1e-4)
    none, _ = identity_loss(torch.zeros(1, 2, 2, 24, 32), img, affines, present & False, refs, embed, chip_size=32)
    assert float(none.detach()) == 0.0
    moving = torch.randn(1, 2, 2, 24, 32, generator=torch.Generator().manual_seed(1)) * 2
    _, parts_moving = identity_loss(moving, img, affines, present, refs, embed, chip_size=32)
    assert parts_moving["smooth"] > 1e-4 and parts_moving["smooth"] > 1e6 * parts["smooth"]


def test_gradient_reaches_the_motion_model_and_identity_encoder_through_warp_chip_embedder():
    torch.manual_seed(0)
    model = MotionTransformer(patch_size=4, width=32, num_blocks=2, num_heads=2, identity_dim=24)
    encoder = IdentityEncoder(face_dim=16, width=24, num_tokens=2, num_heads=2)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # as if trained: zero-initialised outputs now open
        for p in list(model.parameters()) + list(encoder.parameters()):
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    embed = TinyEmbedder()
    bank = torch.randn(6, 16, generator=g)
    tokens = encoder([bank])
    flows = torch.randn(1, 5, 2, 24, 32, generator=g)
    rgb = torch.rand(1, 5, 3, 24, 32, generator=g) * 2 - 1
    pred = model(flows, rgb, torch.tensor([0.7]), 3, 0, tokens, 0.8) * model.config.flow_scale
    loss, _ = identity_loss(
        pred,
        frame(),
        face_affine()[None],
        torch.tensor([[True]]),
        bank.mean(0).view(1, 1, 16),
        embed,
        chip_size=32,
        blur_sigma=1.0,
    )
    loss.backward()
    for name, p in [
        ("patch_out", model.patch_out.weight),
        ("spatial", model.blocks[0].spatial.qkv.weight),
        ("identity attention", model.blocks[0].identity.to_kv.weight),
        ("encoder queries", encoder.queries),
    ]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_real_face_through_real_dlib_embedder(testdata):
    """The chain on real footage: dlib landmarks -> chip affines -> our warped chips -> dlib's
    differentiable ResNet; a freeze keeps the face's own descriptor, gradients reach the model."""
    import av

    from lengthen.faces.backends.dlib_torch import DlibBackend, chip_affines, extract_chips_torch

    frames = []
    with av.open(str(testdata / "video" / "tears_of_steel_clip01.mp4")) as container:
        for i, f in enumerate(container.decode(video=0)):
            if i >= 157:
                frames.append(f.to_ndarray(format="rgb24"))
            if i >= 160:
                break
    backend = DlibBackend()
    dets = backend.detect(frames[-1])
    assert len(dets) == 1  # the man with glasses
    affines = torch.from_numpy(chip_affines(np.stack([d.landmarks for d in dets]))).float()  # 1 2 3
    last = torch.from_numpy(frames[-1]).permute(2, 0, 1).float()[None]
    # our chip sampling agrees with the backend's
    assert (extract_chips(last, affines, 150) - extract_chips_torch(last, affines)).abs().mean() < 0.5
    embed = backend.embedder
    ref = embed(extract_chips_torch(last, affines)).detach()  # the face's own descriptor as reference
    zero, parts = identity_loss(
        torch.zeros(1, 1, 2, 88, 160), last, affines[None], torch.tensor([[True]]), ref[None], embed
    )
    assert parts["ref"] < 1e-3 and parts["smooth"] < 1e-3
    torch.manual_seed(0)
    model = MotionTransformer(patch_size=8, width=32, num_blocks=1, num_heads=2, identity_dim=32)
    with torch.no_grad():
        model.patch_out.weight.normal_(0, 0.05)
    pred = model(torch.zeros(1, 2, 2, 88, 160), torch.zeros(1, 2, 3, 88, 160), torch.tensor([1.0]), 1) * 2.0
    loss, parts = identity_loss(pred, last, affines[None], torch.tensor([[True]]), ref[None], embed, blur_sigma=1.5)
    loss.backward()
    assert parts["ref"] > 0 and model.patch_out.weight.grad.abs().sum() > 0
    embed.zero_grad(set_to_none=True)


def test_relative_reference_term_costs_only_a_face_further_from_its_bank_than_the_real_one():
    img, embed = frame(), TinyEmbedder()
    affines = face_affine(40, 30)[None]  # 1 1 2 3
    present = torch.tensor([[True]])
    real = embed(extract_chips(img, affines[0], 32)).detach()
    refs = (real + 0.5 * torch.randn(real.shape, generator=torch.Generator().manual_seed(3)))[None]  # 1 1 16
    _, frozen = identity_loss(
        torch.zeros(1, 2, 2, 24, 32), img, affines, present, refs, embed, chip_size=32, relative=True
    )
    _, frozen_abs = identity_loss(torch.zeros(1, 2, 2, 24, 32), img, affines, present, refs, embed, chip_size=32)
    assert frozen["ref"] == 0.0 and frozen_abs["ref"] > 0.1  # the real face is the yardstick
    broken = torch.randn(1, 2, 2, 24, 32, generator=torch.Generator().manual_seed(1)) * 3
    _, moved = identity_loss(broken, img, affines, present, refs, embed, chip_size=32, relative=True)
    _, moved_abs = identity_loss(broken, img, affines, present, refs, embed, chip_size=32)
    assert 0 < moved["ref"] <= moved_abs["ref"]


def test_rigid_chain_sees_the_face_as_the_engine_warps_it():
    img, embed = frame(), TinyEmbedder()
    affines, present = face_affine(40, 30)[None], torch.tensor([[True]])
    refs = embed(extract_chips(img, affines[0], 32)).detach()[None]
    ys, xs = torch.meshgrid(torch.arange(24.0), torch.arange(32.0), indexing="ij")
    stretch = torch.stack([0.3 * (xs - 10), torch.zeros_like(xs)])[None, None].repeat(1, 2, 1, 1, 1)  # cheeks pulled
    stretch.requires_grad_(True)
    _, loose = identity_loss(stretch, img, affines, present, refs, embed, chip_size=32)
    loss, rigid = identity_loss(stretch, img, affines, present, refs, embed, chip_size=32, rigid=True)
    assert rigid["ref"] != pytest.approx(loose["ref"])  # the rigid fit changed what the embedder saw
    loss.backward()
    assert stretch.grad.abs().sum() > 0
