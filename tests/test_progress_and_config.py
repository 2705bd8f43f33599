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
        settings=EngineSettings(quality="draft", candidates=3, seed=9, attention="sage"),
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


def test_build_request_is_the_one_home_of_defaults(tmp_path, testdata):
    from lengthen.config import DEFAULT_CODEC, DEFAULT_ENGINE, DEFAULT_QUALITY, build_request

    req = build_request(quality=None, seed=None, candidates=None, codec=None, engine=None)
    assert (req.engine, req.codec, req.settings.quality, req.settings.seed) == (
        DEFAULT_ENGINE,
        DEFAULT_CODEC,
        DEFAULT_QUALITY,
        0,
    )
    assert req == ExtendRequest()  # nothing asked: exactly the dataclass defaults
    photo = testdata / "images" / "skimage__astronaut.png"
    req = build_request(refs=[f"Ann={photo}"], quality="draft", attention="sage", seed=3, protect=[tmp_path])
    assert req.refs == (("Ann", str(photo)),) and req.settings.attention == "sage" and req.settings.seed == 3
    assert req.protect == (str(tmp_path),)
    for bad, match in (
        ({"refs": ["Ann"]}, "NAME=PHOTO"),
        ({"refs": [f"Ann={tmp_path / 'none.jpg'}"]}, "reference photo not found"),
        ({"banks_dir": tmp_path / "nope"}, "identity bank folder not found"),
        ({"codec": "gif"}, "unknown codec"),
        ({"colour": 1}, "unknown engine settings"),
        ({"conform": "squash"}, "conform must be"),
    ):
        with pytest.raises(UsageError, match=match):
            build_request(**bad)


def test_engine_settings_from_an_old_options_dict():
    s = EngineSettings.from_dict({"quality": "draft", "options": {"attention": "flash", "adapt_steps": 5}})
    assert (s.quality, s.attention, s.adapt_steps) == ("draft", "flash", 5)
    with pytest.raises(UsageError, match="unknown engine settings: warp"):
        EngineSettings.from_dict({"options": {"warp": 9}})
