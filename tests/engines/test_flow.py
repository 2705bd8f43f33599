"""lengthen.flow: Farneback context flows, extrapolation, composition and the full-resolution warp."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lengthen import flow

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def texture(h=200, w=400, seed=0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.float32), (0, 0), 3)
    return ((img - img.min()) / (img.max() - img.min()) * 255).astype(np.uint8)


def moving(n=6, dx=4, dy=0, h=96, w=128) -> np.ndarray:
    """A textured image whose content moves (dx, dy) px per frame (right/down)."""
    big = texture()
    return np.stack([big[50 - dy * i : 50 - dy * i + h, 150 - dx * i : 150 - dx * i + w] for i in range(n)])


def test_work_size_keeps_aspect_on_the_patch_grid():
    assert flow.work_size_for(640, 360, 160, 8) == (160, 88)
    assert flow.work_size_for(640, 480, 160, 8) == (160, 120)
    assert flow.work_size_for(1920, 1080, 128, 8) == (128, 72)
    with pytest.raises(ValueError):
        flow.work_size_for(640, 360, 150, 8)


def test_work_rgb_range_and_shape():
    rgb = flow.work_rgb(moving(3), (32, 24))
    assert rgb.shape == (3, 3, 24, 32) and rgb.dtype == np.float32
    assert rgb.min() >= -1 and rgb.max() <= 1 and rgb.std() > 0.05


@pytest.mark.parametrize("dx,dy", [(4, 0), (0, -2)])
def test_pair_flows_measure_the_motion_both_ways(dx, dy):
    frames = moving(5, dx, dy)
    work = (64, 48)
    backward, forward = flow.pair_flows(frames, work, source_width=128)
    assert backward.shape == forward.shape == (4, 2, 48, 64)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))  # away from borders
    expect = np.array([dx * 64 / 128, dy * 48 / 96])
    # backward flow points to where the pixel was: against the motion
    assert np.allclose(backward[inner].mean(axis=(0, 2, 3)), -expect, atol=0.15)
    assert np.allclose(forward[inner].mean(axis=(0, 2, 3)), expect, atol=0.15)
    assert np.array_equal(flow.context_flows(frames, work, source_width=128), backward)


def test_pair_flows_rejects_a_single_frame():
    with pytest.raises(ValueError):
        flow.pair_flows(moving(1), (32, 24))


def test_extrapolation_repeats_smooths_and_damps():
    rng = np.random.default_rng(0)
    flows = rng.normal(size=(5, 2, 12, 16)).astype(np.float32)
    same = flow.extrapolate_flows(flows, 3, smooth=0, damping=1.0, blur_sigma=0)
    assert same.shape == (3, 2, 12, 16)
    assert all(np.allclose(f, flows[-1]) for f in same)
    mean = flow.extrapolate_flows(flows, 1, window=2, smooth=1.0, damping=1.0, blur_sigma=0)[0]
    assert np.allclose(mean, flows[-2:].mean(0), atol=1e-6)
    damped = flow.extrapolate_flows(flows, 4, smooth=0.5, damping=0.5, blur_sigma=1.0)
    assert np.allclose(damped[1], 0.5 * damped[0], atol=1e-6)
    assert damped[0].std() < 0.5 * flows[-1].std()  # blurred + damped


def test_compose_constant_flows_adds_up_and_is_differentiable():
    f = torch.zeros(4, 2, 10, 12)
    f[:, 0] = -1.0
    f[:, 1] = 0.5
    f.requires_grad_(True)
    disp = flow.compose_displacements(f)
    for k in range(4):
        assert torch.allclose(disp[k, 0], torch.full((10, 12), -1.0 * (k + 1)))
        assert torch.allclose(disp[k, 1], torch.full((10, 12), 0.5 * (k + 1)))
    disp[-1].sum().backward()
    assert f.grad.abs().sum() > 0 and torch.isfinite(f.grad).all()


def test_zero_flow_warp_is_an_exact_freeze():
    last = texture(90, 160)
    out = flow.compose_and_warp(last, np.zeros((5, 2, 24, 40), np.float32))
    assert out.shape == (5, 90, 160, 3) and out.dtype == np.uint8
    assert all(np.array_equal(o, last) for o in out)
    assert flow.compose_and_warp(last, np.zeros((0, 2, 24, 40), np.float32)).shape == (0, 90, 160, 3)


def test_warp_moves_the_full_resolution_frame_by_the_upsampled_flow():
    last = texture(96, 128)
    flows = np.zeros((3, 2, 24, 32), np.float32)
    flows[:, 0] = -0.5  # working px (= 2 full px at 4x): content moves right 2 px per frame
    out = flow.compose_and_warp(last, flows, blur_sigma=1.0)
    for k in range(3):
        shift = 2 * (k + 1)
        assert np.abs(out[k, :, 20:-20].astype(int) - last[:, 20 - shift : -20 - shift].astype(int)).max() <= 1


def test_torch_warp_is_differentiable_in_the_flow():
    image = torch.from_numpy(texture(48, 64)).permute(2, 0, 1).float()[None]
    disp = torch.zeros(1, 2, 2, 12, 16, requires_grad=True)
    out = flow.warp_torch(image, disp, blur_sigma=1.0)
    assert out.shape == (1, 2, 3, 48, 64)
    assert torch.allclose(out[0, 0], image[0], atol=1e-3)
    out.mean().backward()
    assert disp.grad.abs().sum() > 0


def test_context_flows_on_real_footage(testdata):
    import av

    frames = []
    with av.open(str(testdata / "video" / "tears_of_steel_clip01.mp4")) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= 150:
                frames.append(frame.to_ndarray(format="rgb24"))
            if i >= 157:
                break
    frames = np.stack(frames)
    work = flow.work_size_for(frames.shape[2], frames.shape[1])
    flows = flow.context_flows(frames, work)
    assert flows.shape == (7, 2, 88, 160) and np.isfinite(flows).all()
    assert 0.01 < np.abs(flows).mean() < 10  # a talking head: some motion, not a cut
    made = flow.compose_and_warp(frames[-1], flow.extrapolate_flows(flows, 4))
    assert made.shape == (4, *frames.shape[1:])
    assert np.abs(made[0].astype(int) - frames[-1].astype(int)).mean() < 10


def _field(fn, n=2, h=40, w=60) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    return torch.stack([torch.stack(fn(xs, ys, k)) for k in range(n)])  # n 2 h w


def test_rigid_faces_keeps_a_similarity_and_straightens_a_stretch_inside_the_face_only():
    cx, cy, r = 30.0, 20.0, 8.0
    # a similarity (scale 1.02, small rotation, translation) is already rigid: unchanged everywhere
    sim = _field(
        lambda x, y, k: (0.02 * (x - cx) - 0.01 * (y - cy) + 1.0 + k, 0.01 * (x - cx) + 0.02 * (y - cy) - 0.5)
    )
    assert torch.allclose(flow.rigid_faces(sim, [(cx, cy, r)]), sim, atol=1e-4)
    # a stretch along x only (cheeks pulled sideways) becomes one rigid motion inside the face
    stretch = _field(lambda x, y, k: (0.2 * (x - cx), torch.zeros_like(x)))
    out = flow.rigid_faces(stretch, [(cx, cy, r)])

    def jacobian(f, x, y):
        dxdx = (f[0, 0, y, x + 1] - f[0, 0, y, x - 1]) / 2
        dydy = (f[0, 1, y + 1, x] - f[0, 1, y - 1, x]) / 2
        return float(dxdx), float(dydy)

    dxdx, dydy = jacobian(out, int(cx), int(cy))
    assert abs(dxdx - dydy) < 0.01 and 0.05 < dxdx < 0.2  # uniform scale, part of the stretch kept
    assert jacobian(stretch, int(cx), int(cy)) == pytest.approx((0.2, 0.0))
    # far from the face nothing changes; no face, no change
    assert torch.allclose(out[:, :, :, 55:], stretch[:, :, :, 55:], atol=1e-4)
    assert flow.rigid_faces(stretch, []) is stretch


def test_rigid_faces_follows_the_face_and_is_differentiable():
    # the whole frame moves 6 px left per new frame: the face region travels with it
    disp = _field(lambda x, y, k: (6.0 * (k + 1) + 0.1 * (x - 10) * (y > 20), torch.zeros_like(x)), n=3)
    disp.requires_grad_(True)
    out = flow.rigid_faces(disp, [(36.0, 20.0, 6.0)])
    # in new frame 2 the face sits near x = 36 - 18 = 18: there the field is now rigid
    f = out[2].detach()
    assert abs(float(f[0, 20, 19] - f[0, 20, 17]) / 2 - float(f[1, 21, 18] - f[1, 19, 18]) / 2) < 0.02
    out.sum().backward()
    assert disp.grad is not None and disp.grad.abs().sum() > 0


def test_hedged_warp_is_the_mean_of_its_hypotheses():
    """One speed is that warp; speeds 0 and 1 are the mean of the held frame and the warp (the
    PSNR-optimal frame when either may come next); two flow sets are averaged together."""
    last = texture(96, 128)
    flows = np.zeros((3, 2, 24, 32), np.float32)
    flows[:, 0] = -0.5
    one = flow.compose_and_warp(last, flows, blur_sigma=1.0)
    assert np.array_equal(flow.hedged_warp(last, [(flows, (1.0,), 1.0)]), one)
    assert all(np.array_equal(o, last) for o in flow.hedged_warp(last, [(flows, (0.0,), 1.0)]))
    mean = (last[None].astype(np.float32) + one) / 2
    assert np.abs(flow.hedged_warp(last, [(flows, (0.0, 1.0), 1.0)]).astype(np.float32) - mean).max() <= 1.0
    both = flow.hedged_warp(last, [(flows, (0.0,), 1.0), (flows, (1.0,), 1.0)])
    assert np.abs(both.astype(np.float32) - mean).max() <= 1.0
    assert flow.hedged_warp(last, [(flows[:0], (0.0, 1.0), 1.0)]).shape == (0, 96, 128, 3)


def test_hedged_warp_samples_like_the_crisp_warp_at_fractional_shifts():
    """OpenCV's remap (the hedge) and grid_sample (the crisp warp) agree at sub-pixel shifts too."""
    last = texture(96, 128)
    flows = np.zeros((3, 2, 24, 32), np.float32)
    flows[:, 0], flows[:, 1] = -0.37, 0.21  # 1.48 and 0.84 full px per frame
    one = flow.compose_and_warp(last, flows, blur_sigma=1.0)
    assert np.abs(flow.hedged_warp(last, [(flows, (1.0,), 1.0)]).astype(int) - one).max() <= 1


