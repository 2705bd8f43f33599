"""lengthen verify FILE...: print the C2PA Content Credentials of any file and whether they validate."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "verify",
        help="show a file's C2PA Content Credentials and whether they validate",
        description="Read the C2PA manifest of any file (lengthen's or another tool's): who signed it, what it "
        "says was done (actions, digital source type), its ingredients and lengthen's own assertion, and "
        "whether the signature and the file's hash check out. Exit 0 when every file has valid "
        "credentials, 1 when one has none or they fail, 2 when a FILE is missing or not a regular file (a folder, a "
        "FIFO, an empty file). Needs: pip install 'lengthen[credentials]'.",
        epilog="'valid' means intact and unaltered since signing; 'trusted' also needs the signer to chain to a "
        "trust anchor. lengthen's local test certificate is valid but never trusted.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several files)")


def _print(r: dict) -> None:
    """The human summary. Every line escaped: the path and the manifest (titles, signer, descriptions
    written by whatever tool signed the file) may hold control characters or ANSI escapes."""
    from ..errors import printable

    def line(text: str) -> None:
        print(printable(text))

    line(r["path"])
    if not r["has_credentials"]:
        line("  no Content Credentials")
        return
    verdict = "VALID" if r["valid"] else "INVALID"
    trust = "trusted signer" if r["trusted"] else "signer NOT a trusted identity"
    line(f"  credentials: {verdict} ({r['validation_state']}; {trust})")
    for f in r.get("failures", []):
        line(f"  failure: {f.get('code')}: {f.get('explanation')}")
    m = r.get("manifest")
    if not m:
        return
    signer = m["signer"]
    line(
        f"  signed by: {signer.get('common_name', '?')} (issuer {signer.get('issuer', '?')}, {signer.get('alg', '?')})"
    )
    line(f"  made with: {', '.join(m['claim_generator']) or '?'}")
    for a in m["actions"]:
        source = a.get("digitalSourceType", "").rsplit("/", 1)[-1]
        line(
            f"  action: {a.get('action')}"
            + (f" ({source})" if source else "")
            + (f": {a['description']}" if a.get("description") else "")
        )
    for i in m["ingredients"]:
        line(f"  ingredient: {i.get('title')} [{i.get('relationship')}] {i.get('instance_id', '')}")
    for label, data in m["lengthen"].items():
        line(f"  {label}:")
        for key, value in data.items():
            line(f"    {key}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")


def run(args) -> int:
    from ..credentials import read_credentials
    from ..errors import LengthenError, MissingDependency
    from . import say

    results, status = [], 0
    for path in args.files:
        try:
            r = read_credentials(path)
        except LengthenError as exc:
            if isinstance(exc, MissingDependency):  # not this file's fault: the run stops with the pip command
                raise
            say(f"lengthen verify: error: {exc}")
            status = max(status, exc.exit_code)
            continue
        results.append(r)
        if not (r["has_credentials"] and r["valid"]):
            status = max(status, 1)
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 and len(args.files) == 1 else results, indent=2))
    else:
        for r in results:
            _print(r)
    return status
