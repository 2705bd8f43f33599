"""``lengthen embed IMAGE...``: detect every face in still images, print boxes, 5 landmarks and
embeddings (a table, or JSON with --json). An unreadable image gets one error line on stderr and
exit code 1; the other images are still processed. An image without faces is listed with no faces.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import printable
from . import say
from .argtypes import nonnegative_int

HELP = "detect faces in images and print their boxes, landmarks and embeddings"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("embed", help=HELP, description=HELP + ".")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (anything Pillow reads)")
    p.add_argument("--json", action="store_true", help='print JSON: {"images": [{"path", "faces": [...]}]}')
    p.add_argument("--backend", default="dlib", help="face backend (default: dlib, our port of dlib's CC0 models)")
    p.add_argument("--upsample", type=nonnegative_int, default=None, metavar="N",
                   help="dlib only: upsample the image N times before detecting (finds smaller faces, "
                        "slower)")  # fmt: skip
    p.add_argument("--raw", action="store_true",
                   help="dlib only: print dlib's raw descriptors instead of L2-normalised embeddings")  # fmt: skip
    p.set_defaults(command="embed")
    return p


def _read_rgb(path: str):
    from ..errors import MediaError
    from ..guards import read_image_rgb

    return read_image_rgb(path, MediaError, "image")  # regular file; size checked before decoding


def embed_image(backend, path: str, raw: bool = False) -> dict:
    """One image -> {"path", "faces": [{"box", "score", "landmarks", "embedding"}]}."""
    image = _read_rgb(path)
    dets = backend.detect(image)
    chips = backend.align(image, dets)
    vectors = backend.embed(chips, normalize=False) if raw else backend.embed(chips)
    faces = [
        {
            "box": [float(v) for v in d.box],
            "score": float(d.score),
            "landmarks": [[float(x), float(y)] for x, y in d.landmarks],
            "embedding": [float(v) for v in vec],
        }
        for d, vec in zip(dets, vectors)
    ]
    return {"path": path, "faces": faces}


def _table(results: list[dict]) -> str:
    lines = [f"{'image':40s} {'face':>4s}  {'box (l t r b)':24s} {'score':>6s}  embedding"]
    for res in results:
        if not res["faces"]:
            lines.append(f"{printable(res['path'])[-40:]:40s} {'-':>4s}  no faces")
        for i, f in enumerate(res["faces"]):
            box = " ".join(f"{v:.0f}" for v in f["box"])
            emb = " ".join(f"{v:+.3f}" for v in f["embedding"][:4])
            lines.append(f"{printable(res['path'])[-40:]:40s} {i:4d}  {box:24s} {f['score']:6.3f}  [{emb} ...]")
    return "\n".join(lines)


def run(args) -> int:
    from ..errors import MediaError, UsageError
    from ..faces.backends import get_backend
    from ..guards import check_regular_file
    from ..progress import SilentProgress, TerminalProgress

    refused = []
    for path in args.images:  # before the face models load: every image a regular file
        try:
            check_regular_file(path, "image", MediaError)
        except MediaError as exc:
            refused.append(exc)
    if len(refused) == len(args.images):
        for exc in refused:
            say(f"lengthen embed: error: {exc}")
        return 2
    opts = {} if args.upsample is None else {"upsample": args.upsample}
    try:
        backend = get_backend(args.backend, **opts)
    except TypeError as exc:
        raise UsageError(f"backend {args.backend!r} does not take these options ({exc})") from exc
    if args.raw and not hasattr(backend, "descriptors"):
        raise UsageError(f"--raw is only for the dlib backend, not {args.backend!r}")
    progress = TerminalProgress() if sys.stderr.isatty() else SilentProgress()
    results, failed = [], 0
    for i, path in enumerate(args.images):
        progress.check()
        progress.report("embed", i, len(args.images), path)
        try:
            results.append(embed_image(backend, path, raw=args.raw))
        except MediaError as exc:  # this image only; model errors etc. stop the command
            say(f"lengthen embed: error: {exc}")
            failed += 1
    progress.report("embed", len(args.images), len(args.images))
    if args.json:
        json.dump({"images": results}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(_table(results))
    if failed:  # 1: some images failed, the others were done; 2: none could be read
        return 1 if results else 2
    return 0
