"""Read an editor's timeline into plain facts about each video clip.

Formats: ``.otio``, ``.otioz`` (zip bundle), ``.otiod`` (directory bundle) natively; anything an
installed OTIO adapter plugin reads (FCP7 XML, CMX 3600 EDL, ...) with a warning naming what that
format loses. The timeline object is never changed here.

Each video clip becomes a :class:`TimelineClip` whose frame numbers are **media frame numbers**
(0 = first frame of the file). OTIO source ranges live in the media's timecode space (an
``available_range`` starting at the file's start timecode), so a media frame is the source time
minus the available range's start. A missing ``available_range`` (EDL, some exports) is filled
from probing the media. A clip that cannot be used (offline media, no media reference, zero length,
a nested stack, a rate that differs from its media's, a path escaping the timeline's folder) is
recorded as a :class:`ClipProblem` naming the clip, and the rest of the timeline goes on.

Media path rule: relative paths are resolved against the timeline file's folder (or the bundle)
and must stay inside that folder tree (``..`` may not escape it) unless ``allow_media_outside``;
absolute paths and ``file://`` URLs are used as written, since NLEs write them that way.
"""

from __future__ import annotations

import os
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..errors import LengthenError, TimelineError
from ..fsutil import makedirs
from ..timecode import frames_to_timecode, from_rational_time, is_drop_frame_rate, otio_rate, rate_str

NATIVE = {".otio": "otio_json", ".otioz": "otioz", ".otiod": "otiod"}

# What each interchange format keeps and loses, shown as a warning when it is read or written.
FORMAT_LOSSES = {
    "cmx_3600": "CMX 3600 EDL keeps one video track of cuts and dissolves, source/record timecode, reel names "
    "(8 characters) and clip names/paths only from comments; it loses other tracks, gaps' meaning, "
    "markers' ranges and colours, metadata (lengthen provenance included), media length "
    "(available ranges) and the frame rate (give --rate)",
    "fcp_xml": "FCP7 XML keeps tracks (and their names), clips, gaps, file paths, rates, timecode, reels and "
    "markers (lengthen's with their colour, in media-relative frames); it loses OTIO metadata outside its own "
    "namespace, alternate media references and transition types other than dissolves",
    "fcpx_xml": "FCPXML (otio-fcpx-xml-adapter) keeps one storyline of clips, gaps, file paths, timecode and "
    "markers; it loses transitions, reels, marker colours, OTIO metadata, tracks above a gap-free primary "
    "storyline (so write results with --splice) and every rate but 24, 25, 30, 50 and 60 fps",
}


@dataclass(frozen=True)
class ClipProblem:
    clip: str
    clip_id: str
    track: str
    message: str
    path: str | None = None

    def describe(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}clip {self.clip!r} ({self.clip_id}): {self.message}"

    def to_dict(self) -> dict:
        return {
            "clip": self.clip,
            "clip_id": self.clip_id,
            "track": self.track,
            "message": self.message,
            "path": self.path,
        }


@dataclass
class TimelineClip:
    """A usable video clip; every frame number is a media frame at ``rate``."""

    clip: object  # the otio Clip inside ``TimelineDoc.timeline`` (read only)
    name: str
    clip_id: str  # "V1/3": video track 1 (bottom up), 3rd clip on it
    track: str  # track name, or "V1" when unnamed
    track_index: int  # index of the track in the timeline's stack
    item_index: int  # index of the clip among the track's children
    media: Path
    rate: Fraction  # the media's exact rate (== the clip's)
    media_frames: int  # media frames 0..media_frames-1 exist
    avail_start: int  # timecode frame (at rate) of media frame 0 in the clip's time space
    start_timecode: str  # timecode string of media frame 0
    src_first: int  # media frames the clip shows (its trimmed source range), inclusive
    src_last: int
    vis_first: int  # ... widened by transitions (what must exist for the edit to play)
    vis_last: int
    timeline_in: int  # track frame (at timeline_rate) where the clip starts
    timeline_out: int  # exclusive
    timeline_rate: Fraction


