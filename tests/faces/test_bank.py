"""IdentityBank: round trip, corrupt folders, editing, references, quality, contact sheet."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lengthen.errors import FaceError
from lengthen.faces import bank as B
from lengthen.faces.bank import FaceSource, IdentityBank, load_banks, save_banks
from lengthen.faces.contact_sheet import write_contact_sheet
from lengthen.faces.quality import FaceQuality, face_quality, frontal_score, laplacian_variance, select_references

DLIB_NAMES = (
    "eye_image_right_outer",
    "eye_image_right_inner",
    "eye_image_left_outer",
    "eye_image_left_inner",
    "nose_bottom",
)
FRONTAL = np.array([[120, 50], [95, 52], [30, 50], [55, 52], [75, 95]], np.float32)  # dlib order


def make_bank(rng, n=6, d=16, s=24, bank_id="char_001", name="Anna", media="/m/a.mov", offset=0):
    emb = rng.normal(size=(n, d)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    crops = rng.integers(0, 256, size=(n, s, s, 3), dtype=np.uint8)
    sources = [
        FaceSource(
            media,
            offset + 10 * i,
            (1.5 + i, 2.25, 40.125, 60.0 + i / 3),
            tuple((float(x) + i / 7, float(y)) for x, y in FRONTAL),
        )
        for i in range(n)
    ]
    quality = [
        face_quality(c, src.box, np.array(src.landmarks), 0.9 + i / 100, DLIB_NAMES)
        for i, (c, src) in enumerate(zip(crops, sources))
    ]
    return IdentityBank(bank_id, name, "dlib", d, s, emb, crops, sources, quality).with_references(4)


def assert_same(a: IdentityBank, b: IdentityBank):
    assert (a.id, a.name, a.backend, a.embedding_dim, a.chip_size) == (
        b.id,
        b.name,
        b.backend,
        b.embedding_dim,
        b.chip_size,
    )
    assert a.embeddings.dtype == b.embeddings.dtype == np.float32
    assert np.array_equal(a.embeddings, b.embeddings)
    assert a.crops.dtype == b.crops.dtype == np.uint8 and np.array_equal(a.crops, b.crops)
    assert a.sources == b.sources and a.quality == b.quality and a.references == b.references


def test_round_trip_keeps_every_field(tmp_path):
    bank = make_bank(np.random.default_rng(0))
    bank = B.rename([bank], "char_001", "Anna Ü")[0]
    bank.save(tmp_path / "char_001")
    doc = json.loads((tmp_path / "char_001" / "bank.json").read_text())
    assert doc["schema"] == "lengthen.identity_bank" and doc["version"] == 1
    assert_same(IdentityBank.load(tmp_path / "char_001"), bank)
    assert sorted(p.name for p in (tmp_path / "char_001" / "crops").iterdir())[0] == "000000.png"


def test_set_round_trip_and_stale_folders_removed(tmp_path):
    rng = np.random.default_rng(1)
    banks = [make_bank(rng), make_bank(rng, bank_id="char_002", name="Ben", media="/m/b.mov")]
    save_banks(banks, tmp_path)
    loaded = load_banks(tmp_path)
    for a, b in zip(loaded, banks):
        assert_same(a, b)
    merged = B.merge(loaded, "Anna", "char_002")
    save_banks(merged, tmp_path)
    assert not (tmp_path / "char_002").exists()
    assert [b.id for b in load_banks(tmp_path)] == ["char_001"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers


@pytest.mark.parametrize(
    "damage, culprit",
    [
        (lambda d: (d / "bank.json").write_text("{not json"), "bank.json"),
        (lambda d: (d / "bank.json").write_text(json.dumps({"schema": "other", "version": 1})), "bank.json"),
        (
            lambda d: (d / "bank.json").write_text(
                (d / "bank.json").read_text().replace('"version": 1', '"version": 99')
            ),
            "bank.json",
        ),
        (lambda d: (d / "embeddings.safetensors").unlink(), "embeddings.safetensors"),
        (lambda d: (d / "embeddings.safetensors").write_bytes(b"\x00" * 20), "embeddings.safetensors"),
        (lambda d: (d / "crops" / "000002.png").write_bytes(b"not a png"), "000002.png"),
    ],
)
def test_corrupt_bank_names_the_file_and_save_refuses(tmp_path, damage, culprit):
    rng = np.random.default_rng(2)
    save_banks([make_bank(rng)], tmp_path)
    damage(tmp_path / "char_001")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(FaceError) as err:
        load_banks(tmp_path)
    assert culprit in str(err.value)
    (tmp_path / "characters.json").write_text("{broken")
    with pytest.raises(FaceError, match="characters.json"):
        save_banks([make_bank(rng)], tmp_path)  # an unreadable set is never overwritten
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert set(after) == set(before) and all(after[p] == before[p] for p in before if p.name != "characters.json")


def test_mismatched_embeddings_are_rejected(tmp_path):
    from safetensors.numpy import save_file

    bank = make_bank(np.random.default_rng(3))
    bank.save(tmp_path / "b")
    save_file({"embeddings": np.zeros((5, 16), np.float32)}, str(tmp_path / "b" / "embeddings.safetensors"))
    with pytest.raises(FaceError, match=r"embeddings.safetensors.*do not match"):
        IdentityBank.load(tmp_path / "b")


def test_similarity_appearances_references():
    rng = np.random.default_rng(4)
    bank = make_bank(rng, n=8)
    assert bank.similarity(bank.embeddings).shape == (8,)
    assert bank.similarity(bank.centroid[None])[0] == pytest.approx(1.0, abs=1e-5)
    assert np.linalg.norm(bank.centroid) == pytest.approx(1.0, abs=1e-6)
    assert bank.appearances() == [B.Appearance("/m/a.mov", 0, 70)]
    assert len(bank.references) == 4 == len(set(bank.references))
    assert bank.reference_crops().shape == (4, 24, 24, 3)
    np.testing.assert_array_equal(bank.reference_embeddings(), bank.embeddings[bank.references])


def test_references_prefer_quality_and_diversity():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=8), rng.normal(size=8)
    emb = np.stack([a, a + 0.01, a + 0.02, b, b + 0.01])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    q = [0.9, 0.95, 0.9, 0.8, 0.1]
    refs = select_references(emb, q, 2)
    assert refs[0] == 1  # the best face first
    assert refs[1] == 3  # then the most different good face, not a near-duplicate of the first
    assert sorted(select_references(emb, q, 10)) == [0, 1, 2, 3, 4]  # asked for more: every face once


def test_editing():
    rng = np.random.default_rng(6)
    banks = [make_bank(rng), make_bank(rng, bank_id="char_002", name="Ben", media="/m/b.mov")]
    merged = B.merge(banks, "char_001", "Ben")
    assert [b.id for b in merged] == ["char_001"] and len(merged[0]) == 12
    assert len(banks[0]) == 6  # inputs untouched
    assert merged[0].appearances() == [B.Appearance("/m/a.mov", 0, 50), B.Appearance("/m/b.mov", 0, 50)]
    split = B.split(merged, "char_001", [6, 7, 8], name="Cleo")
    assert [(b.id, b.name, len(b)) for b in split] == [("char_001", "Anna", 9), ("char_002", "Cleo", 3)]
    np.testing.assert_array_equal(split[1].embeddings, merged[0].embeddings[[6, 7, 8]])
    assert len(B.drop(split, "Cleo")) == 1
    dropped = B.drop_face(split, "char_001", 0)
    assert dropped[0].sources == merged[0].sources[1:6] + merged[0].sources[9:]  # 6..8 were split off
    with pytest.raises(FaceError, match="no character"):
        B.rename(split, "char_009", "X")
    with pytest.raises(FaceError):
        B.merge(split, "char_001", "char_001")
    with pytest.raises(FaceError):
        B.split(split, "char_002", [0, 1, 2])  # would leave nothing


def test_recluster_splits_two_people():
    rng = np.random.default_rng(7)
    p, q = rng.normal(size=16), rng.normal(size=16)
    emb = np.stack(
        [p + 0.05 * rng.normal(size=16) for _ in range(4)] + [q + 0.05 * rng.normal(size=16) for _ in range(2)]
    )
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    bank = make_bank(rng)
    bank = bank.subset(range(6))
    bank = IdentityBank(bank.id, bank.name, bank.backend, 16, 24, emb, bank.crops, bank.sources, bank.quality)
    out = B.recluster([bank], "char_001", 0.9)
    assert [(b.id, len(b)) for b in out] == [("char_001", 4), ("char_002", 2)]
    np.testing.assert_array_equal(out[1].embeddings, emb[4:])


def test_quality_measures():
    profile = FRONTAL.copy()
    profile[4] = FRONTAL[0] + [5, 45]  # nose under the image-right eye
    assert frontal_score(FRONTAL, DLIB_NAMES) > 0.9
    assert frontal_score(profile, DLIB_NAMES) < 0.3
    rolled = FRONTAL @ np.array([[math.cos(0.6), math.sin(0.6)], [-math.sin(0.6), math.cos(0.6)]], np.float32)
    assert frontal_score(rolled, DLIB_NAMES) < frontal_score(FRONTAL, DLIB_NAMES)
    rng = np.random.default_rng(8)
    sharp = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    flat = np.full((64, 64, 3), 120, np.uint8)
    assert laplacian_variance(flat) == 0.0 < laplacian_variance(sharp)
    good = face_quality(sharp, (0, 0, 120, 120), FRONTAL, 1.0, DLIB_NAMES)
    poor = face_quality(flat, (0, 0, 20, 20), profile, 0.2, DLIB_NAMES)
    assert 0 < poor.combined < good.combined <= 1
    assert FaceQuality.from_dict(good.to_dict()) == good


def test_contact_sheet(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(9)
    banks = [make_bank(rng), make_bank(rng, bank_id="char_002", name="Ben")]
    path = write_contact_sheet(banks, tmp_path / "sheet.png", thumb=32)
    with Image.open(path) as im:
        assert im.size[1] == 8 + 2 * (32 + 8)
        px = np.asarray(im.convert("RGB"))
    # the first reference crop of Ben, resized, sits in row 2
    ref = np.asarray(Image.fromarray(banks[1].reference_crops()[0]).resize((32, 32), Image.BILINEAR))
    np.testing.assert_array_equal(px[48:80, 200:232], ref)
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]
    empty = write_contact_sheet([], tmp_path / "empty.png")
    assert empty.stat().st_size > 0
