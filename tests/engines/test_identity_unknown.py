"""Identity readouts name nobody below the same-person threshold (issue 22, bug 5): a face that
matches no character is *unknown*, with the threshold given, never "the nearest character"."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lengthen.engines.rerank import identity_scores
from lengthen.faces.cluster import same_person_threshold
from lengthen.faces.scan import add_reference_photo


@pytest.fixture(scope="module")
def backend():
    from lengthen.faces.backends.registry import get_backend

    return get_backend("dlib")


def _image(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_a_stranger_reads_as_unknown_with_the_threshold(testdata, backend, tmp_path):
    images = testdata / "images"
    girl = tmp_path / "girl.jpg"  # a third of the size: her face about as big as the astronaut's (95 px)
    with Image.open(images / "openmpf__girl-1741925_1920.jpg") as im:
        im.resize((im.width // 3, im.height // 3)).save(girl)
    banks = add_reference_photo([], "Thom", girl, backend)
    astronaut = _image(images / "skimage__astronaut.png")  # another woman, never made a character
    scores = identity_scores(astronaut[None], banks, backend, stride=1)
    threshold = same_person_threshold("dlib")
    assert scores.threshold == threshold == 0.90 and scores["char_001"]["threshold"] == threshold
    thom = scores["char_001"]
    assert thom["mean"] is None and thom["missing"] == 1  # not read as "Thom 0.8x"
    assert scores.unknown["faces"] == 1 and scores.unknown["frames"] == 1
    (nearest,) = scores.unknown["nearest"].values()
    # 0.86: above the tracker's weak link (0.80), which used to read her as "Thom 0.86"; below 0.90
    assert 0.80 <= nearest < threshold
    # the same face as the bank's own photo is Thom
    again = add_reference_photo(banks, "Astro", images / "skimage__astronaut.png", backend)
    scores = identity_scores(astronaut[None], again, backend, stride=1)
    assert scores["char_002"]["mean"] > 0.99 and scores.unknown["faces"] == 0