@dataclass
class TimelineDoc:
    timeline: object  # otio.schema.Timeline, exactly as read
    path: Path
    adapter: str
    base_dir: Path  # relative media paths resolve here
    clips: list[TimelineClip] = field(default_factory=list)
    problems: list[ClipProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _tmp: object = None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "TimelineDoc":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def adapter_for(path: Path) -> str:
    """The OTIO adapter name for a file, by suffix; TimelineError when none is installed."""
    import opentimelineio as otio

    suffix = path.suffix.lower()
    if suffix in NATIVE:
        return NATIVE[suffix]
    try:
        return otio.adapters.from_filepath(str(path)).name
    except Exception:
        known = sorted({s for a in otio.plugins.ActiveManifest().adapters for s in a.suffixes})
        raise TimelineError(
            f"no installed OTIO adapter handles {suffix or 'files without a suffix'!r} (known: "
            f"{', '.join('.' + k for k in known)}); "
            "FCP7 XML, FCPXML and EDL need: pip install 'lengthen[adapters]'",
            path=path,
        ) from None


def read_timeline(
    path, *, allow_media_outside: bool = False, rate=None, extract_dir=None, probe_media: bool = True
) -> TimelineDoc:
    """Read ``path`` and describe every video clip; see the module doc for the rules.

    ``rate`` is used by formats that store none (EDL). ``.otioz`` bundles are extracted to
    ``extract_dir`` (a temporary folder, removed by ``close()``, when not given).
    """
    import opentimelineio as otio

    path = Path(path)
    if not os.path.lexists(path):
        raise TimelineError("timeline file not found", path=path)
    adapter = adapter_for(path)
    from ..guards import check_otio_document

    check_otio_document(path, TimelineError)  # regular file, size, depth, finite times: before OTIO parses it
    base_dir, tmp, kwargs = path.parent, None, {}
    if adapter == "otioz":
        if extract_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix="lengthen-otioz-")
            extract_dir = tmp.name
        makedirs(extract_dir)
        kwargs["extract_to_directory"] = str(extract_dir)
        base_dir = Path(extract_dir)
    elif adapter == "otiod":
        base_dir = path
    elif adapter == "cmx_3600" and rate is not None:
        kwargs["rate"] = float(Fraction(rate))
    warnings = []
    if adapter in FORMAT_LOSSES:
        warnings.append(f"{path.name}: {FORMAT_LOSSES[adapter]}")
    try:
        timeline = otio.adapters.read_from_file(str(path), adapter_name=adapter, **kwargs)
    except Exception as exc:
        if tmp is not None:
            tmp.cleanup()
        raise TimelineError(
            f"cannot read as {adapter}: {str(exc).strip() or exc.__class__.__name__}", path=path
        ) from None
    if not isinstance(timeline, otio.schema.Timeline):
        if tmp is not None:
            tmp.cleanup()
        kind = getattr(timeline, "original_schema_name", None) or timeline.schema_name()
        unknown = " (a schema this OTIO does not know)" if getattr(timeline, "is_unknown_schema", False) else ""
        raise TimelineError(
            f"not a timeline: the file holds {kind!r}{unknown}; lengthen reads OTIO Timeline documents", path=path
        )
    if adapter == "fcp_xml":
        fcp_markers_to_source_time(timeline)
    doc = TimelineDoc(timeline=timeline, path=path, adapter=adapter, base_dir=base_dir, warnings=warnings, _tmp=tmp)
    _collect(doc, allow_media_outside, probe_media)
    return doc


def fcp_markers_to_source_time(timeline) -> None:
    """FCP7 XML counts a clip's markers from its media's first frame (as its ``<in>``); the adapter
    reads them as written while it turns the clip's range into source time. Put the markers in
    source time too (what OTIO means and lengthen writes back as media-relative)."""
    import opentimelineio as otio

    for clip in timeline.find_clips():
        avail = clip.media_reference.available_range if clip.media_reference else None
        if avail is None or not avail.start_time.value:
            continue
        for marker in clip.markers:
            marker.marked_range = otio.opentime.TimeRange(
                marker.marked_range.start_time + avail.start_time, marker.marked_range.duration
            )


