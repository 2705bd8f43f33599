"""lengthen plan TIMELINE [--handles N] [--head L] [--tail L] [--spec SPEC.json] [--json]"""

from __future__ import annotations


def add_plan_arguments(p, timeline_optional: bool = False) -> None:
    """Options shared by ``plan`` and ``timeline`` (``timeline --assemble`` reads no TIMELINE)."""
    p.add_argument(
        "timeline",
        metavar="TIMELINE",
        nargs="?" if timeline_optional else None,
        help=".otio, .otioz, .otiod, or FCP7 .xml / .edl with the adapter plugins",
    )
    g = p.add_argument_group("what to make (default: --handles 12)")
    g.add_argument(
        "--handles",
        metavar="N",
        help="make every clip have N frames (or e.g. 0.5s) of media beyond what the timeline shows, "
        "transitions included",
    )
    g.add_argument(
        "--head", metavar="L", help="frames (48 or 48f) or seconds (2s) to generate before each clip's media"
    )
    g.add_argument("--tail", metavar="L", help="frames or seconds to generate after each clip's media")
    g.add_argument("--spec", metavar="SPEC.json", help="per-clip requests (schema lengthen.spec, see the README)")
    g.add_argument(
        "--no-cuts",
        action="store_true",
        help="do not look for cuts inside the media near each clip (by default frames across a cut are not "
        "counted as handles, and generated frames replace them)",
    )
    p.add_argument("--rate", metavar="FPS", help="frame rate for formats that store none (EDL), e.g. 24 or 30000/1001")
    p.add_argument(
        "--allow-media-outside",
        action="store_true",
        help="accept relative media paths that lead outside the timeline's folder",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "plan",
        help="show which frames each clip of a timeline needs (nothing is generated)",
        description="Read a timeline and print, per video clip, how many head and tail frames would be "
        "generated. Clips whose media is missing or unusable are listed with the reason.",
    )
    add_plan_arguments(p)


def read_and_plan(args, extract_dir=None):
    """(TimelineDoc, Plan) from the shared options (:func:`lengthen.api.open_plan`)."""
    from ..api import open_plan

    return open_plan(
        args.timeline,
        handles=args.handles,
        head=args.head,
        tail=args.tail,
        spec=args.spec,
        rate=args.rate,
        allow_media_outside=args.allow_media_outside,
        extract_dir=extract_dir,
        cuts=not getattr(args, "no_cuts", False),
    )


def print_problems(plan, command: str) -> None:
    from . import say

    for w in plan.warnings:
        say(f"lengthen {command}: warning: {w}")
    for p in plan.problems:
        say(f"lengthen {command}: skipped {p.describe()}")


def _cut_cell(spec) -> str:
    """Where a cut inside the media stops the handles: ``head@65``, ``tail@185``, or ``-``."""
    m = spec.metadata
    sides = (("head", "cut_before"), ("tail", "cut_after"))
    return ",".join(f"{side}@{m[key]}" for side, key in sides if m.get(key) is not None) or "-"


def format_table(plan) -> str:
    from pathlib import Path

    from ..timeline.plan import cut_note, shot_summary

    rows = [("clip", "id", "track", "media", "rate", "head", "tail", "seconds", "cuts")]
    for s in plan.shots:
        d = shot_summary(s)
        rows.append(
            (
                d["clip"],
                d["clip_id"],
                d["track"],
                Path(d["media"]).name,
                d["rate"],
                str(d["head_frames"]),
                str(d["tail_frames"]),
                f"{d['seconds']:.3f}",
                _cut_cell(s),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.rjust(w) if 5 <= i <= 7 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
        for r in rows
    ]
    total = sum(s.head_frames + s.tail_frames for s in plan.shots)
    limited = sum(1 for s in plan.shots if cut_note(s))
    lines.append(
        f"{len(plan.to_render)} of {len(plan.shots)} clips need frames, {total} frames in all; "
        f"{len(plan.problems)} skipped"
        + (
            f"; {limited} limited by a cut inside the media (generated frames replace the other shot's)"
            if limited
            else ""
        )
    )
    return "\n".join(lines)


def run(args) -> int:
    import json

    doc, plan = read_and_plan(args)
    with doc:
        print_problems(plan, "plan")
        if args.json:
            print(json.dumps(plan.to_dict(), indent=2))
        else:
            print(format_table(plan))
    return 1 if plan.problems else 0
