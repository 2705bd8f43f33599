"""Build, sign and embed the manifest of a file lengthen generated.

A generated head or tail says: ``c2pa.created`` by lengthen with digital source type *trained
algorithmic media*; the source media as an ingredient (``inputTo``, identified by its SHA-256 in
``instance_id``, with its own credentials if it has any); and our assertion
``org.lengthen.generation`` (engine, model and weights id, seed, identity banks, the frame range
on the source's frame line, timecodes, how the sound was made). A spliced file says
``c2pa.created`` with *composite with trained algorithmic media*, the source and the generated
files as ingredients, and ``org.lengthen.splice`` listing which of its frames are generated.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from .. import __version__
from ..errors import MediaError
from ..fsutil import atomic_path, file_stamp
from .identity import SignerConfig, c2pa_module

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = IPTC + "trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED = IPTC + "compositeWithTrainedAlgorithmicMedia"
GENERATION_LABEL = "org.lengthen.generation"
SPLICE_LABEL = "org.lengthen.splice"

_HASHES: dict[tuple, str] = {}
_HASH_LOCK = threading.Lock()


def sha256_file(path: str | Path) -> str:
    p = Path(path)
    key = file_stamp(p)  # None (not a regular file): open() below raises naming it
    with _HASH_LOCK:
        if key is not None and key in _HASHES:
            return _HASHES[key]
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if key is not None:
        with _HASH_LOCK:
            _HASHES[key] = h.hexdigest()
    return h.hexdigest()


def _mime(path: Path) -> str:
    return {
        ".mov": "video/quicktime",
        ".mp4": "video/mp4",
        ".m4v": "video/mp4",
        ".avi": "video/avi",
        ".webm": "video/webm",
        ".mkv": "video/x-matroska",
        ".mxf": "application/mxf",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".png": "image/png",
    }.get(path.suffix.lower(), "application/octet-stream")


def _software() -> dict:
    return {"name": "lengthen", "version": __version__}


def _ingredient(path: Path, relationship: str, description: str) -> dict:
    """The file as an ingredient identified by its SHA-256."""
    digest = sha256_file(path)
    ingredient = {
        "title": path.name,
        "relationship": relationship,
        "instance_id": f"sha256:{digest}",
        "description": description,
        "metadata": {"org.lengthen.sha256": digest, "org.lengthen.path": str(path)},
    }
    return ingredient


def _readable(path: Path) -> bool:
    """Whether C2PA reads this format (then the ingredient also carries the file's own credentials)."""
    return _mime(path) in set(c2pa_module().Builder.get_supported_mime_types())


def _sign_in_place(path: Path, manifest: dict, ingredients, signer: SignerConfig) -> None:
    """Write ``path`` again with the manifest embedded: through a temporary file beside it (the
    project's :func:`~lengthen.fsutil.atomic_path`), so a failure leaves the file as it was."""
    c2pa = c2pa_module()
    manifest = dict(manifest)
    read, listed = [], []
    for ing_path, relationship, description in ingredients:
        ing_path = Path(ing_path)
        entry = _ingredient(ing_path, relationship, description)
        (read if _readable(ing_path) else listed).append((ing_path, entry))
    # formats C2PA cannot open (WebM, MXF, MKV ...) are described by title, format and hash alone
    manifest["ingredients"] = [{**e, "format": _mime(p)} for p, e in listed]
    try:
        builder = c2pa.Builder(manifest)
        for ing_path, entry in read:
            with open(ing_path, "rb") as stream:
                builder.add_ingredient(entry, _mime(ing_path), stream)
        with atomic_path(path) as tmp:
            with signer.signer() as s, open(path, "rb") as src, open(tmp, "w+b") as dst:
                builder.sign(s, _mime(path), src, dst)
    except c2pa.C2paError as exc:
        raise MediaError(f"cannot write Content Credentials ({exc})", path=path) from None
    except OSError as exc:  # disk full, a file gone or unreadable: one line, not a traceback
        raise MediaError(f"cannot write Content Credentials ({exc.strerror or exc})", path=path) from None


def _manifest(path: Path, source_type: str, description: str, label: str, data: dict) -> dict:
    return {
        "claim_generator_info": [_software()],
        "title": path.name,
        "format": _mime(path),
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": source_type,
                            "softwareAgent": _software(),
                            "description": description,
                        }
                    ]
                },
            },
            {"label": label, "data": data},
        ],
    }


def sign_generated(path: str | Path, source_media: str | Path, generation: dict, signer: SignerConfig) -> dict:
    """Embed the manifest of a generated head/tail in ``path``; returns what report.json says."""
    path = Path(path)
    data = {**generation, "source_sha256": sha256_file(source_media), "signer": _signer_info(signer)}
    desc = f"{generation.get('frames_generated')} {generation.get('direction')} frames generated by lengthen"
    manifest = _manifest(path, TRAINED_ALGORITHMIC_MEDIA, desc, GENERATION_LABEL, data)
    _sign_in_place(path, manifest, [(source_media, "inputTo", "source media whose frames were the context")], signer)
    return _report(signer, "embedded", path)


def sign_spliced(path: str | Path, source_media: str | Path, generated: list[Path], splice: dict, signer) -> dict:
    """Embed the manifest of a spliced file (source frames with generated head/tail)."""
    path = Path(path)
    data = {**splice, "source_sha256": sha256_file(source_media), "signer": _signer_info(signer)}
    desc = "source frames joined with frames generated by lengthen (see org.lengthen.splice for the ranges)"
    manifest = _manifest(path, COMPOSITE_WITH_TRAINED, desc, SPLICE_LABEL, data)
    ingredients = [(source_media, "componentOf", "source media")]
    ingredients += [(g, "componentOf", "generated media") for g in generated]
    _sign_in_place(path, manifest, ingredients, signer)
    return _report(signer, "embedded", path)


def _signer_info(signer: SignerConfig) -> dict:
    return {"source": signer.source, "subject": signer.subject, "trusted_identity": signer.trusted_identity}


def _report(signer: SignerConfig, how: str, path: Path) -> dict:
    return {
        "written": True,
        "standard": "C2PA",
        "store": how,
        "media": str(path),
        "signer": signer.source,
        "signer_subject": signer.subject,
        "trusted_identity": signer.trusted_identity,
        "note": signer.note(),
    }