def timeline_rate(timeline) -> Fraction:
    """The timeline's rate: its global start time's, else its first clip's, else 24."""
    if timeline.global_start_time is not None:
        return otio_rate(timeline.global_start_time.rate)
    for clip in timeline.find_clips():
        if clip.source_range is not None:
            return otio_rate(clip.source_range.start_time.rate)
    return Fraction(24)


def video_tracks(timeline) -> list[tuple[int, str, object]]:
    """(index in the stack, label, track) of every video track, bottom up; label "V1".. if unnamed."""
    import opentimelineio as otio

    out, n = [], 0
    for i, track in enumerate(timeline.tracks):
        if isinstance(track, otio.schema.Track) and track.kind == otio.schema.TrackKind.Video:
            n += 1
            out.append((i, track.name or f"V{n}", track))
    return out


def _collect(doc: TimelineDoc, allow_outside: bool, probe_media: bool) -> None:
    import opentimelineio as otio

    tl_rate = timeline_rate(doc.timeline)
    probes: dict[Path, object] = {}
    for n, (t_index, label, track) in enumerate(video_tracks(doc.timeline), start=1):
        clip_no = 0
        for i_index, item in enumerate(track):
            if isinstance(item, (otio.schema.Gap, otio.schema.Transition)):
                continue
            clip_no += 1
            clip_id = f"V{n}/{clip_no}"
            name = item.name or f"{label} item {i_index + 1}"
            if not isinstance(item, otio.schema.Clip):
                kind = (
                    "nested stack (compound clip)"
                    if isinstance(item, otio.core.Composition)
                    else f"unsupported item {item.schema_name()!r}"
                )
                doc.problems.append(
                    ClipProblem(
                        name,
                        clip_id,
                        label,
                        f"{kind}: lengthen plans plain clips only; flatten it in your editor first",
                    )
                )
                continue
            try:
                doc.clips.append(
                    _describe(
                        doc, item, name, clip_id, label, t_index, i_index, tl_rate, allow_outside, probe_media, probes
                    )
                )
            except LengthenError as exc:
                doc.problems.append(
                    ClipProblem(name, clip_id, label, exc.message, str(exc.path) if exc.path else None)
                )
            except (ArithmeticError, ValueError) as exc:  # impossible times that OTIO accepted
                doc.problems.append(ClipProblem(name, clip_id, label, f"impossible time values ({exc})"))


