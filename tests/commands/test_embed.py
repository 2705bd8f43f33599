"""`lengthen embed` on real images with the default (dlib) backend."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from lengthen.cli import main


def test_embed_json_one_face_bad_image_and_no_face(testdata, tmp_path, capsys):
    astronaut = str(testdata / "images" / "skimage__astronaut.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((120, 160, 3), 128, np.uint8)).save(blank)

    code = main(["embed", "--json", astronaut, str(broken), str(blank)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "broken.png" in err and err.count("error") == 1
    images = json.loads(out)["images"]
    assert [im["path"] for im in images] == [astronaut, str(blank)]
    (face,) = images[0]["faces"]
    assert len(face["box"]) == 4 and np.asarray(face["landmarks"]).shape == (5, 2)
    emb = np.asarray(face["embedding"])
    assert emb.shape == (128,) and abs(np.linalg.norm(emb) - 1) < 1e-5
    left, top, right, bottom = face["box"]
    assert all(left <= x <= right and top <= y <= bottom for x, y in face["landmarks"])
    assert images[1]["faces"] == []


def test_embed_table_and_exit_zero_without_faces(testdata, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(blank)
    astronaut = str(testdata / "images" / "skimage__astronaut.png")
    assert main(["embed", str(blank), astronaut, "--upsample", "0"]) == 0
    out = capsys.readouterr().out
    assert "no faces" in out and "skimage__astronaut.png" in out


def test_embed_raw_descriptors_and_bad_backend(testdata, capsys):
    astronaut = str(testdata / "images" / "skimage__astronaut.png")
    assert main(["embed", "--json", "--raw", astronaut]) == 0
    emb = np.asarray(json.loads(capsys.readouterr().out)["images"][0]["faces"][0]["embedding"])
    assert 1.2 < np.linalg.norm(emb) < 1.8  # dlib's raw descriptor scale
    assert main(["embed", "--backend", "nope", astronaut]) == 2
    assert "known backends" in capsys.readouterr().err
