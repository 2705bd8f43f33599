"""IdentityBank: everything lengthen knows about one character's face, and its folder format.

A bank folder holds ``bank.json`` (schema ``lengthen.identity_bank`` version 1: id, name,
backend, one record per face with its source and quality, the reference indices),
``embeddings.safetensors`` (``embeddings`` float32 (N, D), L2-normalised) and ``crops/NNNNNN.png``
(the aligned chips, lossless). A bank set is a folder with ``characters.json`` (schema
``lengthen.characters`` version 1) listing one bank folder per character.

Saves are atomic: a bank is written to a temporary sibling folder and renamed into place, so a
failed or cancelled save leaves the previous bank as it was. Loading checks everything and
raises :class:`~lengthen.errors.FaceError` naming the offending file.

Editing functions (``rename``, ``merge``, ``split``, ``recluster``, ``drop``, ``drop_face``)
take a list of banks and return a new list; the input banks are not changed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import FaceError, LengthenError
from ..fsutil import atomic_dir, atomic_write_text, makedirs
from ..guards import check_id, check_name, contained, read_image_rgb, read_json
from .quality import FaceQuality, select_references

BANK_SCHEMA, BANK_VERSION = "lengthen.identity_bank", 1
SET_SCHEMA, SET_VERSION = "lengthen.characters", 1
TOP_K = 8


@dataclass(frozen=True)
class FaceSource:
    media: str  # the file the face came from (a clip, or a photo added by hand)
    frame: int  # 0-based frame index in that file
    box: tuple[float, float, float, float]  # left, top, right, bottom in source pixels
    landmarks: tuple[tuple[float, float], ...]  # 5 (x, y) in source pixels, backend order
    manual: bool = False  # a reference photo an editor added by hand

    def to_dict(self) -> dict:
        return {
            "media": self.media,
            "frame": self.frame,
            "box": list(self.box),
            "landmarks": [list(p) for p in self.landmarks],
            "manual": self.manual,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "FaceSource":
        box = tuple(_finite(v, "box") for v in d["box"])
        landmarks = tuple((_finite(x, "landmark"), _finite(y, "landmark")) for x, y in d["landmarks"])
        if len(box) != 4:
            raise ValueError(f"a face box has 4 numbers, not {len(box)}")
        manual = d.get("manual", False)
        if not isinstance(manual, bool) or isinstance(d["frame"], bool):
            raise ValueError("'manual' is true or false and 'frame' a whole number")
        return cls(str(d["media"]), int(d["frame"]), box, landmarks, manual)


def _finite(value, what: str) -> float:
    """A float from a bank file, refusing NaN, infinities, booleans and text."""
    import math

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} value {value!r} is not a finite number")
    return float(value)


@dataclass(frozen=True)
class Appearance:
    media: str
    first_frame: int
    last_frame: int


@dataclass
class IdentityBank:
    id: str  # stable, "char_001"
    name: str  # editable
    backend: str
    embedding_dim: int
    chip_size: int
    embeddings: np.ndarray = field(repr=False)  # (N, D) float32, L2-normalised
    crops: np.ndarray = field(repr=False)  # (N, S, S, 3) uint8 aligned chips
    sources: list[FaceSource] = field(default_factory=list)
    quality: list[FaceQuality] = field(default_factory=list)
    references: list[int] = field(default_factory=list)  # indices of the top-K reference faces

    def __post_init__(self) -> None:
        n = len(self.sources)
        d, s = self.embedding_dim, self.chip_size
        if self.embeddings.shape != (n, d) or self.crops.shape != (n, s, s, 3) or len(self.quality) != n:
            raise FaceError(
                f"inconsistent bank {self.id!r}: {n} sources, {len(self.quality)} quality records, "
                f"embeddings {self.embeddings.shape} (want ({n}, {d})), crops {self.crops.shape}"
            )
        if any(not 0 <= r < n for r in self.references):
            raise FaceError(f"bank {self.id!r}: reference index out of range 0..{n - 1}")

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def centroid(self) -> np.ndarray:
        """(D,) float32: the normalised mean embedding."""
        mean = self.embeddings.astype(np.float64).mean(0)
        return (mean / max(np.linalg.norm(mean), 1e-12)).astype(np.float32)

    def similarity(self, embeddings: np.ndarray) -> np.ndarray:
        """(M, D) -> (M,) cosine similarity to the centroid."""
        e = np.asarray(embeddings, np.float32).reshape(-1, self.embedding_dim)
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        return e @ self.centroid

    def reference_embeddings(self) -> np.ndarray:
        return self.embeddings[self.references]  # (K, D)

    def reference_crops(self) -> np.ndarray:
        return self.crops[self.references]  # (K, S, S, 3)

    def appearances(self) -> list[Appearance]:
        """First and last frame per media file, in order of first appearance (hand-added photos
        are not appearances)."""
        spans: dict[str, list[int]] = {}
        for src in self.sources:
            if not src.manual:
                span = spans.setdefault(src.media, [src.frame, src.frame])
                span[0], span[1] = min(span[0], src.frame), max(span[1], src.frame)
        return [Appearance(m, a, b) for m, (a, b) in spans.items()]

    def subset(self, indices: Sequence[int], top_k: int = TOP_K, **changes) -> "IdentityBank":
        """A bank made of the listed faces, with references chosen again."""
        idx = [int(i) for i in indices]
        bank = replace(
            self,
            embeddings=self.embeddings[idx],
            crops=self.crops[idx],
            sources=[self.sources[i] for i in idx],
            quality=[self.quality[i] for i in idx],
            references=[],
            **changes,
        )
        return bank.with_references(top_k)

    def with_references(self, top_k: int = TOP_K) -> "IdentityBank":
        manual = [i for i, s in enumerate(self.sources) if s.manual][:top_k]
        rest = [i for i in range(len(self)) if i not in manual]
        picked = select_references(
            self.embeddings[rest], [self.quality[i].combined for i in rest], top_k - len(manual)
        )
        return replace(self, references=manual + [rest[i] for i in picked])

    # ---- folder format -------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        with atomic_dir(folder) as tmp:  # the old bank stays until the new one is complete
            self._write(tmp)
        return folder

    def _write(self, folder: Path) -> None:
        from PIL import Image
        from safetensors.numpy import save_file

        (folder / "crops").mkdir()
        faces = []
        for i, (src, q) in enumerate(zip(self.sources, self.quality)):
            crop = f"crops/{i:06d}.png"
            Image.fromarray(self.crops[i]).save(folder / crop)
            faces.append({**src.to_dict(), "quality": q.to_dict(), "crop": crop})
        save_file(
            {"embeddings": np.ascontiguousarray(self.embeddings, np.float32)}, str(folder / "embeddings.safetensors")
        )
        doc = {
            "schema": BANK_SCHEMA,
            "version": BANK_VERSION,
            "id": self.id,
            "name": self.name,
            "backend": self.backend,
            "embedding_dim": self.embedding_dim,
            "chip_size": self.chip_size,
            "references": self.references,
            "faces": faces,
        }
        (folder / "bank.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "IdentityBank":

        folder = Path(folder)
        doc = _read_json(folder / "bank.json", BANK_SCHEMA, BANK_VERSION)
        try:
            faces = doc["faces"]
            sources = [FaceSource.from_dict(f) for f in faces]
            quality = [FaceQuality.from_dict(f["quality"]) for f in faces]
            for q in quality:
                for key, value in q.to_dict().items():
                    _finite(value, f"quality {key}")
            dim, size = int(doc["embedding_dim"]), int(doc["chip_size"])
            head = dict(
                id=check_id(doc["id"], "bank id", folder / "bank.json", FaceError),
                name=check_name(doc["name"], "character name", folder / "bank.json", FaceError),
                backend=str(doc["backend"]),
                embedding_dim=dim,
                chip_size=size,
            )
            references = [int(r) for r in doc["references"]]
            if not 0 < dim <= 4096 or not 0 < size <= 1024:
                raise ValueError(f"embedding_dim {dim} or chip_size {size} out of range")
        except (KeyError, TypeError, ValueError) as exc:
            raise FaceError(
                f"malformed identity bank ({exc.__class__.__name__}: {exc})", path=folder / "bank.json"
            ) from None
        st = folder / "embeddings.safetensors"
        if not st.is_file():
            raise FaceError("missing embeddings file", path=st)
        try:
            from safetensors.numpy import load_file

            embeddings = load_file(str(st))["embeddings"]
        except Exception as exc:
            raise FaceError(f"unreadable embeddings ({exc.__class__.__name__}: {exc})", path=st) from None
        if embeddings.dtype != np.float32 or embeddings.shape != (len(faces), dim):
            raise FaceError(
                f"embeddings {embeddings.dtype} {embeddings.shape} do not match bank.json "
                f"({len(faces)} faces, dimension {dim})",
                path=st,
            )
        if not np.isfinite(embeddings).all():
            raise FaceError("embeddings hold NaN or infinite values", path=st)
        crops = np.zeros((len(faces), size, size, 3), np.uint8)
        for i, f in enumerate(faces):
            path = contained(folder, f.get("crop", f"crops/{i:06d}.png"), "face crop", folder / "bank.json", FaceError)
            crop = read_image_rgb(path, FaceError, "face crop")
            if crop.shape != (size, size, 3):
                raise FaceError(f"face crop is {crop.shape}, want ({size}, {size}, 3)", path=path)
            crops[i] = crop
        try:
            return cls(
                embeddings=embeddings, crops=crops, sources=sources, quality=quality, references=references, **head
            )
        except FaceError as exc:
            raise FaceError(exc.message, path=folder / "bank.json") from None


def _read_json(path: Path, schema: str, version: int) -> dict:
    if not Path(path).is_symlink() and not path.exists():
        raise FaceError("missing file", path=path)
    doc = read_json(path, path.name, FaceError)  # a regular file, size and depth checked, no NaN
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        raise FaceError(
            f"not a {schema} file (schema {doc.get('schema') if isinstance(doc, dict) else None!r})", path=path
        )
    if doc.get("version") != version:
        raise FaceError(
            f"unsupported {schema} version {doc.get('version')!r} (this lengthen reads {version})", path=path
        )
    return doc


# ---- bank sets -------------------------------------------------------------------------------


def load_banks(directory: str | Path) -> list[IdentityBank]:
    directory = Path(directory)
    doc = _read_json(directory / "characters.json", SET_SCHEMA, SET_VERSION)
    index = directory / "characters.json"
    try:
        folders = [c["folder"] for c in doc["characters"]]
    except (KeyError, TypeError) as exc:
        raise FaceError(f"malformed character list ({exc})", path=index) from None
    for f in folders:  # one folder name inside the set, never a path out of it
        check_id(f, "character folder", index, FaceError)
    banks = [IdentityBank.load(contained(directory, f, "character folder", index, FaceError)) for f in folders]
    ids = [b.id for b in banks]
    if len(set(ids)) != len(ids):
        raise FaceError(f"duplicate character ids {ids}", path=index)
    return banks


def save_banks(banks: Sequence[IdentityBank], directory: str | Path) -> Path:
    """Write ``characters.json`` and one folder per bank; folders of characters that the old
    ``characters.json`` listed and this set no longer has are removed afterwards."""
    directory = Path(directory)
    ids = [check_id(b.id, "bank id", directory, FaceError) for b in banks]
    for b in banks:
        check_name(b.name, "character name", directory, FaceError)
    if len(set(ids)) != len(ids):
        raise FaceError(f"duplicate character ids {ids}", path=directory)
    old_folders: list[str] = []
    index = directory / "characters.json"
    if index.exists():  # an existing bank set: must be ours and readable before we touch it
        old = _read_json(index, SET_SCHEMA, SET_VERSION)
        old_folders = [str(c.get("folder")) for c in old.get("characters", []) if isinstance(c, dict)]
        old_folders = [f for f in old_folders if _is_id(f)]
    makedirs(directory)
    for bank in banks:
        bank.save(directory / bank.id)
    doc = {
        "schema": SET_SCHEMA,
        "version": SET_VERSION,
        "characters": [{"id": b.id, "name": b.name, "folder": b.id, "faces": len(b)} for b in banks],
    }
    atomic_write_text(index, json.dumps(doc, indent=1))
    for name in set(old_folders) - set(ids):
        stale = directory / name
        if stale.parent == directory and (stale / "bank.json").is_file():
            shutil.rmtree(stale, ignore_errors=True)
    return directory


# ---- editing ---------------------------------------------------------------------------------


def find(banks: Sequence[IdentityBank], key: str) -> int:
    """Index of the bank whose id (or else unique name) is ``key``."""
    for i, b in enumerate(banks):
        if b.id == key:
            return i
    named = [i for i, b in enumerate(banks) if b.name == key]
    if len(named) == 1:
        return named[0]
    known = ", ".join(f"{b.id} ({b.name})" for b in banks) or "none"
    why = "several characters are named" if named else "no character with id or name"
    raise FaceError(f"{why} {key!r}; characters: {known}")


def next_id(banks: Sequence[IdentityBank]) -> str:
    used = {b.id for b in banks}
    n = 1
    while f"char_{n:03d}" in used:
        n += 1
    return f"char_{n:03d}"


def _is_id(text: str) -> bool:
    try:
        check_id(text, "id")
    except LengthenError:
        return False
    return True


def rename(banks: Sequence[IdentityBank], key: str, name: str) -> list[IdentityBank]:
    check_name(name, "new character name", error=FaceError)
    out = list(banks)
    i = find(out, key)
    out[i] = replace(out[i], name=name)
    return out


def merge(banks: Sequence[IdentityBank], a: str, b: str, top_k: int = TOP_K) -> list[IdentityBank]:
    """Bank ``a`` absorbs every face of bank ``b``; ``b`` disappears."""
    out = list(banks)
    ia, ib = find(out, a), find(out, b)
    if ia == ib:
        raise FaceError(f"cannot merge {a!r} with itself")
    A, B = out[ia], out[ib]
    if (A.backend, A.embedding_dim, A.chip_size) != (B.backend, B.embedding_dim, B.chip_size):
        raise FaceError(f"cannot merge {A.id} ({A.backend}) with {B.id} ({B.backend}): different backends")
    out[ia] = replace(
        A,
        embeddings=np.concatenate([A.embeddings, B.embeddings]),
        crops=np.concatenate([A.crops, B.crops]),
        sources=A.sources + B.sources,
        quality=A.quality + B.quality,
        references=[],
    ).with_references(top_k)
    del out[ib]
    return out


def split(
    banks: Sequence[IdentityBank], key: str, faces: Sequence[int], name: str | None = None, top_k: int = TOP_K
) -> list[IdentityBank]:
    """Move the listed faces of one bank into a new character (appended, with a new id)."""
    out = list(banks)
    i = find(out, key)
    bank, moved = out[i], sorted(set(int(f) for f in faces))
    if not moved or moved[0] < 0 or moved[-1] >= len(bank) or len(moved) == len(bank):
        raise FaceError(
            f"split of {bank.id} needs face indices within 0..{len(bank) - 1}, "
            f"leaving at least one face (got {list(faces)})"
        )
    keep = [f for f in range(len(bank)) if f not in set(moved)]
    new = bank.subset(moved, top_k, id=next_id(out), name=name or f"{bank.name} (split)")
    out[i] = bank.subset(keep, top_k)
    return out + [new]


def recluster(banks: Sequence[IdentityBank], key: str, threshold: float, top_k: int = TOP_K) -> list[IdentityBank]:
    """Split one bank by clustering its faces again at a (tighter) cosine ``threshold``; the
    biggest group keeps the id, the others become new characters. Faces seen in the same frame
    of the same media are never put together."""
    from .cluster import agglomerate

    out = list(banks)
    bank = out[find(out, key)]
    seen: dict[tuple[str, int], list[int]] = {}
    for f, s in enumerate(bank.sources):
        if not s.manual:
            seen.setdefault((s.media, s.frame), []).append(f)
    apart = [(x, y) for group in seen.values() for x in group for y in group if x < y]
    groups = sorted(agglomerate(bank.embeddings, threshold, apart), key=len, reverse=True)
    i = find(out, key)
    out[i] = bank.subset(groups[0], top_k)
    for n, extra in enumerate(groups[1:], start=2):
        out.append(bank.subset(extra, top_k, id=next_id(out), name=f"{bank.name} ({n})"))
    return out


def drop(banks: Sequence[IdentityBank], key: str) -> list[IdentityBank]:
    out = list(banks)
    del out[find(out, key)]
    return out


def drop_face(banks: Sequence[IdentityBank], key: str, face: int, top_k: int = TOP_K) -> list[IdentityBank]:
    out = list(banks)
    i = find(out, key)
    bank = out[i]
    if not 0 <= face < len(bank):
        raise FaceError(f"{bank.id} has faces 0..{len(bank) - 1}, not {face}")
    if len(bank) == 1:
        raise FaceError(f"{bank.id} has only this face; drop the character instead")
    out[i] = bank.subset([f for f in range(len(bank)) if f != face], top_k)
    return out
