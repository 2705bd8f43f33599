"""Write results back: a new timeline (the input is never changed) and an atomic file write.

Default (non-destructive): a deep copy of the timeline plus a video track ``LENGTHEN`` (more,
``LENGTHEN 2``..., only when generated clips would overlap) holding each generated run **in sync
with its source**: the generated frame for media frame ``f`` sits where the clip would show ``f``
if it were trimmed out to it. For a clip that ends at the end of its media that is right after its
out point (right before its in point for heads); handles sit under the neighbouring clip or
transition, where an editor trimming the clip will find them. Runs that would start before the
timeline start are trimmed at 0 (the media keeps every frame). Original clips are untouched.

``splice``: the clip is relinked to media joined from generated and source frames (OTIO 0.18
multiple media references: ``"lengthen"`` active, the original kept under its key). In handles
mode the clip keeps its source range (the new frames are handles); for head/tail requests the
clip's source range grows by the frames asked for, which ripples later items on that track.

No negative time: every range is in the generated media's own timecode space. A head that would
start before 00:00:00:00 has media starting at 00:00:00:00 (see ``ShotSpec.generated_timecode``);
a spliced clip's ranges move with its re-based media. Every generated/spliced clip carries its
media's reel (``metadata["cmx_3600"]["reel"]``, FCP7 ``<timecode><reel>``) and the source's.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

from ..errors import TimelineError
from ..fsutil import atomic_path, makedirs
from ..media.probe import assert_not_input
from . import metadata as meta
from .read import FORMAT_LOSSES, TimelineDoc, adapter_for, media_url
from .reels import read_reel

SPLICE_KEY = "lengthen"


def _rt(frames, rate):
    from ..timecode import to_rational_time

    return to_rational_time(frames, rate)


def _tr(start, duration, rate):
    import opentimelineio as otio

    return otio.opentime.TimeRange(_rt(start, rate), _rt(duration, rate))


def reel_of(path) -> str:
    """The reel a media file carries (what the conform matches), or the writer's name for its stem."""
    from ..media.writer import reel_name

    return read_reel(path) or reel_name(Path(path).stem)


def generated_clip(spec, gen, rate: Fraction, avail_start: int, trim: int = 0):
    """An OTIO clip for one GeneratedMedia: media reference in the source's timecode space, marker,
    colour, name suffix and metadata."""
    import opentimelineio as otio

    from ..timecode import timecode_to_frames

    continuous = avail_start + gen.source_first_frame  # the source's timecode frame for the media's frame 0
    tc_first = timecode_to_frames(gen.start_timecode, rate)  # the media's own (re-based before 00:00:00:00)
    reel = gen.metadata.get("reel") or reel_of(gen.path)
    ref = otio.schema.ExternalReference(
        target_url=media_url(gen.path), available_range=_tr(tc_first, gen.frames, rate)
    )
    meta.set_reel(ref, reel)
    source_range = _tr(tc_first + trim, gen.frames - trim, rate)
    clip = otio.schema.Clip(
        name=spec.clip + meta.suffix([gen.direction]), media_reference=ref, source_range=source_range
    )
    meta.set_reel(clip, reel)
    info = {
        **gen.metadata,
        "direction": gen.direction,
        "frames_generated": gen.frames,
        "media": os.path.abspath(gen.path),
        "timecode": gen.start_timecode,
        "timecode_rebased_frames": tc_first - continuous,
        "reel": reel,
        "source_reel": gen.metadata.get("source_reel") or Path(spec.media).stem,
        "source_first_frame": gen.source_first_frame,
        "source_clip": spec.clip,
        "source_clip_id": spec.clip_id,
        "source_track": spec.track,
        "source_media": spec.media,
        "trimmed_at_timeline_start": trim,
    }
    meta.mark(clip, source_range, gen.direction, gen.frames - trim, info)
    return clip


def audio_clip(item):
    """The audio twin of a picture item: the same media, range and marks, for an audio track at
    the same place (gaps stay gaps), so the sound of generated media plays in sync with it."""
    twin = item.clone()
    if meta.KEY in twin.metadata:
        twin.metadata[meta.KEY]["kind"] = "audio"
    return twin


