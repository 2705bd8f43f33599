"""farm.records: errors cross a process boundary as plain dicts and come back as the same lengthen class."""

from __future__ import annotations

import json

from lengthen import errors
from lengthen.farm.records import error_from_dict, error_to_dict


def _round_trip(error):
    return error_from_dict(json.loads(json.dumps(error_to_dict(error))))


def test_errors_come_back_as_their_class_with_where_they_happened():
    back = _round_trip(errors.MediaError("cannot decode", path="/m/a.mov", clip="shot1", frame=7))
    assert type(back) is errors.MediaError
    assert (back.message, str(back.path), back.clip, back.frame) == ("cannot decode", "/m/a.mov", "shot1", 7)
    assert type(_round_trip(errors.Cancelled())) is errors.Cancelled
    assert type(_round_trip(errors.UsageError("bad"))).exit_code == 2
    assert _round_trip(None) is None


def test_other_exceptions_and_unknown_classes_become_engine_errors():
    back = _round_trip(ValueError("boom"))
    assert type(back) is errors.EngineError and back.message == "ValueError: boom"
    assert type(_round_trip(errors.MissingDependency("ray", "farm"))) is errors.EngineError
    unknown = error_from_dict({"type": "SystemExit", "message": "x"})
    assert type(unknown) is errors.EngineError and unknown.message == "x"
