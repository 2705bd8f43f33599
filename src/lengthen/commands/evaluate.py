"""lengthen evaluate CLIP --holdout K: extend a real shot over frames we hid, and compare."""

from __future__ import annotations

from .argtypes import positive_int


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="hide the last K frames of a shot, extend by K, compare with the truth and baselines",
        description="Quality harness: hides the last K frames of a real clip, extends by K with the chosen "
        "engine and with the baselines (freeze, raw flow extrapolation, the motion engine), and "
        "reports identity similarity, seam jump, motion energy, flicker and PSNR/SSIM against the "
        "hidden truth. Writes results.json, chart.png and filmstrip.png.",
    )
    p.add_argument("clip", metavar="CLIP")
    p.add_argument(
        "--holdout", type=positive_int, required=True, metavar="K", help="frames to hide at the end of the shot"
    )
    p.add_argument("--range", default=None, metavar="IN:OUT", help="the shot inside the file (default: whole file)")
    p.add_argument("-o", "--output", default=None, metavar="OUTDIR", help="default ./lengthen_eval/<clip name>")
    p.add_argument("--no-baselines", action="store_true", help="only the chosen engine")
    p.add_argument("--json", action="store_true")
    from .extend import add_engine_options

    add_engine_options(p)


def run(args) -> int:
    import json
    from pathlib import Path

    from ..evaluate.filmstrip import save_filmstrip
    from ..evaluate.harness import BASELINES, EvalSpec, chart, evaluate, table
    from ..fsutil import atomic_write_text
    from ..guards import check_memory, check_output_dir
    from ..media.probe import probe
    from ..progress import TerminalProgress
    from .extend import build_request, parse_range

    info = probe(args.clip)
    first, last = parse_range(args.range, info.frames, args.clip)
    out = Path(args.output) if args.output else Path("lengthen_eval") / Path(args.clip).stem
    request = build_request(args, out / "media", protect=(args.clip,))
    engine = request.engine
    engines = [engine] if args.no_baselines else [*[b for b in BASELINES if b != engine], engine]
    check_output_dir(out)  # before any work: the place is usable and memory holds every engine's frames
    check_output_dir(out / "media", "media folder")
    check_memory(
        args.holdout * info.width * info.height * 3 * (14 + len(engines)),
        f"evaluating {len(engines)} engines over {args.holdout} frames at {info.width}x{info.height}",
    )
    result = evaluate(
        EvalSpec(str(Path(args.clip).resolve()), first, last, args.holdout), engines, request, out, TerminalProgress()
    )
    known, truth, generated = result.pop("_frames")
    atomic_write_text(out / "results.json", json.dumps(result, indent=2))
    chart(result, out / "chart.png")
    save_filmstrip(out / "filmstrip.png", known, generated[engine], "tail", n_generated=8)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(table(result))
        print(f"results: {out / 'results.json'}  chart: {out / 'chart.png'}  filmstrip: {out / 'filmstrip.png'}")
    return 0
