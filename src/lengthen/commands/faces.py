"""``lengthen faces``: find the characters in footage, or edit an existing set of identity banks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import printable
from . import say
from .argtypes import positive_float

HELP = "find the characters in clips or a timeline and write one identity bank per character"
DESCRIPTION = """\
Scan form:   lengthen faces INPUT... -o DIR [--sample-fps F] [--every-frame] [--backend B]
  INPUT is media files (clips or photos, scanned whole) or OTIO timelines (.otio/.otioz/.otiod:
  the frames their clips show), all in one joint scan, the same as the panel's. Writes
  DIR/characters.json, one bank folder per character and DIR/contact_sheet.png.

Edit form:   lengthen faces [--add-ref NAME=PHOTO]... [--merge A B] [--rename ID NAME] [--drop ID] DIR
  Edits the bank set in DIR (written by the scan form) and writes it back with a new contact
  sheet. --add-ref adds the largest face of a photo to character NAME (id or name; a new name
  starts a new character). --merge: character A absorbs B. Edits run in the order add-ref,
  merge, rename, drop.
"""
EPILOG = (
    "Exit codes: 0 ok (also when no face was found: an empty bank set and a warning), "
    "1 an input could not be read (the others were still scanned), 2 bad usage, no input readable or a "
    "corrupt bank folder (nothing is written). The insightface backend's models are for "
    "non-commercial research only; it never downloads unless --allow-download is given."
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "faces",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths", nargs="*", metavar="INPUT|DIR", help="media files / timelines to scan, or the bank DIR to edit"
    )
    p.add_argument("-o", "--output", metavar="DIR", help="where to write the bank set (scan form)")
    p.add_argument(
        "--sample-fps", type=positive_float, default=None, metavar="F", help="frames per second to look at (default 2)"
    )
    p.add_argument("--every-frame", action="store_true", help="look at every frame (slow)")
    p.add_argument("--backend", choices=("dlib", "insightface"), default="dlib", help="face backend (default dlib)")
    p.add_argument("--allow-download", action="store_true", help="let the insightface backend download its models")
    p.add_argument("--json", action="store_true", help="print the characters as JSON on stdout")
    p.add_argument("--add-ref", action="append", default=[], metavar="NAME=PHOTO", help="edit: add a reference photo")
    p.add_argument("--merge", nargs=2, metavar=("A", "B"), help="edit: character A absorbs character B")
    p.add_argument("--rename", nargs=2, metavar=("ID", "NAME"), help="edit: give a character a name")
    p.add_argument("--drop", action="append", default=[], metavar="ID", help="edit: remove a character")
    return p


def _editing(args) -> bool:
    return bool(args.add_ref or args.merge or args.rename or args.drop)


def run(args) -> int:
    from ..errors import UsageError

    if _editing(args):
        if len(args.paths) != 1 or args.output:
            raise UsageError("the edit form takes exactly one bank DIR and no -o: lengthen faces --merge A B DIR")
        return _edit(args, Path(args.paths[0]))
    if not args.paths or not args.output:
        raise UsageError("give media files or a timeline and -o DIR (see lengthen faces --help)")
    return _scan(args)


def _settings(args, backend: str | None = None):
    from ..faces.scan import ScanSettings

    name = backend or args.backend
    options = (("allow_download", True),) if name == "insightface" and args.allow_download else ()
    changes = {"sample_fps": args.sample_fps} if args.sample_fps is not None else {}
    return ScanSettings(every_frame=args.every_frame, backend=name, backend_options=options, **changes)


def _scan(args) -> int:
    from ..api import characters_of
    from ..errors import UsageError
    from ..faces.bank import save_banks
    from ..faces.contact_sheet import write_contact_sheet
    from ..guards import check_output_dir
    from ..progress import TerminalProgress

    out = Path(args.output)
    check_output_dir(out, "bank folder")  # before any scanning
    if (out / "characters.json").exists():  # refuse to replace a corrupt/foreign set
        from ..faces.bank import load_banks

        load_banks(out)
    from ..errors import LengthenError
    from ..guards import check_regular_file

    inputs, refused = [], []
    for raw in args.paths:  # media and photos: regular files, checked before the face models load
        try:
            timeline = Path(raw).suffix.lower() in (".otio", ".otioz", ".otiod")
            inputs.append(raw if timeline else check_regular_file(raw, "media file"))
        except LengthenError as exc:
            refused.append(exc)
    if refused and not inputs:
        for exc in refused:
            say(f"lengthen faces: error: {exc}")
        return 2  # nothing could be read: nothing written
    result = characters_of(inputs, _settings(args), progress=TerminalProgress())
    errors = refused + result.errors
    if not result.frames_scanned and not errors:
        raise UsageError("the inputs name no media (an empty timeline?)")
    for exc in errors:
        say(f"lengthen faces: error: {exc}")
    if errors and (result is None or not result.frames_scanned):
        return 2  # nothing could be read: nothing written
    if not result.banks:
        say("lengthen faces: warning: no faces found; writing an empty bank set")
    save_banks(result.banks, out)
    write_contact_sheet(result.banks, out / "contact_sheet.png")
    say(
        f"lengthen faces: {len(result.banks)} characters from {result.frames_scanned} frames "
        f"({result.faces_found} faces, {result.skipped_small} too small, {result.dropped_faces} "
        f"not kept) -> {out}"
    )
    _report(args, result.banks)
    return 1 if errors else 0


def _edit(args, directory: Path) -> int:
    from ..errors import LengthenError, UsageError
    from ..faces import bank as B
    from ..faces.contact_sheet import write_contact_sheet

    banks = B.load_banks(directory)  # a corrupt set raises here, before anything is written
    failed = 0
    if args.add_ref:
        from ..faces.scan import add_reference_photo, make_backend

        backend = make_backend(_settings(args, banks[0].backend if banks else None))
        for item in args.add_ref:
            name, sep, photo = item.partition("=")
            if not sep or not name or not photo:
                raise UsageError(f"--add-ref wants NAME=PHOTO, got {item!r}")
            try:
                banks = add_reference_photo(banks, name, photo, backend)
            except LengthenError as exc:
                say(f"lengthen faces: error: {exc}")
                failed += 1
        if failed == len(args.add_ref) and not (args.merge or args.rename or args.drop):
            return 1  # no edit left to make: the bank set stays exactly as it was
    if args.merge:
        banks = B.merge(banks, *args.merge)
    if args.rename:
        banks = B.rename(banks, *args.rename)
    for key in args.drop:
        banks = B.drop(banks, key)
    B.save_banks(banks, directory)
    write_contact_sheet(banks, directory / "contact_sheet.png")
    _report(args, banks)
    return 1 if failed else 0


def characters_json(banks) -> dict:
    return {
        "characters": [
            {
                "id": b.id,
                "name": b.name,
                "faces": len(b),
                "references": list(b.references),
                "appearances": [
                    {"media": a.media, "first_frame": a.first_frame, "last_frame": a.last_frame}
                    for a in b.appearances()
                ],
            }
            for b in banks
        ]
    }


def _report(args, banks) -> None:
    if args.json:
        print(json.dumps(characters_json(banks), indent=1))
    else:
        for b in banks:
            spans = ", ".join(f"{Path(a.media).name} {a.first_frame}-{a.last_frame}" for a in b.appearances())
            print("\t".join(printable(f) for f in (b.id, b.name, f"{len(b)} faces", spans)))