def _audio_lanes(tracks):
    """An audio track ``LENGTHEN A`` (``A 2``...) beside each generated video track, holding the
    audio twin of every generated clip whose media has sound (silence elsewhere)."""
    import opentimelineio as otio

    out = []
    for k, track in enumerate(tracks):
        items = list(track)
        if not any(isinstance(i, otio.schema.Clip) and "audio" in dict(i.metadata.get(meta.KEY, {})) for i in items):
            continue
        name = f"{meta.TRACK_NAME} A" if k == 0 else f"{meta.TRACK_NAME} A{k + 1}"
        sound = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
        sound.metadata[meta.KEY] = meta.jsonable({"schema_version": meta.SCHEMA_VERSION, "audio_of": track.name})
        for item in items:
            if isinstance(item, otio.schema.Clip) and "audio" not in dict(item.metadata.get(meta.KEY, {})):
                sound.append(otio.schema.Gap(source_range=item.trimmed_range()))
            else:
                sound.append(audio_clip(item))
        out.append(sound)
    return out


def _placements(outcomes) -> tuple[list[tuple[int, int, object]], list[dict]]:
    """(timeline start, timeline duration, clip) for every generated run, in timeline frames, and
    the runs that lie wholly before the timeline start (their media is kept, nothing is placed)."""
    out, dropped = [], []
    for outcome in outcomes:
        spec = outcome.spec
        if outcome.error is not None or not outcome.generated:
            continue
        tl_rate, rate = Fraction(spec.timeline_rate), Fraction(spec.rate)
        scale = tl_rate / rate  # timeline frames per media frame
        for gen in outcome.generated:
            offset = gen.source_first_frame - spec.metadata["source_first"]  # media frames after the clip's in point
            start = spec.timeline_in + round(offset * scale)
            trim = 0
            if start < 0:
                trim = math.ceil(Fraction(-start) / scale)  # media frames before timeline frame 0
                start = max(0, spec.timeline_in + round((offset + trim) * scale))
            if trim >= gen.frames:
                dropped.append(
                    {
                        "clip": spec.clip,
                        "direction": gen.direction,
                        "frames": gen.frames,
                        "media": os.path.abspath(gen.path),
                    }
                )
                continue
            clip = generated_clip(spec, gen, rate, spec.metadata["avail_start"], trim)
            out.append((start, round((gen.frames - trim) * scale), clip))
    return sorted(out, key=lambda p: p[0]), dropped


def _lanes(placements, tl_rate: Fraction):
    """First-fit the placements into as few non-overlapping tracks as needed."""
    import opentimelineio as otio

    lanes: list[list] = []
    for start, dur, clip in placements:
        for lane in lanes:
            if lane[-1][0] + lane[-1][1] <= start:
                lane.append((start, dur, clip))
                break
        else:
            lanes.append([(start, dur, clip)])
    tracks = []
    for k, lane in enumerate(lanes):
        name = meta.TRACK_NAME if k == 0 else f"{meta.TRACK_NAME} {k + 1}"
        track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Video)
        track.metadata[meta.KEY] = meta.jsonable({"schema_version": meta.SCHEMA_VERSION, "generated_clips": len(lane)})
        cursor = 0
        for start, dur, clip in lane:
            if start > cursor:
                track.append(otio.schema.Gap(source_range=_tr(0, start - cursor, tl_rate)))
            track.append(clip)
            cursor = start + dur
        tracks.append(track)
    return tracks