def _describe(
    doc, clip, name, clip_id, label, t_index, i_index, tl_rate, allow_outside, probe_media, probes
) -> TimelineClip:
    import opentimelineio as otio

    ref = clip.media_reference
    if ref is None or isinstance(ref, otio.schema.MissingReference):
        raise TimelineError("has no media reference (offline); relink it in your editor")
    if not isinstance(ref, otio.schema.ExternalReference):
        raise TimelineError(
            f"media reference {ref.schema_name()!r} is not a movie file "
            "(image sequences and generators are not supported)"
        )
    media = resolve_media_url(ref.target_url, doc.base_dir, allow_outside)
    if clip.source_range is None and ref.available_range is None:
        raise TimelineError("has neither a source range nor an available range")
    if probe_media:
        from ..media.probe import probe

        if media not in probes:
            try:
                probes[media] = probe(media)
            except LengthenError as exc:
                probes[media] = exc
        info = probes[media]
        if isinstance(info, LengthenError):
            raise TimelineError(f"media missing or unreadable: {info.message}", path=media)
        rate, frames = info.rate, info.frames
        probe_start, drop = info.start_frame, info.drop_frame
    else:
        if ref.available_range is None:
            raise TimelineError("no available range and media not probed")
        rate = otio_rate(ref.available_range.start_time.rate)
        frames, probe_start, drop = round(ref.available_range.duration.value), None, False
    trimmed = clip.trimmed_range()
    clip_rate = otio_rate(trimmed.start_time.rate)
    if clip_rate != rate:
        raise TimelineError(
            f"clip rate {rate_str(clip_rate)} does not match its media's rate {rate_str(rate)}"
            " (for EDLs give the rate with --rate)",
            path=media,
        )
    avail = ref.available_range
    if avail is not None:
        avail_start = from_rational_time(avail.start_time, rate)
        avail_frames = from_rational_time(avail.duration, rate)
        if avail_frames > frames:
            doc.warnings.append(
                f"clip {name!r} ({clip_id}): the timeline says its media has {avail_frames} frames, "
                f"the file has {frames}; using {frames}"
            )
        frames = min(frames, avail_frames) if avail_frames > 0 else frames
    else:
        avail_start = probe_start or 0
    if probe_start is not None and avail_start == probe_start and probe_media:
        start_tc = info.start_timecode
    else:
        start_tc = frames_to_timecode(avail_start, rate, drop_frame=drop and is_drop_frame_rate(rate))
    duration = from_rational_time(trimmed.duration, rate)
    if duration <= 0:
        raise TimelineError("is a zero-length clip", path=media)
    src_first = from_rational_time(trimmed.start_time, rate) - avail_start
    src_last = src_first + duration - 1
    if src_last < 0 or src_first >= frames:
        raise TimelineError(
            f"shows media frames {src_first}..{src_last} but the media has frames 0..{frames - 1} "
            f"(its timecode starts at {start_tc}); the clip and its media do not match",
            path=media,
        )
    if src_first < 0 or src_last >= frames:
        doc.warnings.append(
            f"clip {name!r} ({clip_id}) shows media frames {src_first}..{src_last} but only 0..{frames - 1} "
            "exist; the missing frames count as missing handles"
        )
    visible = clip.visible_range()
    vis_first = from_rational_time(visible.start_time, rate) - avail_start
    vis_last = vis_first + from_rational_time(visible.duration, rate) - 1
    in_parent = clip.trimmed_range_in_parent()
    timeline_in = from_rational_time(in_parent.start_time, tl_rate)
    return TimelineClip(
        clip=clip,
        name=name,
        clip_id=clip_id,
        track=label,
        track_index=t_index,
        item_index=i_index,
        media=media,
        rate=rate,
        media_frames=frames,
        avail_start=avail_start,
        start_timecode=start_tc,
        src_first=src_first,
        src_last=src_last,
        vis_first=vis_first,
        vis_last=vis_last,
        timeline_in=timeline_in,
        timeline_out=timeline_in + from_rational_time(in_parent.duration, tl_rate),
        timeline_rate=tl_rate,
    )


def resolve_media_url(url: str | None, base_dir: Path, allow_outside: bool = False) -> Path:
    """A media reference's target_url -> a local path (see the module doc for the rule)."""
    from opentimelineio import url_utils

    if not url:
        raise TimelineError("media reference has no path (empty target_url)")
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        path = Path(url_utils.filepath_from_url(url))
    elif len(parsed.scheme) > 1:
        raise TimelineError(f"media URL {url!r} is not a local file ({parsed.scheme}:// is not supported)")
    else:
        path = Path(url)
        if not (path if path.is_absolute() else base_dir / path).exists() and "%" in url:
            path = Path(urllib.parse.unquote(url))
    if path.is_absolute():
        return path
    base = Path(os.path.abspath(base_dir))
    joined = Path(os.path.normpath(base / path))
    if not allow_outside and joined != base and base not in joined.parents:
        raise TimelineError(
            f"relative media path {url!r} leads outside the timeline's folder ({base}); "
            "use --allow-media-outside if that is intended",
            path=joined,
        )
    return joined


def media_url(path: Path) -> str:
    """An absolute ``file://`` URL for a path (how lengthen writes media references)."""
    from opentimelineio import url_utils

    return url_utils.url_from_filepath(os.path.abspath(path))
