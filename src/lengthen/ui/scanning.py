"""Find the characters of a timeline: scan the frames its clips show, once per media set.

Each media file is scanned over the frames its clips use (the union of their visible ranges,
so a 2 s clip of a 10 min rush costs 2 s of scanning), then characters found in different files
are merged when their centroids are closer than the backend's same-person threshold (the
clustering inside one file already keeps two faces of one frame apart). The result is cached in
the user cache under the media-set key (see :mod:`lengthen.ui.project`). Qt-free; the panel runs
it in a worker thread.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import Cancelled, FaceError, LengthenError


def scan_ranges(clips) -> dict[str, tuple[int, int]]:
    """media path -> (first, last) frames to scan: the union of the clips' visible ranges."""
    out: dict[str, tuple[int, int]] = {}
    for c in clips:
        first, last = max(0, c.vis_first), min(c.media_frames - 1, c.vis_last)
        if first > last:
            continue
        key = str(c.media)
        if key in out:
            first, last = min(first, out[key][0]), max(last, out[key][1])
        out[key] = (first, last)
    return out


def merge_across_media(banks: list, threshold: float) -> list:
    """Merge characters found in different files whose centroids are at least ``threshold``
    (cosine) alike, most alike first; returns a new list, ids renumbered ``char_001``..."""
    from ..faces.bank import merge

    banks = list(banks)
    while len(banks) > 1:
        cents = np.stack([b.centroid for b in banks])  # n d
        sims = cents @ cents.T  # n n
        best, pair = threshold, None
        for i in range(len(banks)):
            for j in range(i + 1, len(banks)):
                media_i = {s.media for s in banks[i].sources}
                media_j = {s.media for s in banks[j].sources}
                if media_i & media_j:
                    continue  # the in-file clustering already decided about these two
                if sims[i, j] >= best:
                    best, pair = sims[i, j], (i, j)
        if pair is None:
            break
        banks = merge(banks, banks[pair[0]].id, banks[pair[1]].id)
    return [
        replace(b, id=f"char_{n:03d}", name=b.name if not b.name.startswith("Character ") else f"Character {n}")
        for n, b in enumerate(banks, start=1)
    ]


def scan_timeline(
    ranges: dict, settings, backend=None, progress=None, unassigned: list | None = None
) -> tuple[list, list[str]]:
    """(characters, warnings) for the media ``ranges`` (see :func:`scan_ranges`). ``unassigned``,
    when given, gets one line per file whose scan left faces in no character (people seen too
    rarely to make one): the panel shows them, and scores read such faces as unknown."""
    from ..faces.cluster import same_person_threshold
    from ..faces.scan import make_backend, scan

    backend = backend if backend is not None else make_backend(settings)
    banks, warnings = [], []
    for n, (media, (first, last)) in enumerate(sorted(ranges.items()), start=1):
        if progress is not None:
            progress.report("characters", n - 1, len(ranges), Path(media).name)
            progress.check()
        try:
            result = scan([media], settings, backend, progress, frame_range=(first, last))
        except Cancelled:
            raise
        except LengthenError as exc:
            warnings.append(str(exc))
            continue
        warnings.extend(str(e) for e in result.errors)
        if unassigned is not None and result.dropped_faces:
            unassigned.append(f"{result.dropped_faces} faces in {Path(media).name} (seen too rarely)")
        for bank in result.banks:
            banks.append(replace(bank, id=f"tmp_{len(banks):04d}"))
    threshold = (
        settings.cluster_threshold if settings.cluster_threshold is not None else same_person_threshold(backend.name)
    )
    merged = merge_across_media(banks, threshold)
    if progress is not None:
        progress.report("characters", len(ranges), len(ranges), f"{len(merged)} characters")
    return merged, warnings


def cached_scan(key: str):
    """The cached characters of a media-set key, or None."""
    from ..faces.bank import load_banks
    from ..paths import cache_dir

    folder = cache_dir("faces") / key
    if not (folder / "characters.json").is_file():
        return None
    try:
        return load_banks(folder)
    except FaceError:
        return None


def store_scan(key: str, banks: list) -> Path:
    from ..faces.bank import save_banks
    from ..paths import cache_dir

    return save_banks(banks, cache_dir("faces") / key)
