"""Plan a timeline: which frames each clip needs, as :class:`~lengthen.shots.ShotSpec` values.

Every planned shot's ``first``/``last`` is the clip's whole **available** media (media frames
``0..media_frames-1``), or the part of it up to a cut inside the media (below): the engine may
read context anywhere in it, tails are generated after its end and heads before its start. So a
request is always "more media", and handles mode generates exactly the handle frames that are
missing.

Requests per clip, strongest first: an entry for the clip in the spec file, the command line
(``--head/--tail`` or ``--handles``), the spec file's ``default``, then handles mode with
:data:`~lengthen.config.DEFAULT_HANDLES` frames.

Spec file (``--spec SPEC.json``)::

    {"schema": "lengthen.spec", "version": 1,
     "default": {"handles": 12},
     "clips": [{"clip": "A012_C003", "tail": "2s"},
               {"clip": "V1/3", "head": "12f", "tail": 0},
               {"clip": "V2/1", "handles": "1s"},
               {"clip": "Titles", "skip": true}]}

``clip`` is a clip id (``V1/3``: 3rd clip on video track 1, counted bottom up, gaps and
transitions not counted; or ``TRACKNAME/3``) or a clip name (every clip of that name). An entry
holds ``head`` and/or ``tail`` (frames like ``12``/``"12f"`` or seconds ``"2s"`` at the clip's
rate), or ``handles``, or ``"skip": true``, and optionally a ``prompt``: text describing the shot
for the engines that take one (the ``default`` entry's prompt applies to every clip without its
own; an entry with only a prompt keeps the lengths the clip would get otherwise). Id entries win
over name entries.

**Cuts inside the media.** Media often holds more than one shot (pre-edited reels, stock with
cuts). Frames across a cut are not handles: planning looks for cuts near each clip's edges
(:func:`lengthen.media.cuts.shot_bounds`, a colour-histogram detector over the frames within
``max(2 s, the frames asked for)`` of the visible edges, decoded once per clip and cached) and
stops the shot there: ``first`` is the cut before the clip (else 0), ``last`` the frame before the
cut after it (else the media's last). Handles are counted inside the shot, and generated frames
replace the other shot's frames across the cut (a head is generated before ``first``, a tail
after ``last``). The metadata keys ``cut_before``/``cut_after`` say where a cut limited a clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import DEFAULT_HANDLES
from ..errors import UsageError
from ..shots import ShotSpec
from ..timecode import parse_length, rate_str
from .read import ClipProblem, TimelineClip, TimelineDoc

SPEC_SCHEMA = "lengthen.spec"
SPEC_VERSION = 1
_ENTRY_KEYS = {"head", "tail", "handles", "skip", "prompt"}


@dataclass(frozen=True)
class ClipRequest:
    """One request: ``handles`` (frames or a length) or ``head``/``tail`` lengths, or skip."""

    head: str | int | None = None
    tail: str | int | None = None
    handles: str | int | None = None
    skip: bool = False
    prompt: str | None = None  # the shot described for the GPU engines (not a length: ``empty`` ignores it)

    def __post_init__(self) -> None:
        if self.handles is not None and (self.head is not None or self.tail is not None):
            raise UsageError("a request gives either handles or head/tail lengths, not both")

    @property
    def empty(self) -> bool:
        return self.head is None and self.tail is None and self.handles is None and not self.skip

    @classmethod
    def from_entry(cls, entry: dict, where: str) -> "ClipRequest":
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: expected an object, got {type(entry).__name__}")
        unknown = set(entry) - _ENTRY_KEYS - {"clip"}
        if unknown:
            raise UsageError(
                f"{where}: unknown keys {', '.join(sorted(unknown))} "
                "(allowed: clip, head, tail, handles, skip, prompt)"
            )
        prompt = entry.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise UsageError(f"{where}: 'prompt' must be text, got {type(prompt).__name__}")
        skip = entry.get("skip", False)
        if not isinstance(skip, bool):
            raise UsageError(f"{where}: 'skip' is true or false, not {skip!r}")
        for key in ("head", "tail", "handles"):
            value = entry.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, str))):
                raise UsageError(f'{where}: {key!r} is a length like 12, "12f" or "2s", not {value!r}')
        try:
            return cls(
                entry.get("head"),
                entry.get("tail"),
                entry.get("handles"),
                skip,
                (prompt or "").strip() or None,
            )
        except UsageError as exc:
            raise UsageError(f"{where}: {exc.message}") from None


@dataclass(frozen=True)
class SpecFile:
    default: ClipRequest = field(default_factory=ClipRequest)
    clips: tuple = ()  # ((clip key, ClipRequest), ...)
    path: Path | None = None


def load_spec(path) -> SpecFile:
    """Read and validate a spec file; UsageError naming the file and entry on anything wrong."""
    from ..guards import read_json

    path = Path(path)
    data = read_json(path, "spec file", UsageError)  # a regular file, size and depth checked, no NaN
    return parse_spec(data, path)


def parse_spec(data, path: Path | None = None) -> SpecFile:
    def fail(msg: str):
        raise UsageError(msg, path=path)

    if not isinstance(data, dict):
        fail("a spec file is a JSON object with schema, version and clips")
    if data.get("schema") != SPEC_SCHEMA:
        fail(f"unknown schema {data.get('schema')!r}; expected {SPEC_SCHEMA!r}")
    if data.get("version") != SPEC_VERSION:
        fail(f"unsupported {SPEC_SCHEMA} version {data.get('version')!r}; this lengthen reads version {SPEC_VERSION}")
    unknown = set(data) - {"schema", "version", "default", "clips"}
    if unknown:
        fail(f"unknown keys {', '.join(sorted(unknown))}")
    try:
        default = ClipRequest.from_entry(data.get("default") or {}, "default")
        clips = data.get("clips", [])
        if not isinstance(clips, list):
            fail("'clips' must be a list")
        entries = []
        for i, entry in enumerate(clips):
            key = entry.get("clip") if isinstance(entry, dict) else None
            if not isinstance(key, str) or not key:
                fail(f"clips[{i}]: every entry needs a 'clip' (a name or an id like V1/3)")
            entries.append((key, ClipRequest.from_entry(entry, f"clips[{i}] ({key})")))
    except UsageError as exc:
        if exc.path is None:
            exc = UsageError(exc.message, path=path)
        raise exc from None
    return SpecFile(default=default, clips=tuple(entries), path=path)


@dataclass
class Plan:
    shots: list[ShotSpec]
    problems: list[ClipProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def to_render(self) -> list[ShotSpec]:
        return [s for s in self.shots if s.directions]

    def to_dict(self) -> dict:
        return {
            "shots": [shot_summary(s) for s in self.shots],
            "skipped": [p.to_dict() for p in self.problems],
            "warnings": list(self.warnings),
        }


def shot_summary(spec: ShotSpec) -> dict:
    return {
        "clip": spec.clip,
        "clip_id": spec.clip_id,
        "track": spec.track,
        "media": spec.media,
        "rate": rate_str(spec.rate),
        "head_frames": spec.head_frames,
        "tail_frames": spec.tail_frames,
        "seconds": round(float((spec.head_frames + spec.tail_frames) / spec.rate), 3),
        "mode": spec.metadata.get("mode"),
        "shot_first": spec.first,
        "shot_last": spec.last,
        "cut_before": spec.metadata.get("cut_before"),
        "cut_after": spec.metadata.get("cut_after"),
    }


def cut_note(spec: ShotSpec) -> str:
    """ "head: cut at 65; tail: cut at 185", or "" when no cut inside the media limits the clip."""
    m = spec.metadata
    sides = (("head", "cut_before"), ("tail", "cut_after"))
    return "; ".join(f"{side}: cut at {m[key]}" for side, key in sides if m.get(key) is not None)


def _match(spec_file: SpecFile, clips: list[TimelineClip]) -> dict[str, ClipRequest]:
    """clip_id -> request from the spec file's entries (ids win over names)."""
    by_id, by_name = {}, {}
    for key, req in spec_file.clips:
        hits = [c for c in clips if key == c.clip_id or key == f"{c.track}/{c.clip_id.split('/')[1]}"]
        target = by_id
        if not hits:
            hits = [c for c in clips if c.name == key]
            target = by_name
        if not hits:
            raise UsageError(
                f"the spec names clip {key!r}, which is not a usable clip of the timeline "
                f"(clips: {', '.join(sorted({c.name for c in clips}))})",
                path=spec_file.path,
            )
        for c in hits:
            if c.clip_id in target:
                raise UsageError(f"clip {c.name!r} ({c.clip_id}) is listed twice in the spec", path=spec_file.path)
            target[c.clip_id] = req
    return {**by_name, **by_id}


