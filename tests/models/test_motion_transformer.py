"""MotionTransformer on a tiny config: shapes, freeze at init, direction, identity branch, save/load."""

from __future__ import annotations

import pytest
import torch

from lengthen.identity.encoder import IdentityEncoder
from lengthen.models.motion_transformer import HEAD, TAIL, MotionTransformer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(patch_size=4, width=32, num_blocks=2, num_heads=2, identity_dim=24, flow_scale=2.0)


def perturbed(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every (also zero-initialised) weight a random value, as if trained."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return model


def inputs(b=2, f=5, h=12, w=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    flows = torch.randn((b, f, 2, h, w), generator=g)
    rgb = torch.rand((b, f, 3, h, w), generator=g) * 2 - 1
    sigma = torch.rand((b,), generator=g)
    tokens = torch.randn((7, 24), generator=g)
    return flows, rgb, sigma, tokens


def test_shapes_and_untrained_model_predicts_exactly_zero_flow():
    torch.manual_seed(0)
    model = MotionTransformer(**TINY)
    flows, rgb, sigma, tokens = inputs()
    out = model(flows, rgb, sigma, num_context=3, direction=TAIL, identity_tokens=tokens, identity_strength=0.8)
    assert out.shape == (2, 2, 2, 12, 16)
    assert torch.count_nonzero(out) == 0
    # a different number of context frames and a batch of per-sample directions
    out = model(flows, rgb, sigma, num_context=1, direction=torch.tensor([TAIL, HEAD]))
    assert out.shape == (2, 4, 2, 12, 16)


def test_bad_sizes_are_rejected():
    model = MotionTransformer(**TINY)
    flows, rgb, sigma, _ = inputs(h=10)
    with pytest.raises(ValueError, match="multiple of the patch size"):
        model(flows, rgb, sigma, num_context=2)
    flows, rgb, sigma, _ = inputs()
    with pytest.raises(ValueError, match="num_context"):
        model(flows, rgb, sigma, num_context=5)


def test_direction_changes_the_prediction_of_a_trained_model():
    torch.manual_seed(0)
    model = perturbed(MotionTransformer(**TINY))
    flows, rgb, sigma, _ = inputs()
    tail = model(flows, rgb, sigma, num_context=3, direction=TAIL)
    head = model(flows, rgb, sigma, num_context=3, direction=HEAD)
    assert torch.isfinite(tail).all()
    assert (tail - head).abs().max() > 1e-3


def test_identity_strength_zero_makes_the_identity_branch_exactly_inert():
    torch.manual_seed(0)
    model = perturbed(MotionTransformer(**TINY))
    flows, rgb, sigma, tokens = inputs()
    without = model(flows, rgb, sigma, num_context=3)
    off = model(flows, rgb, sigma, num_context=3, identity_tokens=tokens, identity_strength=0.0)
    on = model(flows, rgb, sigma, num_context=3, identity_tokens=tokens, identity_strength=0.8)
    assert torch.equal(off, without)
    assert (on - without).abs().max() > 1e-3
    # batched tokens (B, M, D) equal to the shared ones give the same result
    batched = model(flows, rgb, sigma, num_context=3, identity_tokens=tokens.expand(2, -1, -1), identity_strength=0.8)
    assert torch.allclose(batched, on, atol=1e-5)


def test_identity_tokens_from_the_encoder_drive_the_model():
    torch.manual_seed(0)
    model = perturbed(MotionTransformer(**TINY))
    encoder = IdentityEncoder(face_dim=16, width=24, num_tokens=3, num_heads=2)
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn((5, 16), generator=g), torch.randn((4, 16), generator=g)
    flows, rgb, sigma, _ = inputs()
    out_a = model(flows, rgb, sigma, 3, identity_tokens=encoder([a]), identity_strength=1.0)
    out_b = model(flows, rgb, sigma, 3, identity_tokens=encoder([b]), identity_strength=1.0)
    assert (out_a - out_b).abs().max() > 1e-4
    tokens = encoder([a, b])
    model(flows, rgb, sigma, 3, identity_tokens=tokens).square().mean().backward()
    assert encoder.queries.grad is not None and encoder.queries.grad.abs().sum() > 0


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = perturbed(MotionTransformer(**TINY))
    model.save_pretrained(tmp_path / "motion")
    loaded = MotionTransformer.from_pretrained(tmp_path / "motion", low_cpu_mem_usage=False)
    public = lambda cfg: {k: v for k, v in cfg.items() if not k.startswith("_")}  # noqa: E731
    assert public(loaded.config) == public(model.config)
    flows, rgb, sigma, tokens = inputs()
    args = (flows, rgb, sigma, 3, HEAD, tokens, 0.5)
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name
    assert torch.allclose(model.eval()(*args), loaded.eval()(*args), atol=1e-6)
