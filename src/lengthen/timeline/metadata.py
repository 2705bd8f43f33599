"""Our marks on generated clips: one versioned metadata key, a marker, a colour and a name suffix.

Everything written is plain JSON (str, int, float, bool, None, lists and string-keyed dicts) so a
reader without lengthen installed opens the file. Layout of ``metadata["lengthen"]``::

    {"schema_version": 1, "color": "MAGENTA", "direction": "tail", "frames_generated": 24,
     "engine": "...", "model": "...", "seed": 0, "banks": [...], "scores": {...},
     "source_clip": "...", "source_clip_id": "V1/2", "source_track": "V1", "source_media": "...",
     "media": "...", "timecode": "01:00:10:00", "source_first_frame": 240, ...}
"""

from __future__ import annotations

import math
from pathlib import Path

SCHEMA_VERSION = 1
KEY = "lengthen"
MARKER_NAME = "lengthen: generated"
COLOR = "MAGENTA"  # OTIO MarkerColor name, also the clip colour
TRACK_NAME = "LENGTHEN"


def suffix(directions) -> str:
    """The name suffix of a generated clip: `` [lengthen tail]``, `` [lengthen head+tail]``."""
    return f" [lengthen {'+'.join(directions)}]"


def jsonable(value):
    """A copy of ``value`` made only of JSON types (paths and numpy scalars become str/float)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar / 0-d array
        try:
            return jsonable(value.item())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return str(value)


def lengthen_metadata(**fields) -> dict:
    return jsonable({"schema_version": SCHEMA_VERSION, "color": COLOR, **fields})


def comment(direction: str, frames: int) -> str:
    return f"lengthen generated {int(frames)} {direction} frames (not camera footage)"


def marker(marked_range, direction: str, frames: int, **extra):
    """Our marker over ``marked_range``: name, colour, a comment (what Kdenlive shows) and metadata."""
    import opentimelineio as otio

    info = {"schema_version": SCHEMA_VERSION, "direction": direction, "frames_generated": int(frames), **extra}
    return otio.schema.Marker(
        name=MARKER_NAME,
        marked_range=marked_range,
        color=getattr(otio.schema.MarkerColor, COLOR),
        comment=comment(direction, frames),
        metadata={KEY: jsonable(info)},
    )


def mark(item, marked_range, direction: str, frames: int, info: dict) -> None:
    """Add our marker over the ``frames`` generated ``direction`` frames at ``marked_range`` (in
    the item's source time), colour the item and store ``info`` under ``metadata["lengthen"]``."""
    import opentimelineio as otio

    item.markers.append(marker(marked_range, direction, frames))
    if hasattr(item, "color"):  # OTIO >= 0.18
        item.color = getattr(otio.core.Color, COLOR)
    item.metadata[KEY] = lengthen_metadata(**info)


def set_reel(obj, reel: str) -> None:
    """Record ``reel`` where the adapters look: ``cmx_3600`` (EDL events) on a clip, the FCP7 XML
    ``<timecode><reel>`` on a media reference."""
    import opentimelineio as otio

    if isinstance(obj, otio.schema.Clip):
        data = dict(obj.metadata.get("cmx_3600") or {})
        data["reel"] = reel
        obj.metadata["cmx_3600"] = data
    else:
        fcp = dict(obj.metadata.get("fcp_xml") or {})
        timecode = dict(fcp.get("timecode") or {})
        timecode["reel"] = {"name": reel}
        fcp["timecode"] = timecode
        obj.metadata["fcp_xml"] = fcp


def read_marks(item) -> dict | None:
    """Our metadata on an item, or None (works on any OTIO object with metadata)."""
    data = item.metadata.get(KEY)
    return dict(data) if data is not None else None
