"""The test-only quality ``tiny``: the smallest settings that still run every part of the real
engines (a 32 px working width, two blocks, ten adaptation steps; diffusers windows of a few
frames at 1024 px). It ships nowhere: the suite registers it (tests/conftest.py), and a CLI run
in a subprocess gets it through tests/run_lengthen.py."""

from __future__ import annotations

GPU_TINY = {  # preset name -> the tiny quality's window/context/area/steps/guidance
    "wan-vace": {"area": 1024, "steps": 2, "guidance": 1.0, "window": 13, "context": 5},
    "wan-vace-14b": {"area": 1024, "steps": 2, "guidance": 1.0, "window": 13, "context": 5},
    "ltx": {"area": 1024, "steps": 2, "guidance": 1.0, "window": 25, "context": 9},
    "skyreels-df": {"area": 1024, "steps": 2, "guidance": 1.0, "window": 9, "context": 5, "min_context": 5},
}


def register() -> None:
    from lengthen.engines import presets
    from lengthen.engines.builtin_settings import BuiltinSettings, register_preset

    register_preset(
        BuiltinSettings(
            quality="tiny",
            work_width=32,
            flow_source_width=64,
            width=32,
            num_blocks=2,
            num_heads=2,
            identity_tokens=2,
            context_frames=2,
            target_frames=2,
            batch_size=2,
            window_span=16,
            crop_fraction=1.0,
            warmup_steps=2,
            adapt_seconds=None,
            adapt_steps=10,
            identity_every=1,
            face_width=64,
            warp_blur_sigma=0.0,
            threads=1,
            motion_damping=0.95,
            always_adapt=True,  # tiny tests the machinery: it always adapts
        )
    )
    for name, values in GPU_TINY.items():
        presets.register_quality(name, "tiny", values)