def test_hedged_warp_stays_one_path_over_a_long_extension():
    """96 frames of a steady pan from two flow sets that drift apart (one damped): with the cap
    every hypothesis stays near their common mean, so the last frame is one blurred copy of the
    picture (close to the warp at the mean speed), not two copies far apart."""
    last = texture(96, 128)
    steady = np.zeros((96, 2, 24, 32), np.float32)
    steady[:, 0] = -0.05  # 0.2 full px per frame: 19 px after 96 frames
    damped = steady * (0.97 ** np.arange(1, 97, dtype=np.float32))[:, None, None, None]
    hyps = [(steady, (0.0, 0.5, 1.0, 1.5), 0.0), (damped, (0.5, 1.0), 0.0)]
    wide = flow.hedged_warp(last, hyps)[-1].astype(float)
    capped = flow.hedged_warp(last, hyps, spread_cap=0.25)[-1].astype(float)  # 1 full px
    shift = (0.0 + 0.5 + 1.0 + 1.5) / 6 * 19.2 + (0.5 + 1.0) / 6 * 19.2 * np.mean(0.97 ** np.arange(1, 97))
    mean_warp = flow.compose_and_warp(last, steady[-1:] * shift / 19.2 * 96, blur_sigma=0.0)[0].astype(float)
    inner = (slice(10, -10), slice(40, -10))
    assert np.abs(capped - mean_warp)[inner].mean() < np.abs(wide - mean_warp)[inner].mean() / 2


