"""The MMOD detector's decoding and the scan's fast face search.

Decoding maps a score-map cell back to the image through pyramid_down<6>::point_up, which dlib
computes as ``p * (6 / 5.0) + 0.3`` (the ratio first). Computing ``p * 6 / 5`` instead differs in
the last bit for some cells, and where the box corner lands on .5 the rounding then differs by a
pixel: dlib 20.0.1 (dlib-bin) gave (600, 348, 694, 443) on frame 0 of openmpf video 01 enlarged
to 1600x1200 where the old arithmetic gave 695."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from lengthen.errors import FaceError
from lengthen.faces.backends.dlib_torch.mmod import decode, pyramid_layout
from lengthen.faces.detections import iou
from lengthen.faces.scan import FaceFinder, ScanSettings, big_enough, detect_faces


def _dlib_box(r, c, rects, ratio_first=True):
    px, py = 8 * c + 14, 8 * r + 14
    cx, cy = math.floor(px + 0.5), math.floor(py + 0.5)
    k = next(i for i, (l, t, rr, b) in enumerate(rects) if l <= cx <= rr and t <= cy <= b)
    box = [px - 39.5 - rects[k][0], py - 39.5 - rects[k][1], px + 39.5 - rects[k][0], py + 39.5 - rects[k][1]]
    for _ in range(k):
        box = [v * (6 / (6 - 1.0)) + 0.3 if ratio_first else v * 6.0 / 5.0 + 0.3 for v in box]
    return tuple(int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1) for v in box)


def test_decode_maps_cells_up_the_pyramid_as_dlib_does():
    (rows, cols), rects = pyramid_layout(1200, 1600, 10, 11)
    out_rows, out_cols = (rows - 14) // 8, (cols - 14) // 8
    differs = None
    for r in range(out_rows):
        for c in range(out_cols):
            try:
                if _dlib_box(r, c, rects) != _dlib_box(r, c, rects, ratio_first=False):
                    differs = (r, c)
                    break
            except StopIteration:  # a cell in the padding between levels
                continue
        if differs:
            break
    assert differs is not None, "no cell where the two arithmetics disagree: the test would prove nothing"
    scores = np.full((out_rows, out_cols), -1.0, np.float32)
    scores[differs] = 1.0
    [(score, box)] = decode(scores, rects)
    assert score == 1.0 and box == _dlib_box(*differs, rects)


@pytest.fixture(scope="module")
def party_frames(testdata):
    from lengthen.media.reader import read_frames

    return read_frames(testdata / "video" / "openmpf__video_01.mp4", 0, 31)[::15]  # frames 0, 15, 30


@pytest.fixture(scope="module")
def backend():
    from lengthen.faces.backends.registry import get_backend

    return get_backend("dlib")


def test_fast_search_finds_every_face_the_exhaustive_search_finds(party_frames, backend):
    """On real footage (three people at 32-70 px in a 640x480 frame, so enlarged 2.5x), the
    proposals + confirmation search finds each face of 32 px and more that the exact detector
    over the whole enlarged frame finds, at the same place, confirmed by the exact detector (on a
    crop its pyramid samples the face differently, so the score itself may differ)."""
    settings = ScanSettings()
    fast, full = FaceFinder(backend, settings), FaceFinder(backend, replace(settings, search="exhaustive"))
    wanted = found = 0
    for image in party_frames:
        exhaustive = [d for d in full(image) if big_enough(d, settings)]
        quick = fast(image)
        wanted += len(exhaustive)
        for d in exhaustive:
            match = [q for q in quick if iou(q.box, d.box) > 0.5]
            assert match, f"missed {d.box}"
            assert match[0].score > 0 and match[0].landmarks.shape == (5, 2)
            found += 1
    assert wanted >= 6 and found == wanted
    assert fast.proposed > 0 and fast.confirmed >= found


def test_previous_faces_are_searched_again_and_detect_faces_is_the_scan_search(party_frames, backend):
    """A face found in one frame is proposed again in the next: with the fast pass finding
    nothing (threshold above any score), the faces of the previous frame are still confirmed."""
    settings = replace(ScanSettings(), proposal_threshold=100.0)
    finder = FaceFinder(backend, settings)
    before = FaceFinder(backend, ScanSettings())(party_frames[0])
    finder.previous = before
    again = finder(party_frames[0])
    assert before and finder.proposed == len(before) == len(again)  # only the previous faces were proposed
    assert all(any(iou(a.box, b.box) > 0.5 for b in before) for a in again)
    assert finder.previous == again
    single = detect_faces(backend, party_frames[0])
    exhaustive = FaceFinder(backend, replace(ScanSettings(), search="exhaustive"))(party_frames[0])
    assert len(single) == len([d for d in exhaustive if big_enough(d, ScanSettings())]) >= 2


def test_unknown_search_is_refused():
    with pytest.raises(FaceError, match="face search must be one of proposals, exhaustive"):
        ScanSettings(search="everywhere")