def splice_clip(clip, spec, outcome, spliced: Path) -> None:
    """Relink ``clip`` (in the copy) to ``spliced`` media; see the module doc."""
    import opentimelineio as otio

    from ..timecode import timecode_to_frames

    rate = Fraction(spec.rate)
    by_dir = {g.direction: g for g in outcome.generated}
    head = by_dir["head"].frames if "head" in by_dir else 0
    tail = by_dir["tail"].frames if "tail" in by_dir else 0
    media_frames = spec.last - spec.first + 1
    continuous = spec.metadata["avail_start"] + spec.first - head  # the source's timecode for the first frame
    first_tc = timecode_to_frames(by_dir["head"].start_timecode, rate) if head else continuous
    # A head before 00:00:00:00 re-bases the spliced media (it starts at 00:00:00:00): every range of the
    # clip moves by ``shift`` frames, the kept original reference too, so both share one time space.
    shift = first_tc - continuous
    reel = reel_of(spliced)
    new_ref = otio.schema.ExternalReference(
        target_url=media_url(spliced), available_range=_tr(first_tc, head + media_frames + tail, rate)
    )
    meta.set_reel(new_ref, reel)
    key = clip.active_media_reference_key
    refs = {k: v.clone() for k, v in clip.media_references().items()}
    if shift:
        for ref in refs.values():
            if ref.available_range is not None:
                ref.available_range = otio.opentime.TimeRange(
                    ref.available_range.start_time + _rt(shift, rate), ref.available_range.duration
                )
    refs[SPLICE_KEY] = new_ref
    source_reel = (clip.metadata.get("cmx_3600") or {}).get("reel") or read_reel(spec.media) or Path(spec.media).stem
    clip.set_media_references(refs, SPLICE_KEY)
    old = clip.source_range or clip.trimmed_range()
    if spec.metadata.get("mode") != "handles":
        old = otio.opentime.TimeRange(old.start_time - _rt(head, rate), old.duration + _rt(head + tail, rate))
    clip.source_range = otio.opentime.TimeRange(old.start_time + _rt(shift, rate), old.duration)
    for marker in clip.markers:  # the editor's own markers keep their frames
        marker.marked_range = otio.opentime.TimeRange(
            marker.marked_range.start_time + _rt(shift, rate), marker.marked_range.duration
        )
    meta.set_reel(clip, reel)
    info = {
        "mode": "splice",
        "spliced_media": os.path.abspath(spliced),
        "reel": reel,
        "source_reel": source_reel,
        "timecode_rebased_frames": shift,
        "original_media_key": key,
        "source_clip": spec.clip,
        "source_clip_id": spec.clip_id,
        "source_media": spec.media,
        "frames_generated": head + tail,
        "generated": [
            {
                **g.metadata,
                "direction": g.direction,
                "frames_generated": g.frames,
                "media": os.path.abspath(g.path),
                "timecode": g.start_timecode,
            }
            for g in outcome.generated
        ],
    }
    first = outcome.generated[0].metadata
    info.update({k: first[k] for k in ("engine", "model", "seed", "banks") if k in first})
    clip.name = (clip.name or spec.clip) + meta.suffix([g.direction for g in outcome.generated])
    for g in outcome.generated:
        start = first_tc if g.direction == "head" else first_tc + head + media_frames
        meta.mark(clip, _tr(start, g.frames, rate), g.direction, g.frames, info)


