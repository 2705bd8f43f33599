"""Checks every result timeline passes before it is written: no negative time, ranges in bounds.

The same rules as ``otiotool --verify-ranges`` (a clip's source range inside its active media's
available range) plus what the FCP7 XML and EDL writers and timecode displays refuse: a negative
time anywhere (source, available and marked ranges, on every media reference).
"""

from __future__ import annotations


def _name(item) -> str:
    return f"{item.schema_name().lower()} {item.name!r}" if item.name else item.schema_name().lower()


def range_problems(timeline) -> list[str]:
    """One line per problem (empty when the timeline is clean)."""
    import opentimelineio as otio

    problems = []

    def negative(what: str, tr) -> None:
        if tr is not None and tr.start_time.value < 0:
            problems.append(f"{what} starts at negative time {tr.start_time.value:g} (@{tr.start_time.rate:g})")

    for item in timeline.find_children():
        name = _name(item)
        if isinstance(item, otio.core.Item):
            if isinstance(item, otio.schema.Clip):  # (a track may start at negative time: EDL readers offset so)
                negative(f"{name}: source range", item.source_range)
            for marker in item.markers:
                negative(f"{name}: marker {marker.name!r}", marker.marked_range)
        if isinstance(item, otio.schema.Clip):
            for key, ref in item.media_references().items():
                negative(f"{name}: media reference {key!r} available range", ref.available_range)
            avail = item.media_reference.available_range if item.media_reference else None
            if avail is not None and item.source_range is not None:
                src = item.source_range
                if src.start_time < avail.start_time or avail.end_time_inclusive() < src.end_time_inclusive():
                    problems.append(
                        f"{name}: source range {src.start_time.value:g}+{src.duration.value:g} lies outside its "
                        f"media's available range {avail.start_time.value:g}+{avail.duration.value:g}"
                    )
    for marker in timeline.tracks.markers:
        negative(f"timeline marker {marker.name!r}", marker.marked_range)
    return problems
