"""Tracking and clustering: pure logic on embedding arrays, and clustering of real photos."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from lengthen.faces.cluster import SAME_PERSON, agglomerate, cosine_matrix
from lengthen.faces.scan import ScanSettings, detect_scale, sample_frames
from lengthen.faces.track import TrackSettings, box_iou, track_faces


def unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def person(rng, d=16):
    return unit(rng.normal(size=d))


def jitter(rng, e, amount=0.05):
    return unit(e + amount * rng.normal(size=e.shape))


def test_box_iou():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0]])


def test_tracks_follow_two_people_and_end_after_a_gap():
    rng = np.random.default_rng(0)
    p, q = person(rng), person(rng)
    boxes, emb, frames = [], [], []
    # five frames with both people moving slowly, then p vanishes for 5 frames and comes back
    layout = [(p, q)] * 5 + [(q,)] * 5 + [(p, q)]
    for i, people in enumerate(layout):
        ids = []
        for who in people:
            x = 10 + 3 * i if who is p else 200 - 3 * i
            boxes.append([x, 50, x + 40, 90])
            emb.append(jitter(rng, who))
            ids.append(len(boxes) - 1)
        frames.append(ids)
    settings = TrackSettings(strong=0.9, weak=0.6, min_iou=0.3, max_gap=2)
    tracks = track_faces(frames, np.array(boxes), np.array(emb), settings)
    whose = [[("p" if np.dot(emb[f], p) > 0.8 else "q") for f in t] for t in tracks]
    assert all(len(set(w)) == 1 for w in whose)  # no track mixes people
    lengths = sorted(len(t) for t in tracks)
    assert lengths == [1, 5, 11]  # q throughout; p's first run; p again after the gap (new track)
    for t in tracks:  # no two faces of one frame in one track
        assert len({next(i for i, ids in enumerate(frames) if f in ids) for f in t}) == len(t)


def test_overlap_links_a_weaker_match_but_distance_does_not():
    rng = np.random.default_rng(1)
    p = person(rng)
    a, b = p, jitter(rng, p, 0.6)  # same person, poor second view
    sim = float(a @ b)
    settings = TrackSettings(strong=sim + 0.05, weak=sim - 0.05, min_iou=0.3, max_gap=2)
    near = track_faces([[0], [1]], np.array([[0, 0, 40, 40], [4, 0, 44, 40]]), np.stack([a, b]), settings)
    far = track_faces([[0], [1]], np.array([[0, 0, 40, 40], [300, 0, 340, 40]]), np.stack([a, b]), settings)
    assert len(near) == 1 and len(far) == 2


def test_agglomerate_groups_and_respects_cannot_link():
    rng = np.random.default_rng(2)
    p, q = person(rng), person(rng)
    vecs = np.stack([jitter(rng, p), jitter(rng, q), jitter(rng, p), jitter(rng, q), jitter(rng, p)])
    assert agglomerate(vecs, 0.9) == [[0, 2, 4], [1, 3]]
    # 0 and 2 seen in one frame: they stay apart, 4 joins one of them
    split = agglomerate(vecs, 0.9, cannot_link=[(0, 2)])
    assert [1, 3] in split and len(split) == 3
    assert not any({0, 2} <= set(c) for c in split)
    assert agglomerate(vecs, 1.01) == [[i] for i in range(5)]
    assert agglomerate(np.zeros((0, 16)), 0.9) == []


def test_cosine_matrix_normalises():
    m = cosine_matrix(np.array([[2.0, 0], [0, 3.0], [1, 1]]))
    np.testing.assert_allclose(np.diag(m), 1.0)
    assert m[0, 2] == pytest.approx(np.sqrt(0.5))


def test_sample_frames_exact_on_ntsc_rates():
    s = ScanSettings()
    frames = sample_frames(90, Fraction(30000, 1001), s)
    assert frames == [0, 14, 29, 44, 59, 74]  # floor(k * 14.985); 6 * 14.985 > 89
    assert sample_frames(240, Fraction(24), s, 65, 184) == list(range(65, 185, 12))
    assert sample_frames(10, Fraction(24), ScanSettings(every_frame=True), 2, 5) == [2, 3, 4, 5]
    assert sample_frames(10, Fraction(1), s) == list(range(10))  # slower than sampling: all
    assert sample_frames(10, Fraction(24), s, 5, 4) == []


def test_detect_scale_targets_the_minimum_face_and_caps_the_cost():
    s = ScanSettings()  # 32 px faces, dlib finds 80 px: enlarge 2.5x, long side at most 2048
    assert detect_scale("dlib", 480, 640, s) == pytest.approx(2.5)
    assert detect_scale("dlib", 1080, 1920, s) == pytest.approx(2048 / 1920)
    assert detect_scale("dlib", 2160, 3840, s) == 1.0  # never shrinks
    assert detect_scale("insightface", 480, 640, s) == 1.0


@pytest.fixture(scope="module")
def identity_embeddings(shared_testdata):  # only built for the shared layer
    from PIL import Image

    from lengthen.faces.backends.registry import get_backend

    backend = get_backend("dlib")
    labels, chips = [], []

    def load(path):  # half size: faces stay well above dlib's 80 px and detection is 4x cheaper
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB").reduce(2))

    for folder in ("meds_S001", "meds_S044", "meds_S048"):
        for path in sorted((shared_testdata / "identities" / folder).glob("*.jpg"))[:3]:
            image = load(path)
            det = max(backend.detect(image), key=lambda d: d.height)
            chips.append(backend.align(image, [det])[0])
            labels.append(folder)
    for path in sorted((shared_testdata / "identities" / "meds_distractors").glob("*.jpg")):
        image = load(path)
        det = max(backend.detect(image), key=lambda d: d.height)
        chips.append(backend.align(image, [det])[0])
        labels.append(path.name[:4])
    return labels, backend.embed(np.stack(chips))


@pytest.mark.shared  # MEDS-II booking photos may not ship: an extra layer when ../shared exists
def test_real_photos_cluster_by_person(identity_embeddings):
    labels, emb = identity_embeddings
    clusters = agglomerate(emb, SAME_PERSON["dlib"])
    for c in clusters:
        assert len({labels[i] for i in c}) == 1, [labels[i] for i in c]
    for folder in ("meds_S001", "meds_S044", "meds_S048"):
        holding = [c for c in clusters if any(labels[i] == folder for i in c)]
        assert len(holding) == 1, folder  # all three photos of a person together
    assert len(clusters) == 3 + 4


def test_shipped_photos_cluster_by_person(testdata):
    """The essential layer, on redistributable photos: the astronaut seen at two scales and
    mirrored stays one person, and neither woman on the bench joins her. (The two women look alike
    enough, cosine 0.94, that dlib's descriptors cannot tell them apart: the MEDS layer tests that.)"""
    from PIL import Image, ImageOps

    from lengthen.faces.backends.registry import get_backend

    backend = get_backend("dlib")
    labels, chips = [], []

    def add(image, label):
        image = np.asarray(image.convert("RGB"))
        for det in backend.detect(image):
            chips.append(backend.align(image, [det])[0])
            labels.append(label)

    with Image.open(testdata / "images" / "skimage__astronaut.png") as im:
        add(im, "astronaut")
        add(ImageOps.mirror(im), "astronaut")
        add(im.resize((384, 384)), "astronaut")
    with Image.open(testdata / "images" / "openmpf__girl-1741925_1920.jpg") as im:
        small = im.reduce(2)
        add(small, "bench")
    assert labels.count("astronaut") == 3 and labels.count("bench") == 2
    clusters = agglomerate(backend.embed(np.stack(chips)), SAME_PERSON["dlib"])
    astro = [c for c in clusters if any(labels[i] == "astronaut" for i in c)]
    assert len(astro) == 1 and sorted(labels[i] for i in astro[0]) == ["astronaut"] * 3
    assert all(labels[i] == "bench" for c in clusters if c is not astro[0] for i in c)