def plan_timeline(
    doc: TimelineDoc, *, head=None, tail=None, handles=None, spec: SpecFile | None = None, cuts: bool = True
) -> Plan:
    """The plan for every usable clip of ``doc`` (clips with nothing to make get 0 and 0).
    ``cuts``: look for cuts inside the media near each clip's edges (see the module doc)."""
    command_line = ClipRequest(head=head, tail=tail, handles=handles)
    spec = spec or SpecFile()
    per_clip = _match(spec, doc.clips)
    fallback = next((r for r in (command_line, spec.default) if not r.empty), ClipRequest(handles=DEFAULT_HANDLES))
    plan = Plan(shots=[], problems=list(doc.problems), warnings=list(doc.warnings))
    for clip in doc.clips:
        request = per_clip.get(clip.clip_id, fallback)
        if request.skip:
            continue
        if request.empty:  # an entry with only a prompt: the lengths the clip would get otherwise
            request = replace(fallback, prompt=request.prompt)
        if request.prompt is None and spec.default.prompt:
            request = replace(request, prompt=spec.default.prompt)
        try:
            bounds = None
            if cuts:
                bounds, warning = _find_bounds(clip, request)
                if warning:
                    plan.warnings.append(warning)
            plan.shots.append(plan_clip(clip, request, bounds))
        except UsageError as exc:
            raise UsageError(exc.message, clip=clip.name) from None
    return plan