def test_hedged_warp_caps_the_spread_and_keeps_faces_sharp():
    """Speeds 0 and 2 around 1: uncapped, the last frame is the mean of the frame held and moved
    twice as far; capped at 0.25 working px (1 px here), every pixel's two hypotheses are at most
    1 px either side of the mean speed, so the frame is close to the plain warp. Inside a kept
    face region the output is the crisp warp (the mask is flat-topped: within 2 levels near the
    centre)."""
    last = texture(96, 128)
    flows = np.zeros((4, 2, 24, 32), np.float32)
    flows[:, 0] = -0.5  # 2 full px per frame
    crisp = flow.compose_and_warp(last, flows, blur_sigma=0.0)
    wide = flow.hedged_warp(last, [(flows, (0.0, 2.0), 0.0)])
    capped = flow.hedged_warp(last, [(flows, (0.0, 2.0), 0.0)], spread_cap=0.25)
    inner = (slice(None), slice(20, -20), slice(30, -30))
    err = lambda a: float(np.abs(a[-1][inner[1:]].astype(float) - crisp[-1][inner[1:]]).mean())  # noqa: E731
    assert err(capped) < err(wide) / 2
    kept = flow.hedged_warp(last, [(flows, (0.0, 2.0), 0.0)], keep=(flows, 0.0, [], 1.0), keep_regions=[(16, 12, 5)])
    # the face centre (65.5, 49.5) full px moves with the crisp warp: 2 px right per frame, 8 after 4
    face = (-1, slice(46, 54), slice(70, 78))
    assert np.abs(kept[face].astype(int) - crisp[face]).max() <= 2
    assert np.abs(wide[face].astype(int) - crisp[face]).max() > 10
    far = (slice(0, 10), slice(0, 20))
    assert np.array_equal(kept[-1][far], wide[-1][far])
