"""Plain JSON for what crosses a process or machine boundary: shots, requests and outcomes.

Outcomes travel as dicts (never as pickled exceptions: an error becomes its class name, message
and where, and is rebuilt as the same :mod:`lengthen.errors` class on the other side).
"""

from __future__ import annotations

from pathlib import Path

from .. import errors as _errors
from ..config import ExtendRequest
from ..errors import LengthenError
from ..shots import ShotSpec
from ..timecode import parse_rate


def spec_to_dict(spec: ShotSpec) -> dict:
    from ..timeline.metadata import jsonable

    return jsonable(spec.to_dict())


def spec_from_dict(data: dict) -> ShotSpec:
    data = dict(data)
    data["rate"] = parse_rate(data["rate"])
    if data.get("timeline_rate") is not None:
        data["timeline_rate"] = parse_rate(data["timeline_rate"])
    return ShotSpec(**data)


def request_to_dict(request: ExtendRequest) -> dict:
    from ..timeline.metadata import jsonable

    return jsonable(request.to_dict())


def request_from_dict(data: dict) -> ExtendRequest:
    return ExtendRequest.from_dict(data)


def error_to_dict(error: BaseException | None) -> dict | None:
    if error is None:
        return None
    if isinstance(error, LengthenError):
        return {
            "type": type(error).__name__,
            "message": error.message,
            "path": str(error.path) if error.path is not None else None,
            "clip": error.clip,
            "frame": error.frame,
        }
    return {"type": "EngineError", "message": f"{error.__class__.__name__}: {error}", "path": None, "clip": None}


def error_from_dict(data: dict | None) -> LengthenError | None:
    if data is None:
        return None
    cls = getattr(_errors, data.get("type", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, LengthenError)) or cls is _errors.MissingDependency:
        cls = _errors.EngineError  # an unknown class, or one whose attributes are not carried over
    error = cls.__new__(cls)
    LengthenError.__init__(
        error, data.get("message", ""), path=data.get("path"), clip=data.get("clip"), frame=data.get("frame")
    )
    return error


def generated_to_dict(gen) -> dict:
    """One GeneratedMedia as plain JSON (farm records and the panel's project file)."""
    from ..timeline.metadata import jsonable

    return {
        "direction": gen.direction,
        "path": str(gen.path),
        "frames": gen.frames,
        "source_first_frame": gen.source_first_frame,
        "start_timecode": gen.start_timecode,
        "metadata": jsonable(gen.metadata),
    }


def generated_from_dict(data: dict):
    from ..pipeline import GeneratedMedia

    return GeneratedMedia(
        direction=data["direction"],
        path=Path(data["path"]),
        frames=int(data["frames"]),
        source_first_frame=int(data["source_first_frame"]),
        start_timecode=data["start_timecode"],
        metadata=dict(data.get("metadata", {})),
    )


def outcome_to_dict(outcome) -> dict:
    from ..timeline.metadata import jsonable

    return {
        "clip": outcome.spec.clip,
        "clip_id": outcome.spec.clip_id,
        "generated": [generated_to_dict(g) for g in outcome.generated],
        "report": jsonable(outcome.report),
        "error": error_to_dict(outcome.error),
    }


def outcome_from_dict(spec: ShotSpec, data: dict):
    """A ShotOutcome for ``spec`` (the current plan's spec: placement comes from it) from its dict."""
    from ..pipeline import ShotOutcome

    generated = [generated_from_dict(g) for g in data.get("generated", [])]
    return ShotOutcome(
        spec=spec, generated=generated, report=dict(data.get("report", {})), error=error_from_dict(data.get("error"))
    )


def move_outcome(outcome, moves: dict[Path, Path]):
    """The outcome with its media paths (and the report's) renamed by ``moves``."""
    text = {str(a): str(b) for a, b in moves.items()}
    for g in outcome.generated:
        new = moves.get(Path(g.path))
        if new is not None:
            g.path = new
    for d in outcome.report.get("directions", {}).values():
        if d.get("media") in text:
            d["media"] = text[d["media"]]
    return outcome


__all__ = [
    "error_from_dict",
    "error_to_dict",
    "generated_from_dict",
    "generated_to_dict",
    "move_outcome",
    "outcome_from_dict",
    "outcome_to_dict",
    "request_from_dict",
    "request_to_dict",
    "spec_from_dict",
    "spec_to_dict",
]
