"""Request values shared by the CLI, the panel and the pipeline; the home of their defaults.

All are frozen dataclasses that round-trip through JSON (``to_json`` / ``from_json``), so a
panel project file, a farm job and a CLI run describe the same work the same way.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .engines.base import EngineSettings
from .errors import UsageError

DEFAULT_ENGINE = "builtin"
DEFAULT_CODEC = "prores"
DEFAULT_HANDLES = 12
DEFAULT_CONTEXT_FRAMES = 48  # source frames read next to the cut (fewer if the shot is shorter)


@dataclass(frozen=True)
class ExtendRequest:
    engine: str = DEFAULT_ENGINE
    settings: EngineSettings = field(default_factory=EngineSettings)
    codec: str = DEFAULT_CODEC
    output_dir: Path | None = None
    banks_dir: Path | None = None  # use these identity banks instead of scanning the shot
    refs: tuple = ()  # ((name, photo path), ...) reference photos added by hand
    context_frames: int | None = None  # None: DEFAULT_CONTEXT_FRAMES, at least the engine's min
    scan_faces: bool = True
    face_backend: str = "dlib"
    protect: tuple = ()  # paths that must never be written (input timelines)

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("output_dir", "banks_dir"):
            if data[key] is not None:
                data[key] = str(data[key])
        data["refs"] = [list(r) for r in self.refs]
        data["protect"] = [str(p) for p in self.protect]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "ExtendRequest":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise UsageError(f"unknown request fields: {', '.join(sorted(unknown))}")
        data = dict(data)
        if "settings" in data and isinstance(data["settings"], dict):
            data["settings"] = EngineSettings(**data["settings"])
        for key in ("output_dir", "banks_dir"):
            if data.get(key) is not None:
                data[key] = Path(data[key])
        data["refs"] = tuple(tuple(r) for r in data.get("refs", ()))
        data["protect"] = tuple(data.get("protect", ()))
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "ExtendRequest":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise UsageError(f"malformed request JSON: {exc}") from None

    def with_settings(self, **changes) -> "ExtendRequest":
        return replace(self, settings=replace(self.settings, **changes))
