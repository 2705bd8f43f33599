"""Request values shared by the CLI, the panel and the pipeline; the home of their defaults.

All are frozen dataclasses that round-trip through JSON (``to_json`` / ``from_json``), so a
panel project file, a farm job and a CLI run describe the same work the same way.
:func:`build_request` is how every front end (CLI, panel, evaluate, farm) makes an
:class:`ExtendRequest`: an argument left at ``None`` takes the default written here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .errors import UsageError

DEFAULT_ENGINE = "builtin"
DEFAULT_CODEC = "prores"
DEFAULT_HANDLES = 12
DEFAULT_CONTEXT_FRAMES = 48  # source frames read next to the cut (fewer if the shot is shorter)
DEFAULT_QUALITY = "normal"
DEFAULT_IDENTITY_STRENGTH = 0.8
DEFAULT_FACE_BACKEND = "dlib"
QUALITIES = ("draft", "normal", "high")  # what users choose; tests may register smaller ones
CODECS = ("prores", "dnxhr", "dnxhr-hqx", "h264")  # keys of lengthen.media.writer.CODECS
CONFORMS = ("flow", "nearest")  # see engines/grid.py: motion-compensated, or the nearest model frame
_EXTRA_QUALITIES: list[str] = []


def register_quality(name: str) -> None:
    """Accept one more quality name (the test suite's ``tiny``, tests/tiny_presets.py); the engines
    must know it too (``builtin_settings.register_preset``, ``presets.register_quality``)."""
    if name not in _EXTRA_QUALITIES:
        _EXTRA_QUALITIES.append(name)


def qualities() -> tuple[str, ...]:
    """The quality names accepted here: the shipped ones and any registered."""
    return (*QUALITIES, *_EXTRA_QUALITIES)


@dataclass(frozen=True)
class EngineSettings:
    """Settings every engine understands, and the typed extras some engines read."""

    quality: str = DEFAULT_QUALITY
    candidates: int = 1  # best-of-N: N samplings (seeds seed..seed+N-1) of one adaptation
    identity_strength: float = DEFAULT_IDENTITY_STRENGTH
    seed: int = 0
    model_path: str | None = None
    prompt: str | None = None
    device: str | None = None  # None: CUDA when present, else CPU
    dtype: str | None = None  # "bf16" | "fp16" | "fp32"; None: the engine's default for the device
    offload: str | None = None  # "model" | "sequential" | "group"
    vae_tiling: bool = False
    steps: int | None = None  # sampling steps; None: the engine/preset default
    allow_download: bool = False
    # engine-specific (typed; None = the engine's own default)
    attention: str | None = None  # diffusers engines: attention backend (native, flash, sage, ...)
    preset: str | None = None  # diffusers engines: model preset name (default: the engine's)
    conform: str = "flow"  # diffusers engines: how a model-rate result is brought to the shot's rate
    max_references: int = 3  # wan-vace: reference images from the banks
    addnoise_condition: float = 20.0  # skyreels-df: noise added to the conditioning frames
    adapt_steps: int | None = None  # builtin: exact adaptation steps (tests, benchmarks); None: the budget
    adapt_seconds: float | None = None  # builtin: adaptation time budget; None: the quality's

    def __post_init__(self) -> None:
        if self.quality not in qualities():
            raise UsageError(f"unknown quality {self.quality!r}; choose one of {', '.join(QUALITIES)}")
        if self.candidates < 1:
            raise UsageError("--candidates must be at least 1")
        if not 0.0 <= self.identity_strength <= 2.0:
            raise UsageError("--identity-strength must be between 0 and 2")
        if self.conform not in CONFORMS:
            raise UsageError(f"conform must be one of {', '.join(CONFORMS)}, not {self.conform!r}")

    @classmethod
    def from_dict(cls, data: dict) -> "EngineSettings":
        """From JSON (a project file, a farm job); an old ``options`` dict becomes the typed fields."""
        data = dict(data)
        data.update(data.pop("options", None) or {})
        _check_setting_names(data)
        return cls(**data)


def _check_setting_names(names) -> None:
    unknown = set(names) - {f.name for f in fields(EngineSettings)}
    if unknown:
        raise UsageError(f"unknown engine settings: {', '.join(sorted(unknown))}")


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
    face_backend: str = DEFAULT_FACE_BACKEND
    protect: tuple = ()  # paths that must never be written (input timelines)
    audio: bool = True  # continue the source's sound under generated frames (when it has sound)
    credentials: bool = True  # embed C2PA Content Credentials (needs the `credentials` extra)
    c2pa_cert: str | None = None  # PEM certificate chain; None: env vars, config file or the local test identity
    c2pa_key: str | None = None

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
            data["settings"] = EngineSettings.from_dict(data["settings"])
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


def build_request(
    *,
    engine: str | None = None,
    output_dir=None,
    banks_dir=None,
    refs=(),
    scan_faces: bool = True,
    face_backend: str | None = None,
    codec: str | None = None,
    context_frames: int | None = None,
    protect=(),
    settings: EngineSettings | None = None,
    audio: bool = True,
    c2pa_cert=None,
    c2pa_key=None,
    **setting_changes,
) -> ExtendRequest:
    """The one way front ends make a request. ``None`` means the default above; ``setting_changes``
    are :class:`EngineSettings` fields (``quality``, ``seed``, ``candidates``, ...) applied to
    ``settings`` (default: the defaults), a ``None`` value keeping the default. Checks what can
    be checked before any work: ``refs`` as ``NAME=PHOTO`` strings or (name, photo) pairs whose
    photo exists, a banks folder that exists, a known codec, a C2PA certificate and key that load
    and belong together."""
    refs_out = []
    for item in refs:
        if isinstance(item, str):
            name, sep, photo = item.partition("=")
            if not sep or not name or not photo:
                raise UsageError(f"--ref takes NAME=PHOTO, got {item!r}")
        else:
            name, photo = item
        from .guards import check_regular_file

        check_regular_file(photo, "reference photo")  # exists, a regular file (never a FIFO), not empty
        refs_out.append((str(name), str(photo)))
    if banks_dir is not None and not Path(banks_dir).is_dir():
        raise UsageError("identity bank folder not found", path=banks_dir)
    codec = codec or DEFAULT_CODEC
    if codec not in CODECS:
        raise UsageError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    _check_setting_names(setting_changes)
    changes = {k: v for k, v in setting_changes.items() if v is not None}
    if c2pa_cert or c2pa_key:
        from .credentials import resolve_signer

        resolve_signer(c2pa_cert, c2pa_key)  # files, key type and pairing, before any work
    return ExtendRequest(
        engine=engine or DEFAULT_ENGINE,
        settings=replace(settings or EngineSettings(), **changes),
        codec=codec,
        output_dir=Path(output_dir) if output_dir is not None else None,
        banks_dir=Path(banks_dir) if banks_dir is not None else None,
        refs=tuple(refs_out),
        context_frames=context_frames,
        scan_faces=scan_faces,
        face_backend=face_backend or DEFAULT_FACE_BACKEND,
        protect=tuple(str(p) for p in protect),
        audio=audio,
        c2pa_cert=str(Path(c2pa_cert).resolve()) if c2pa_cert else None,
        c2pa_key=str(Path(c2pa_key).resolve()) if c2pa_key else None,
    )
