"""The context a shot must give is checked per direction before any decoding: an engine whose head
needs more source frames than its tail (LTX: two latents, Wan: one whole latent) refuses a head on
a shot too short for it before a frame is read (review finding: it was refused after decoding).
The real engines are built (no CUDA or weights are needed to state their limits)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from lengthen.config import DEFAULT_CONTEXT_FRAMES, ExtendRequest
from lengthen.engines.base import engine_limits, get_engine
from lengthen.errors import UsageError
from lengthen.media.synthetic import stamped_clip
from lengthen.pipeline import render_shot
from lengthen.progress import SilentProgress
from lengthen.shots import ShotSpec

RATE = Fraction(24)


@pytest.mark.parametrize(("engine", "head_needs"), [("ltx", 9), ("wan-vace", 6)])
def test_limits_state_what_each_direction_needs(engine, head_needs):
    limits = engine_limits(get_engine(engine), RATE, DEFAULT_CONTEXT_FRAMES)
    assert limits.min_context_for("tail") == limits.min_context == 1
    assert limits.min_context_for("head") == head_needs  # at 24 fps: 9 LTX frames, 4 Wan frames at 16 fps
    assert engine_limits(get_engine("motion"), RATE, 8).min_context_for("head") == get_engine("motion").min_context


@pytest.mark.parametrize(("engine", "head_needs"), [("ltx", 9), ("wan-vace", 6)])
def test_a_head_on_a_too_short_shot_is_refused_before_any_decoding(engine, head_needs, tmp_path):
    length = head_needs - 1
    media = stamped_clip(tmp_path / "short.mp4", length, rate=RATE, size=(64, 96))
    spec = ShotSpec(
        clip="short", media=str(media), rate=RATE, first=0, last=length - 1, head_frames=4, clip_id="short"
    )
    out = tmp_path / "out"
    progress = SilentProgress()
    request = ExtendRequest(engine=engine, scan_faces=False, output_dir=out, credentials=False)
    refusal = rf"has {length} frames; engine '{engine}' needs at least {head_needs} for a head"
    with pytest.raises(UsageError, match=refusal):
        render_shot(spec, request, progress)
    assert not any(stage == "decode" for stage, *_ in progress.events), progress.events
    assert not out.exists()
