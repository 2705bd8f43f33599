"""Reference faces with margin (faces.references): cut from the source frames, each file opened once."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from lengthen.faces.references import crop_with_margin, reference_crops
from lengthen.media import reader
from lengthen.media.reader import read_frame_list


def _bank(sources, chip_value: int):
    """A duck-typed bank (what faces.references reads): its aligned chips, references and face records."""
    chips = np.full((len(sources), 24, 24, 3), chip_value, np.uint8)
    return SimpleNamespace(reference_crops=lambda: chips, references=list(range(len(sources))), sources=sources)


def _src(media, frame, box=(200.0, 150.0, 280.0, 230.0)):
    return SimpleNamespace(media=str(media), frame=frame, box=box)


def test_reference_crops_open_each_media_file_once(testdata, monkeypatch):
    """Review finding: the video was opened again for every reference face. Two banks with two
    references each in one video (and one frame past its end) decode through one open of it."""
    video = testdata / "video" / "openmpf__video_01.mp4"  # 90 frames, 640x480
    photo = testdata / "images" / "skimage__astronaut.png"
    banks = [
        _bank([_src(video, 5), _src(video, 40)], 1),
        _bank([_src(video, 70), _src(video, 500), _src(photo, 0, (150.0, 150.0, 250.0, 250.0))], 2),
    ]
    expected = read_frame_list(video, [5, 40, 70])
    opens = []
    real = reader.open_container
    monkeypatch.setattr(reader, "open_container", lambda p: opens.append(p) or real(p))
    (crops_a, how_a), (crops_b, how_b) = reference_crops(banks, per_bank=3)
    assert len(opens) == 1  # one decode pass for frames 5, 40 and 70 of the video
    assert how_a == ("source", "source") and how_b == ("source", "chip", "source")
    for crop, frame in zip([*crops_a, crops_b[0]], expected, strict=True):
        np.testing.assert_array_equal(crop, crop_with_margin(frame, (200.0, 150.0, 280.0, 230.0)))
    assert crops_b[1].shape == (24, 24, 3) and crops_b[1].max() == 2  # frame 500 is past the end: the chip
    assert crops_b[2].shape == (220, 220, 3)  # the photo: a 100 px face with 60 % margin each side
