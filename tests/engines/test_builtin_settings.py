"""BuiltinSettings: presets, overrides and validation."""

from __future__ import annotations

import numpy as np
import pytest

from lengthen.engines.builtin_settings import PRESETS, BuiltinSettings
from lengthen.errors import UsageError


def test_presets_are_valid_and_ordered_by_cost():
    for name in ("draft", "normal", "high", "tiny"):
        s = BuiltinSettings.preset(name)
        assert s.quality == name and s.work_width % s.patch_size == 0
    draft, normal, high = (PRESETS[n] for n in ("draft", "normal", "high"))
    assert draft.adapt_seconds < normal.adapt_seconds < high.adapt_seconds
    assert draft.width * draft.num_blocks < normal.width * normal.num_blocks < high.width * high.num_blocks
    assert normal.work_width == 160 and normal.width == 128 and normal.num_blocks == 4
    assert normal.sample_steps == 1 and normal.lr == 1e-3 and normal.warmup_steps == 20
    assert all(
        PRESETS[n].prior == "motion" and PRESETS[n].rigid_faces for n in PRESETS
    )  # what the engine is measured with
    assert PRESETS["tiny"].adapt_seconds is None and PRESETS["tiny"].adapt_steps


def test_overrides_and_round_trip():
    s = BuiltinSettings.preset("draft", adapt_seconds=5.0, seed=3)
    assert s.adapt_seconds == 5.0 and s.seed == 3 and s.width == PRESETS["draft"].width
    assert BuiltinSettings(**s.to_dict()) == s
    assert s.context_needed == s.window_span + 1


@pytest.mark.parametrize(
    "bad",
    [
        dict(work_width=150),
        dict(width=100, num_heads=3),
        dict(adapt_seconds=None, adapt_steps=None),
        dict(crop_fraction=0.0),
        dict(reverse_fraction=1.5),
        dict(sample_steps=0),
        dict(identity_strength=-1),
        dict(adapt_steps=-2),
        dict(threads=-1),
        dict(prior="learned"),
        dict(motion_damping=0.0),
        dict(identity_grad_ratio=-1),
        dict(sigma_one_fraction=1.5),
        dict(hedge_raw_scales=()),
        dict(hedge_motion_scales=(-0.5, 1.0)),
        dict(hedge_spread_cap=0.0),
        dict(hedge_margin_db=-1.0),
        dict(hedge_face_radius=0.0),
    ],
)
def test_bad_values_are_usage_errors(bad):
    with pytest.raises(UsageError, match="built-in engine settings"):
        BuiltinSettings.preset("normal", **bad)


def test_unknown_preset_names_the_choices():
    with pytest.raises(UsageError, match="draft, normal, high, tiny"):
        BuiltinSettings.preset("ultra")


def test_thread_count_is_applied_and_restored():
    import torch

    from lengthen.engines.sample import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(0):
        assert torch.get_num_threads() == before


def test_adapt_steps_option_gives_a_load_independent_budget():
    """`--adapt-steps N` (extend, timeline, evaluate): exactly N steps, the quality's time box dropped."""
    import argparse

    from lengthen.commands.extend import add_engine_options, build_request
    from lengthen.engines.base import GenerateRequest
    from lengthen.engines.builtin import BuiltinEngine

    p = argparse.ArgumentParser()
    add_engine_options(p)
    args = p.parse_args(["--quality", "draft", "--adapt-steps", "7"])
    req = build_request(args, "out")
    assert req.settings.adapt_steps == 7
    ctx = np.zeros((4, 8, 8, 3), np.uint8)
    gen = GenerateRequest(context=ctx, direction="tail", frames=1, rate=24, settings=req.settings)
    preset = BuiltinEngine().preset(gen)
    assert preset.adapt_steps == 7 and preset.adapt_seconds is None and preset.quality == "draft"
    boxed = build_request(p.parse_args(["--quality", "draft"]), "out").settings
    gen = GenerateRequest(context=ctx, direction="tail", frames=1, rate=24, settings=boxed)
    assert BuiltinEngine().preset(gen).adapt_seconds == PRESETS["draft"].adapt_seconds


def test_the_test_preset_ships_nowhere():
    """``tiny`` comes from tests/tiny_presets.py: a fresh process knows only the shipped qualities."""
    import json
    import subprocess
    import sys

    from lengthen.paths import RESOURCES

    code = (
        "from lengthen.config import qualities; from lengthen.engines.builtin_settings import PRESETS; "
        "from lengthen.cli import main; print(qualities(), sorted(PRESETS)); main(['extend', '--help'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False).stdout
    assert "('draft', 'normal', 'high') ['draft', 'high', 'normal']" in out and "tiny" not in out
    doc = json.loads((RESOURCES / "models.json").read_text())
    assert all("tiny" not in p.get("qualities", {}) for p in doc["presets"])
