"""Timelines in and out: read an editor's OTIO (or FCP7 XML / EDL through adapters), plan the
frames each clip needs, and write a new timeline with the generated media (input untouched)."""

from .plan import ClipRequest, Plan, SpecFile, handle_frames, load_spec, parse_spec, plan_timeline
from .read import ClipProblem, TimelineClip, TimelineDoc, read_timeline, resolve_media_url

__all__ = [
    "ClipProblem",
    "ClipRequest",
    "Plan",
    "SpecFile",
    "TimelineClip",
    "TimelineDoc",
    "handle_frames",
    "load_spec",
    "parse_spec",
    "plan_timeline",
    "read_timeline",
    "resolve_media_url",
]