def build_result(doc: TimelineDoc, plan, outcomes, *, spliced: dict | None = None):
    """A new timeline: a deep copy of ``doc.timeline`` with the results; ``spliced`` maps a
    clip_id to its joined media (splice mode) — without it, generated clips go on new tracks."""
    from ..timecode import from_rational_time
    from .read import timeline_rate

    result = doc.timeline.deepcopy()
    tl_rate = timeline_rate(doc.timeline)
    generated, dropped, guides = 0, [], []  # guides: (timeline start, frames, direction, clip name)
    if spliced is not None:
        for outcome in outcomes:
            if outcome.spec.clip_id in spliced:
                m = outcome.spec.metadata
                clip = result.tracks[m["track_index"]][m["item_index"]]
                splice_clip(clip, outcome.spec, outcome, spliced[outcome.spec.clip_id])
                generated += 1
                if m.get("mode") != "handles":  # the new frames are in the cut (not handles): guide them
                    where = clip.trimmed_range_in_parent()
                    start, end = (
                        from_rational_time(t, tl_rate) for t in (where.start_time, where.end_time_exclusive())
                    )
                    scale = tl_rate / Fraction(outcome.spec.rate)
                    for g in outcome.generated:
                        n = round(g.frames * scale)
                        guides.append((start if g.direction == "head" else end - n, n, g.direction, outcome.spec.clip))
    else:
        placements, dropped = _placements(outcomes)
        generated = len(placements)
        lanes = _lanes(placements, tl_rate)
        for track in lanes + _audio_lanes(lanes):
            result.tracks.append(track)
        for start, dur, clip in placements:
            info = clip.metadata[meta.KEY]
            guides.append((start, dur, info["direction"], info["source_clip"]))
    for start, dur, direction, name in sorted(guides):  # timeline markers: editors without clip markers see them
        result.tracks.markers.append(meta.marker(_tr(start, dur, tl_rate), direction, dur, source_clip=name))
    result.metadata[meta.KEY] = meta.jsonable(
        {
            "schema_version": meta.SCHEMA_VERSION,
            "source_timeline": str(doc.path),
            "mode": "splice" if spliced is not None else "track",
            "generated_clips": generated,
            "shots": [
                {
                    "clip": o.spec.clip,
                    "clip_id": o.spec.clip_id,
                    "head_frames": o.spec.head_frames,
                    "tail_frames": o.spec.tail_frames,
                    "error": str(o.error) if o.error else None,
                }
                for o in outcomes
            ],
            "skipped": [p.to_dict() for p in plan.problems],
            "not_placed": dropped,
        }
    )
    return result


def rebase_media(timeline, from_dir: Path, to_dir: Path | None) -> int:
    """Re-express relative media URLs (written against ``from_dir``) so they still point at the
    same files from ``to_dir`` (``None``: as absolute file URLs). Returns how many changed."""
    import urllib.parse

    from opentimelineio import url_utils

    changed = 0
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            url = getattr(ref, "target_url", None)
            scheme = urllib.parse.urlparse(url).scheme if url else None
            if not url or (scheme and scheme != "file"):
                continue
            if to_dir is None:  # bundles: one canonical absolute path per file (links resolved)
                target = (
                    url_utils.filepath_from_url(url)
                    if scheme == "file"
                    else os.path.join(os.path.abspath(from_dir), url)
                )
                new = media_url(Path(os.path.realpath(target)))
            elif scheme or os.path.isabs(url):
                continue
            else:
                target = os.path.normpath(os.path.join(os.path.abspath(from_dir), url))
                new = os.path.relpath(target, os.path.abspath(to_dir))
                if new == os.pardir or new.startswith(os.pardir + os.sep):
                    # a relative path that climbs out of the new folder would be refused when read back
                    # (lengthen's own output included): write the file's absolute URL instead
                    new = media_url(Path(target))
            changed += new != url
            ref.target_url = new
    return changed


def write_timeline(timeline, out, *, base_dir: Path, protect=()) -> list[str]:
    """Write ``timeline`` to ``out`` atomically (temporary name in the same folder, then rename);
    the format comes from the suffix. Returns warnings (what the format loses)."""
    import opentimelineio as otio

    out = Path(out)
    adapter = adapter_for(out)
    assert_not_input(out, protect)
    if out.exists():
        raise TimelineError("output exists; refusing to overwrite (choose another name)", path=out)
    makedirs(out.parent)
    from .interchange import prepare_for

    timeline = prepare_for(timeline, adapter)  # a copy
    bundle = adapter in ("otioz", "otiod")
    if Path(os.path.abspath(base_dir)) != Path(os.path.abspath(out.parent)) or bundle:
        rebase_media(timeline, base_dir, None if bundle else out.parent)
    kwargs = {"media_policy": "MissingIfNotFile"} if bundle else {}
    try:
        with atomic_path(out) as tmp:
            otio.adapters.write_to_file(timeline, str(tmp), adapter_name=adapter, **kwargs)
    except TimelineError:
        raise
    except Exception as exc:
        raise TimelineError(
            f"the {adapter} adapter cannot write this timeline: {str(exc).strip() or exc.__class__.__name__}", path=out
        ) from None
    return [f"{out.name}: {FORMAT_LOSSES[adapter]}"] if adapter in FORMAT_LOSSES else []
