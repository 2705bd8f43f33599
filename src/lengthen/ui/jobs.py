"""The panel's heavy work as plain functions of plain values (no Qt, no panel state).

:mod:`lengthen.ui.workers` runs each in a worker thread with a progress object that reports to
the GUI and can be cancelled; tests call them directly. Every loop calls ``progress.check()``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import UsageError


def run_shots(items: list, progress, on_event, executor=None) -> dict:
    """Render the panel's :class:`~lengthen.executor.ShotJob` s (``key`` = clip id) through
    :func:`lengthen.pipeline.render_shots`, the CLI's shot loop. ``on_event(kind, clip_id, *data)``
    with kind ``started``, ``progress`` (stage, done, total, message), ``done`` (ShotOutcome) or
    ``failed`` (message): a failed shot never stops the others. Cancelled propagates (the
    pipeline leaves no partial file behind). ``executor``: where shots render (default in this
    process; :meth:`PanelState.make_executor`). Returns {"done": n, "failed": n}."""
    from ..pipeline import render_shots

    def forward(kind: str, index: int, *data) -> None:
        if kind == "failed":
            data = (data[0].error.describe(),)
        on_event(kind, items[index].key, *data)

    outcomes = render_shots(items, progress=progress, on_event=forward, executor=executor)
    failed = sum(o.error is not None for o in outcomes)
    return {"done": len(outcomes) - failed, "failed": failed}


def load_characters(ranges: dict, settings, key: str, project_banks: Path, progress) -> tuple[list, list[str], bool]:
    """(banks, warnings, scanned): the project's edited characters for this media set, else the
    cached scan, else a new scan (stored in the cache and the project). Use
    :func:`unassigned_faces` for the faces the scan left in no character."""
    from ..faces.bank import load_banks, save_banks
    from ..fsutil import atomic_write_text
    from .scanning import cached_scan, scan_timeline, store_scan

    if (project_banks / "characters.json").is_file():
        return load_banks(project_banks), [], False
    banks = cached_scan(key)
    scanned = banks is None
    warnings: list[str] = []
    unassigned: list[str] = []
    if banks is None:
        banks, warnings = scan_timeline(ranges, settings, progress=progress, unassigned=unassigned)
        progress.check()
        store_scan(key, banks)
        atomic_write_text(cache_unassigned(key), json.dumps(unassigned))
    save_banks(banks, project_banks)
    return banks, warnings, scanned


def cache_unassigned(key: str) -> Path:
    from ..paths import cache_dir

    return cache_dir("faces") / f"{key}.unassigned.json"


def unassigned_faces(key: str) -> list[str]:
    """Lines naming the faces the scan of media set ``key`` put in no character ([] if unknown)."""
    try:
        return [str(x) for x in json.loads(cache_unassigned(key).read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return []


def save_characters(banks: list, folder: Path, progress=None) -> Path:
    from ..faces.bank import save_banks

    return save_banks(banks, folder)


def add_photo(banks: list, name: str, photo: str, backend_name: str, progress=None) -> list:
    from ..faces.backends.registry import get_backend
    from ..faces.scan import add_reference_photo

    return add_reference_photo(banks, name, photo, get_backend(backend_name))


def _thumb(frame: np.ndarray, width: int) -> np.ndarray:
    """(H, W, 3) uint8 -> at most ``width`` px wide (area resampling)."""
    import cv2

    h, w = frame.shape[:2]
    if w <= width:
        return np.ascontiguousarray(frame)
    return cv2.resize(frame, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def filmstrip(clip, count: int, width: int, progress) -> list[tuple[str, int, str, np.ndarray]]:
    """The clip's first and last ``count`` shown frames: (label, media frame, timecode, thumbnail)."""
    from ..media.reader import iter_frames
    from ..timecode import offset_timecode

    first, last = max(0, clip.src_first), min(clip.media_frames - 1, clip.src_last)
    heads = list(range(first, min(last, first + count - 1) + 1))
    tails = [f for f in range(max(first, last - count + 1), last + 1) if f not in heads]
    out = []
    for i, (frame, image) in enumerate(iter_frames(clip.media, heads + tails)):
        progress.check()
        progress.report("filmstrip", i + 1, len(heads) + len(tails))
        label = "in" if frame == first else "out" if frame == last else ""
        out.append((label, frame, offset_timecode(clip.start_timecode, frame, clip.rate), _thumb(image, width)))
    return out


def preview(spec, outcome, direction: str, source_frames: int, width: int, progress) -> dict:
    """The seam of one generated direction as a frame list: source frames next to the cut and
    the generated ones in playing order, which of them are generated, each frame's timecode,
    and the scores (with the same-person threshold and the faces that matched no character)."""
    from ..media.reader import read_frames
    from ..timecode import offset_timecode

    gen = next((g for g in outcome.generated if g.direction == direction), None)
    if gen is None:
        raise UsageError(f"no {direction} was generated for this shot", clip=spec.clip)
    k = max(1, min(source_frames, spec.length))
    progress.check()
    new = read_frames(gen.path, 0, gen.frames)
    progress.report("preview", 1, 2)
    if direction == "tail":
        src = read_frames(spec.media, spec.last - k + 1, k)
        frames, generated = np.concatenate([src, new]), [False] * k + [True] * gen.frames
        timecodes = [offset_timecode(spec.start_timecode, spec.last - k + 1 + i, spec.rate) for i in range(k)]
        timecodes += [offset_timecode(gen.start_timecode, i, spec.rate) for i in range(gen.frames)]
    else:
        src = read_frames(spec.media, spec.first, k)
        frames, generated = np.concatenate([new, src]), [True] * gen.frames + [False] * k
        timecodes = [offset_timecode(gen.start_timecode, i, spec.rate) for i in range(gen.frames)]
        timecodes += [offset_timecode(spec.start_timecode, spec.first + i, spec.rate) for i in range(k)]
    progress.check()
    thumbs = np.stack([_thumb(f, width) for f in frames])  # t h w 3
    progress.report("preview", 2, 2)
    info = outcome.report.get("directions", {}).get(direction, {})
    identity = info.get("identity", {})
    return {
        "frames": thumbs,
        "generated": generated,
        "rate": spec.rate,
        "direction": direction,
        "first_source_frame": spec.last - k + 1 if direction == "tail" else gen.source_first_frame,
        "scores": identity.get("generated", {}),
        "source_scores": identity.get("source", {}),
        "threshold": identity.get("threshold"),
        "unknown": identity.get("unknown", {}),
        "timecodes": timecodes,
        "seam_jump": info.get("seam_jump"),
        "motion_energy": info.get("motion_energy"),
        "seed": gen.metadata.get("seed"),
        "timecode": gen.start_timecode,
        "media": str(gen.path),
    }


def export_result(
    doc, plan, outcomes: list, out: Path, protect=(), progress=None, splice: bool = False, codec: str | None = None
) -> dict:
    """Write the result timeline with :func:`lengthen.api.write_extended_timeline`, the call
    ``lengthen timeline`` makes (the input untouched; media copied into ``<out stem>_media/``;
    ``splice``: clips relinked to joined media). Returns {"timeline", "media", "warnings"};
    a shot whose splice failed is named in the warnings."""
    from ..api import write_extended_timeline

    export = write_extended_timeline(
        doc, plan, outcomes, out, splice=splice, codec=codec, protect=protect, progress=progress
    )
    result = export.to_dict()
    result["warnings"] += [f"not spliced: {o.error}" for o in export.failed if o.error is not None]
    return result
