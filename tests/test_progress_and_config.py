import io
import json

import pytest

from lengthen.config import ExtendRequest
from lengthen.engines.base import EngineSettings
from lengthen.errors import Cancelled, UsageError
from lengthen.progress import SilentProgress, TerminalProgress


def test_terminal_progress_writes_stage_changes_and_ends_but_throttles_steps():
    out = io.StringIO()
    p = TerminalProgress(out)
    for i in range(50):
        p.report("adapt", i, 50)
    p.report("adapt", 50, 50)
    p.report("encode", 1, 2)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("adapt: 0/50") and any(line.startswith("adapt: 50/50") for line in lines)
    assert lines[-1].startswith("encode: 1/2") and len(lines) == 3


def test_cancel_is_seen_at_the_next_check():
    p = SilentProgress()
    p.check()
    p.cancel()
    with pytest.raises(Cancelled):
        p.check()


def test_request_json_round_trip():
    req = ExtendRequest(
        engine="motion",
        settings=EngineSettings(quality="draft", candidates=3, seed=9, options={"attention": "sage"}),
        refs=(("Ann", "/x/ann.jpg"),),
        context_frames=32,
    )
    again = ExtendRequest.from_json(req.to_json())
    assert again == req
    assert json.loads(req.to_json())["settings"]["candidates"] == 3


@pytest.mark.parametrize("bad", ['{"engine": "x", "colour": 1}', "{not json"])
def test_request_json_rejects_unknown_fields_and_bad_json(bad):
    with pytest.raises(UsageError):
        ExtendRequest.from_json(bad)


@pytest.mark.parametrize("kw", [{"quality": "ultra"}, {"candidates": 0}, {"identity_strength": -1}])
def test_engine_settings_validate(kw):
    with pytest.raises(UsageError):
        EngineSettings(**kw)