def _find_bounds(clip: TimelineClip, request: ClipRequest) -> tuple[dict | None, str | None]:
    """(shot bounds, None) for ``clip``, or (None, warning) when its media cannot be decoded."""
    from ..errors import LengthenError
    from ..media.cuts import shot_bounds

    asked = [parse_length(v, clip.rate) for v in (request.handles, request.head, request.tail) if v is not None]
    window = max([round(2 * clip.rate), *asked])
    try:
        return shot_bounds(clip.media, clip.vis_first, clip.vis_last, clip.media_frames, window), None
    except LengthenError as exc:
        return None, f"clip {clip.name!r} ({clip.clip_id}): cuts inside the media not checked: {exc}"


def handle_frames(clip: TimelineClip, handles: int, bounds: tuple[int, int] | None = None) -> tuple[int, int]:
    """(head, tail) frames missing for ``handles`` frames beyond what the timeline shows.

    Needed media: ``vis_first - handles .. vis_last + handles`` (visible range includes
    transitions); existing media of this shot: ``bounds`` (first, last), by default the whole
    media ``0 .. media_frames - 1`` (a cut inside the media narrows it, see :func:`plan_clip`).
    """
    first, last = bounds if bounds is not None else (0, clip.media_frames - 1)
    head = max(0, handles - (clip.vis_first - first))
    tail = max(0, clip.vis_last + handles - last)
    return head, tail


def plan_clip(clip: TimelineClip, request: ClipRequest, bounds: dict | None = None) -> ShotSpec:
    """The shot for ``clip``; ``bounds`` (from :func:`lengthen.media.cuts.shot_bounds`) stops it
    at cuts inside the media, else it spans the whole media."""
    first, last = (bounds["first"], bounds["last"]) if bounds else (0, clip.media_frames - 1)
    cut_meta = (
        {"cut_before": bounds["cut_before"], "cut_after": bounds["cut_after"], "cut_window": bounds["window"]}
        if bounds
        else {}
    )
    if request.handles is not None:
        n = parse_length(request.handles, clip.rate)
        head, tail = handle_frames(clip, n, (first, last))
        mode = {"mode": "handles", "handles": n}
    else:
        head = parse_length(request.head, clip.rate) if request.head is not None else 0
        tail = parse_length(request.tail, clip.rate) if request.tail is not None else 0
        mode = {"mode": "lengths"}
    return ShotSpec(
        clip=clip.name,
        media=str(clip.media),
        rate=clip.rate,
        prompt=request.prompt,
        first=first,
        last=last,
        head_frames=head,
        tail_frames=tail,
        start_timecode=clip.start_timecode,
        track=clip.track,
        clip_id=clip.clip_id,
        timeline_in=clip.timeline_in,
        timeline_out=clip.timeline_out,
        timeline_rate=clip.timeline_rate,
        metadata={
            **mode,
            "source_first": clip.src_first,
            "source_last": clip.src_last,
            "visible_first": clip.vis_first,
            "visible_last": clip.vis_last,
            "avail_start": clip.avail_start,
            "track_index": clip.track_index,
            "item_index": clip.item_index,
            **cut_meta,
        },
    )
