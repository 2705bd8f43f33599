"""lengthen demo: extend the bundled sample clip on the CPU, no downloads."""

from __future__ import annotations

SAMPLE = "sample/tears_of_steel_glasses.mp4"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="extend the bundled sample clip on this machine (CPU, no downloads)",
        description="Extend the bundled sample shot (Tears of Steel, CC BY 3.0, Blender Foundation) by one "
        "second at its tail with the built-in engine, and print where the media, the timeline, "
        "the report and a filmstrip PNG are.",
    )
    p.add_argument(
        "-o", "--output", default="lengthen_demo", metavar="OUTDIR", help="output folder (default ./lengthen_demo)"
    )
    p.add_argument("--tail", default="1s", metavar="LEN", help="length to add (default 1s)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--context", type=int, default=None, help=__import__("argparse").SUPPRESS)
    from .extend import add_engine_options

    add_engine_options(p)
    p.set_defaults(quality="draft")


def run(args) -> int:
    import json
    from pathlib import Path

    from ..evaluate.filmstrip import save_filmstrip
    from ..media.reader import read_frames
    from ..paths import RESOURCES
    from ..pipeline import render_shot
    from ..progress import TerminalProgress
    from ..timecode import offset_timecode
    from .extend import build_request, make_spec
    from .outputs import write_shot_outputs

    sample = RESOURCES / SAMPLE
    args.clip, args.range, args.head = str(sample), None, None
    out = Path(args.output)
    spec, info = make_spec(args)
    request = build_request(args, out / "media")
    print(
        f"lengthen demo: extending {sample.name} ({info.frames} frames at {info.fps} fps) by "
        f"{spec.tail_frames} frames "
        f"with the {request.engine} engine, {request.settings.quality} quality",
        flush=True,
    )
    outcome = render_shot(spec, request, TerminalProgress())
    paths = write_shot_outputs(outcome, info, out)
    tail = outcome.generated[0]
    src = read_frames(spec.media, spec.last - 3, 4)
    gen = read_frames(tail.path, 0, tail.frames)
    strip = save_filmstrip(
        out / "filmstrip.png",
        src,
        gen,
        "tail",
        source_timecodes=[offset_timecode(info.start_timecode, spec.last - 3 + i, spec.rate) for i in range(4)],
        generated_timecodes=[offset_timecode(tail.start_timecode, i, spec.rate) for i in range(len(gen))],
    )
    if args.json:
        print(json.dumps({**outcome.report, "filmstrip": str(strip)}, indent=2, default=str))
        return 0
    d = outcome.report["directions"]["tail"]
    print(f"media:     {tail.path}  ({tail.frames} frames from {tail.start_timecode})")
    print(f"timeline:  {paths['otio']}")
    print(f"report:    {paths['report']}  (seam jump {d['seam_jump']}, motion {d['motion_energy']})")
    print(f"filmstrip: {strip}")
    return 0
