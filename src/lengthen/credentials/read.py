"""Read and validate the Content Credentials of any file (``lengthen verify``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import MediaError
from ..guards import check_regular_file
from .identity import c2pa_module
from .manifest import GENERATION_LABEL, SPLICE_LABEL

SIDECAR_SUFFIX = ".c2pa"


def read_credentials(path: str | Path) -> dict:
    """A plain summary: ``has_credentials``, ``validation_state`` (Invalid / Valid / Trusted),
    ``valid`` (the manifest and the file's hash check out), ``trusted`` (the signer chains to a
    trust anchor the reader knows), failures, and the active manifest's claims."""
    c2pa = c2pa_module()
    p = check_regular_file(Path(path))  # a folder, a FIFO or a missing file: one line saying which
    sidecar = p.with_suffix(SIDECAR_SUFFIX)
    try:
        with open(p, "rb") as stream:
            reader = None
            try:
                reader = c2pa.Reader.try_create(p.suffix.lstrip(".").lower() or "application/octet-stream", stream)
            except c2pa.C2paError.NotSupported:
                reader = None
            if reader is None and sidecar.is_file():
                stream.seek(0)
                reader = c2pa.Reader(p.suffix.lstrip(".").lower(), stream, sidecar.read_bytes())
            if reader is None:
                return {"path": str(p), "has_credentials": False}
            with reader:
                state = reader.get_validation_state()
                results = reader.get_validation_results() or {}
                manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError as exc:
        return {
            "path": str(p),
            "has_credentials": True,
            "validation_state": "Invalid",
            "valid": False,
            "trusted": False,
            "failures": [{"code": exc.__class__.__name__, "explanation": str(exc)}],
        }
    except OSError as exc:
        raise MediaError(f"cannot read ({exc})", path=p) from None
    active = results.get("activeManifest", {}) if isinstance(results, dict) else {}
    failures = [f for f in active.get("failure", []) if f.get("code") != "signingCredential.untrusted"]
    untrusted = any(f.get("code") == "signingCredential.untrusted" for f in active.get("failure", []))
    return {
        "path": str(p),
        "has_credentials": True,
        "validation_state": state,
        "valid": state in ("Valid", "Trusted") and not failures,
        "trusted": state == "Trusted" and not untrusted,
        "failures": failures,
        "manifest": summarize(manifest),
    }


def summarize(manifest: dict) -> dict:
    actions, ours = [], {}
    for assertion in manifest.get("assertions", []):
        label = assertion.get("label", "")
        if label.startswith("c2pa.actions"):
            for a in assertion.get("data", {}).get("actions", []):
                actions.append(
                    {k: a[k] for k in ("action", "digitalSourceType", "description", "softwareAgent") if k in a}
                )
        elif label in (GENERATION_LABEL, SPLICE_LABEL):
            ours[label] = assertion.get("data", {})
    sig = manifest.get("signature_info", {})
    return {
        "title": manifest.get("title"),
        "claim_generator": [
            " ".join(str(g.get(k, "")) for k in ("name", "version")).strip()
            for g in manifest.get("claim_generator_info", [])
        ],
        "signer": {k: sig.get(k) for k in ("common_name", "issuer", "alg", "time") if sig.get(k)},
        "actions": actions,
        "ingredients": [
            {k: i[k] for k in ("title", "format", "relationship", "instance_id") if k in i}
            for i in manifest.get("ingredients", [])
        ],
        "lengthen": ours,
    }
