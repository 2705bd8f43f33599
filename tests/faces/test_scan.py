"""Scanning real footage and photos with the real dlib backend.

The two ``slow`` tests are the acceptance checks of the faces issue (select them with
``-m slow``); they sample at 2 fps to stay fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from lengthen.errors import Cancelled, FaceError, MediaError
from lengthen.faces.scan import ScanSettings, add_reference_photo, scan, scan_shot
from lengthen.progress import SilentProgress


@pytest.fixture(scope="module")
def backend():
    from lengthen.faces.backends.registry import get_backend

    return get_backend("dlib")


@pytest.mark.slow
def test_party_clip_has_three_characters(testdata, backend):
    clip = testdata / "video" / "openmpf__video_01.mp4"
    progress = SilentProgress()
    result = scan([clip], ScanSettings(), backend, progress)
    assert result.errors == [] and result.frames_scanned == 6
    assert [e[:2] for e in progress.events[-1:]] == [("faces", 6)]
    banks = result.banks
    assert len(banks) == 3, [(b.id, len(b)) for b in banks]
    for b in banks:
        assert len(b) >= 3 and b.embeddings.shape[1] == 128
        (app,) = b.appearances()
        assert app.media == str(clip) and app.first_frame == 0
    # three different people, ordered left to right at their first face: woman in white dress,
    # young man with the bottle, blonde woman
    centres = [np.mean([(s.box[0] + s.box[2]) / 2 for s in b.sources]) for b in banks]
    assert centres == sorted(centres) and centres[0] < 200 < centres[1] < 290 < centres[2] < 360
    # the two heavily occluded people never make three faces: dropped, not characters
    assert result.faces_found == sum(len(b) for b in banks) + result.dropped_faces


@pytest.mark.slow
def test_man_with_glasses_is_one_character_across_his_shot(testdata, backend):
    clip = testdata / "video" / "tears_of_steel_clip01.mp4"
    # a medium close-up: 64 px is plenty and keeps detection cheap
    result = scan_shot(clip, 65, 184, ScanSettings(min_face_px=64), backend)
    assert result.errors == [] and result.frames_scanned == 10
    assert len(result.banks) == 1
    bank = result.banks[0]
    assert len(bank) == result.faces_found >= 8
    (app,) = bank.appearances()
    assert app.first_frame <= 77 and app.last_frame >= 173
    assert all(65 <= s.frame <= 184 for s in bank.sources)
    assert min(bank.similarity(bank.embeddings)) > 0.9


def test_bad_inputs_are_reported_and_others_continue(testdata, backend, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video")
    photo = testdata / "images" / "skimage__astronaut.png"
    result = scan([broken, tmp_path / "missing.mov", photo], ScanSettings(), backend)
    assert [type(e) for e in result.errors] == [MediaError, MediaError]
    assert "broken.mp4" in str(result.errors[0]) and "missing.mov" in str(result.errors[1])
    assert result.frames_scanned == 1
    # one face in one photo: a character (seen in every sampled frame of its input)
    assert len(result.banks) == 1 and result.banks[0].appearances()[0].media == str(photo)
    assert result.banks[0].references == [0]


def test_shot_range_outside_the_file_is_an_error(testdata, backend):
    clip = testdata / "video" / "openmpf__video_01_h265_aac.mp4"
    result = scan_shot(clip, 20, 500, ScanSettings(), backend)
    assert result.banks == [] and "20..500" in str(result.errors[0])


def test_cancel_stops_the_scan(testdata, backend):
    progress = SilentProgress()
    progress.cancel()
    with pytest.raises(Cancelled):
        scan([testdata / "images" / "skimage__astronaut.png"], ScanSettings(), backend, progress)


def test_add_reference_photo(testdata, backend, tmp_path):
    from PIL import Image

    photo = testdata / "images" / "skimage__astronaut.png"
    banks = add_reference_photo([], "Eileen", photo, backend)
    assert [(b.id, b.name, len(b)) for b in banks] == [("char_001", "Eileen", 1)]
    assert banks[0].sources[0].manual and banks[0].appearances() == []
    again = add_reference_photo(banks, "char_001", photo, backend)
    assert len(again[0]) == 2 and again[0].references[:2] == [0, 1]
    assert again[0].similarity(banks[0].embeddings)[0] > 0.99
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), (128, 128, 128)).save(blank)
    with pytest.raises(FaceError, match="blank.png.*no face"):
        add_reference_photo(banks, "Eileen", blank, backend)
    with pytest.raises(MediaError, match="nope.jpg"):
        add_reference_photo(banks, "Eileen", tmp_path / "nope.jpg", backend)


def test_a_person_who_leaves_and_comes_back_is_one_character(testdata, backend, tmp_path):
    """Re-identification: the astronaut is seen for a second at the left, leaves for two seconds
    (an empty room: longer than a track survives), and comes back for a second at the other side
    of the frame. Tracking gives two tracks; clustering by face must make them one character with
    both stretches (two samples each: neither alone reaches min_character_faces)."""
    from PIL import Image

    from lengthen.media.synthetic import encode_clip

    with Image.open(testdata / "images" / "skimage__astronaut.png") as im:
        face = np.asarray(im.convert("RGB").crop((150, 20, 370, 240)).resize((110, 110)))
    rng = np.random.default_rng(0)
    room = (rng.random((360, 640, 3)) * 40 + 90).astype(np.uint8)

    def frame(i):
        f = room.copy()
        if i < 24:
            f[100:210, 60:170] = face
        elif i >= 72:
            f[120:230, 460:570] = face
        return f

    clip = encode_clip(tmp_path / "comeback.mp4", (frame(i) for i in range(96)), 24)
    result = scan([clip], ScanSettings(), backend)
    assert result.errors == [] and result.tracks == 2
    assert len(result.banks) == 1
    frames = sorted(s.frame for s in result.banks[0].sources)
    assert frames[0] < 24 and frames[-1] >= 72 and not any(24 <= f < 72 for f in frames)


def test_read_ahead_keeps_order_raises_errors_and_stops_early():
    from lengthen.faces.scan import _read_ahead

    assert list(_read_ahead(iter(range(50)))) == list(range(50))

    def broken():
        yield 1
        raise MediaError("frame 2 cannot be decoded")

    got = []
    with pytest.raises(MediaError, match="frame 2"):
        for item in _read_ahead(broken()):
            got.append(item)
    assert got == [1]

    closed = []

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.append(True)

    reader = _read_ahead(endless())
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()  # the consumer leaves early (a cancelled scan): the producer stops and closes
    assert closed == [True]


def test_scan_uses_its_threads_and_gives_torch_back_its_own(testdata, backend, monkeypatch):
    """One core is left for decoding by default; explicit threads win; torch's setting is restored."""
    import torch

    import lengthen.faces.scan as scan_module

    seen = []
    real = scan_module._scan

    def spy(*args):
        seen.append(torch.get_num_threads())
        return real(*args)

    monkeypatch.setattr(scan_module, "_scan", spy)
    monkeypatch.setattr(scan_module.os, "cpu_count", lambda: 8)
    before = torch.get_num_threads()
    photo = testdata / "images" / "skimage__astronaut.png"
    torch.set_num_threads(4)
    try:
        scan([photo], ScanSettings(), backend)
        scan([photo], ScanSettings(threads=2), backend)
        assert torch.get_num_threads() == 4
    finally:
        torch.set_num_threads(before)
    assert seen == [4, 2]  # min(torch's 4, 8 cores - 1); then as asked
