"""lengthen probe FILE [--json]"""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "probe",
        help="show a media file's exact rate, frame count, timecode and format",
        description="Probe media files: codec, stored and display size, rotation, pixel aspect, exact fps "
        "(the nominal rate of a variable-rate file, which lengthen conforms to), frame count, start timecode, "
        "pixel format and bit depth, colour tags, field order, audio.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several files)")


def run(args) -> int:
    from ..errors import LengthenError, printable
    from ..media.probe import probe
    from . import say

    results, failed = [], 0
    for path in args.files:
        try:
            results.append(probe(path).to_dict())
        except LengthenError as exc:
            say(f"lengthen probe: error: {exc}")
            failed += 1
    if args.json:
        if results:
            print(json.dumps(results[0] if len(args.files) == 1 else results, indent=2))
    else:
        for r in results:
            print(printable(r["path"]))
            for key in (
                "codec",
                "width",
                "height",
                "display_width",
                "display_height",
                "rotation",
                "sar",
                "fps",
                "vfr",
                "frames",
                "duration_s",
                "start_timecode",
                "pix_fmt",
                "bit_depth",
                "color_primaries",
                "color_transfer",
                "color_space",
                "color_range",
                "field_order",
                "has_audio",
            ):
                print(f"  {key:15s} {r[key]}")
            if r["vfr"]:
                for key in ("average_fps", "stream_frames", "repeated_frames", "dropped_frames", "vfr_refusal"):
                    print(f"  {key:15s} {r[key]}")
    if failed:  # 1: some files failed, the others were probed; 2: nothing could be probed
        return 1 if results else 2
    return 0
