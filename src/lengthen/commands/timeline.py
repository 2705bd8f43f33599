"""lengthen timeline TIMELINE -o OUT.otio [plan options] [--splice] [--engine NAME] [--quality Q] [--seed S]
[--json]"""

from __future__ import annotations

from pathlib import Path

from .plan import add_plan_arguments


def add_parser(sub) -> None:
    p = sub.add_parser(
        "timeline",
        help="extend the clips of a timeline and write a new timeline with the results",
        description="Plan, generate and write: a copy of TIMELINE with a LENGTHEN track holding the generated "
        "clips (or, with --splice, each clip relinked to media joined with its new frames). "
        "Media go to OUT_media/ beside OUT. The input is never modified.",
    )
    add_plan_arguments(p)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="the new timeline (.otio, .otioz, .otiod, .xml FCP7, .edl and .fcpxml with --splice); a format "
        "that cannot hold the result is refused before any media is made",
    )
    p.add_argument(
        "--splice", action="store_true", help="relink each clip to media joined from its source and generated frames"
    )
    from .extend import add_engine_options

    add_engine_options(p)  # the same engine, identity and codec options as `extend`


def media_dir_for(out) -> Path:
    from pathlib import Path

    out = Path(out)
    return out.with_name(f"{out.name.split('.')[0] or 'lengthen'}_media")


def run(args) -> int:
    import json
    import os
    import sys
    from pathlib import Path

    from ..errors import UsageError
    from ..pipeline import render_shots, splice_media
    from ..progress import TerminalProgress
    from ..timeline.edit import build_result, write_timeline
    from ..timeline.interchange import preflight, remove_outputs
    from ..timeline.read import adapter_for
    from ..timeline.verify import range_problems
    from .extend import build_request
    from .plan import print_problems, read_and_plan

    src, out = Path(args.timeline), Path(args.output)
    adapter_for(out)  # an unknown output format is bad input before any work
    if os.path.abspath(out) == os.path.abspath(src) or (out.exists() and src.exists() and os.path.samefile(out, src)):
        raise UsageError("the output would overwrite the input timeline; choose another name", path=out)
    if out.exists():
        raise UsageError("output exists; refusing to overwrite (choose another name)", path=out)
    media_dir = media_dir_for(out.absolute())
    extract = media_dir / "source_bundle" if src.suffix.lower() == ".otioz" else None
    created_dir = not media_dir.exists()
    doc, plan = read_and_plan(args, extract_dir=extract)
    outcomes, spliced = [], None
    try:
        with doc:
            print_problems(plan, "timeline")
            preflight(doc, plan, out, splice=args.splice, media_dir=media_dir)  # the format holds it: before media
            protect = [src, *{s.media for s in plan.shots}]
            request = build_request(args, media_dir, protect)
            progress = TerminalProgress()
            outcomes = render_shots(plan.to_render, request, progress)
            if args.splice:
                spliced = {}
                for o in outcomes:
                    if o.error is None and o.generated:
                        try:
                            spliced[o.spec.clip_id] = splice_media(
                                o.spec, o, media_dir, codec=request.codec, request=request
                            )
                        except Exception as exc:  # one failed splice is one failed shot
                            from ..errors import LengthenError

                            if not isinstance(exc, LengthenError):
                                raise
                            o.error = exc
            result = build_result(doc, plan, outcomes, spliced=spliced)
            warnings = write_timeline(result, out, base_dir=doc.base_dir, protect=protect)
            warnings += range_problems(result)
    except BaseException:  # refused, cancelled or not written: the media made for this run go too
        remove_outputs(outcomes, spliced, media_dir, created_dir)
        raise
    failed = [o for o in outcomes if o.error is not None]
    for w in warnings:
        print(f"lengthen timeline: warning: {w}", file=sys.stderr)
    for o in failed:
        print(f"lengthen timeline: failed {o.error}", file=sys.stderr)
    summary = {
        "output": str(out),
        "media_dir": str(media_dir),
        "shots": [
            {
                "clip": o.spec.clip,
                "clip_id": o.spec.clip_id,
                "ok": o.error is None,
                "error": str(o.error) if o.error else None,
                "generated": [
                    {"direction": g.direction, "frames": g.frames, "media": str(g.path), "timecode": g.start_timecode}
                    for g in o.generated
                ],
                "spliced": str(spliced[o.spec.clip_id]) if spliced and o.spec.clip_id in spliced else None,
            }
            for o in outcomes
        ],
        "skipped": [p.to_dict() for p in plan.problems],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        made = sum(len(s["generated"]) for s in summary["shots"])
        print(
            f"wrote {out}: {made} generated clips from {len(outcomes) - len(failed)} shots; "
            f"{len(failed)} failed, {len(plan.problems)} skipped; media in {media_dir}"
        )
    return 1 if failed or plan.problems else 0
