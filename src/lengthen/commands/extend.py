"""lengthen extend CLIP --tail 2s: generate frames after the tail (or before the head) of a shot."""

from __future__ import annotations

from .argtypes import nonnegative_int, positive_int


def add_engine_options(p) -> None:
    """Options shared by extend, timeline, demo and evaluate (one place, same meaning). Their
    defaults are ``None``: :func:`lengthen.config.build_request` fills in the one set of defaults."""
    from ..config import (
        CODECS,
        CONFORMS,
        DEFAULT_CODEC,
        DEFAULT_FACE_BACKEND,
        DEFAULT_IDENTITY_STRENGTH,
        DEFAULT_QUALITY,
        qualities,
    )

    g = p.add_argument_group("engine")
    g.add_argument(
        "--engine",
        default=None,
        help="builtin (default: continues the shot the way its own last frames prove best, adapting a motion "
        "diffusion model to it when that can pay; CPU ok), "
        "motion (instant flow extrapolation), freeze, wan-vace, ltx, skyreels-df (GPU; see `lengthen models`)",
    )
    g.add_argument(
        "--quality",
        choices=qualities(),
        default=None,
        help=f"working resolution and time budget (default {DEFAULT_QUALITY})",
    )
    g.add_argument(
        "--candidates",
        type=positive_int,
        default=None,
        metavar="N",
        help="sample N seeds from one adaptation and keep the one closest to the identity banks (default 1)",
    )
    g.add_argument(
        "--identity-strength",
        type=float,
        default=None,
        metavar="S",
        help=f"0 turns identity conditioning off (default {DEFAULT_IDENTITY_STRENGTH})",
    )
    g.add_argument("--seed", type=int, default=None, help="base seed (default 0)")
    g.add_argument("--steps", type=positive_int, default=None, help="sampling steps (default: the engine's)")
    g.add_argument(
        "--adapt-steps",
        type=nonnegative_int,
        default=None,
        metavar="N",
        help="builtin: adapt for exactly N optimizer steps instead of the quality's time budget, so results do "
        "not depend on the machine's load (0: never adapt; only the cheap candidates)",
    )
    g.add_argument("--model-path", default=None, help="local folder with the engine's weights (GPU engines)")
    g.add_argument("--prompt", default=None, help="optional text for engines that take one")
    g.add_argument("--device", default=None, help="cuda, cuda:1 or cpu (default: cuda when present)")
    g.add_argument("--dtype", choices=("bf16", "fp16", "fp32"), default=None)
    g.add_argument(
        "--offload", choices=("model", "sequential", "group"), default=None, help="CPU offloading for large models"
    )
    g.add_argument("--vae-tiling", action="store_true")
    g.add_argument(
        "--attention",
        default=None,
        metavar="BACKEND",
        help="attention backend for GPU engines (e.g. native, flash, sage)",
    )
    g.add_argument(
        "--conform",
        choices=CONFORMS,
        default=None,
        help="GPU engines, model rate -> clip rate: flow (default: motion-compensated, never a cross-fade) "
        "or nearest (whole model frames, repeated or skipped)",
    )
    g.add_argument(
        "--allow-download", action="store_true", help="let GPU engines fetch weights from the Hugging Face Hub"
    )
    g.add_argument(
        "--codec",
        choices=CODECS,
        default=None,
        help=f"generated media codec (default {DEFAULT_CODEC}): prores (ProRes 422 HQ 10-bit), dnxhr (DNxHR HQ "
        "8-bit), dnxhr-hqx (DNxHR HQX 10-bit), h264",
    )
    s = p.add_argument_group("sound and Content Credentials")
    s.add_argument(
        "--no-audio",
        action="store_true",
        help="generated media without sound (default: continue the source's ambience when it has sound)",
    )
    s.add_argument(
        "--audio-only", action="store_true", help="not supported: picture and sound are extended together (exit 2)"
    )
    s.add_argument(
        "--c2pa-cert",
        default=None,
        metavar="PEM",
        help="certificate chain that signs the C2PA manifest (default: $LENGTHEN_C2PA_CERT, c2pa.json in the "
        "config folder, else a local test certificate that is not a trusted identity)",
    )
    s.add_argument("--c2pa-key", default=None, metavar="PEM", help="its private key (or $LENGTHEN_C2PA_KEY)")
    f = p.add_argument_group("identity")
    f.add_argument(
        "--banks", default=None, metavar="DIR", help="identity banks from `lengthen faces` (default: scan the shot)"
    )
    f.add_argument(
        "--ref",
        action="append",
        default=[],
        metavar="NAME=PHOTO",
        help="add a reference photo for a character (repeatable)",
    )
    f.add_argument("--no-faces", action="store_true", help="do not scan faces: extend without identity conditioning")
    f.add_argument(
        "--face-backend", choices=("dlib", "insightface"), default=None, help=f"default {DEFAULT_FACE_BACKEND}"
    )


def build_request(args, output_dir, protect=()):
    """The request of the engine and identity options (:func:`lengthen.config.build_request`)."""
    from ..config import build_request
    from ..errors import UsageError

    if getattr(args, "audio_only", False):
        raise UsageError(
            "--audio-only: lengthen extends picture and sound together; audio-only handles are not supported "
            "(--no-audio gives picture without sound)"
        )
    return build_request(
        engine=args.engine,
        output_dir=output_dir,
        banks_dir=args.banks,
        refs=args.ref,
        scan_faces=not args.no_faces,
        face_backend=args.face_backend,
        codec=args.codec,
        context_frames=getattr(args, "context", None),
        protect=protect,
        quality=args.quality,
        candidates=args.candidates,
        identity_strength=args.identity_strength,
        seed=args.seed,
        model_path=args.model_path,
        prompt=args.prompt,
        device=args.device,
        dtype=args.dtype,
        offload=args.offload,
        vae_tiling=args.vae_tiling or None,
        steps=args.steps,
        adapt_steps=getattr(args, "adapt_steps", None),
        allow_download=args.allow_download or None,
        attention=getattr(args, "attention", None),
        conform=getattr(args, "conform", None),
        audio=not getattr(args, "no_audio", False),
        c2pa_cert=getattr(args, "c2pa_cert", None),
        c2pa_key=getattr(args, "c2pa_key", None),
    )


def add_parser(sub) -> None:
    p = sub.add_parser(
        "extend",
        help="extend one clip at its head and/or tail",
        description="Generate new frames after the tail (--tail) or before the head (--head) of a clip, "
        "keeping each character's face. Writes ProRes media with continuous timecode, an .otio "
        "with the extended shot, and report.json.",
        epilog="Lengths are frames (48f or 48) or seconds at the clip's rate (2s). Example: "
        "lengthen extend shot.mov --range 65:184 --tail 24f -o out/ (frames the file has after 184 are used, "
        "only those beyond its end are generated, unless --regenerate-existing)",
    )
    p.add_argument("clip", metavar="CLIP", help="source media file")
    p.add_argument(
        "--range",
        default=None,
        metavar="IN:OUT",
        help="first and last frame of the shot in the file, inclusive (default: the whole file); --head/--tail "
        "frames the file has beyond the range are used, only the missing ones are generated",
    )
    p.add_argument("--tail", default=None, metavar="LEN", help="frames to add after the last frame (e.g. 2s or 48f)")
    p.add_argument("--head", default=None, metavar="LEN", help="frames to add before the first frame")
    p.add_argument(
        "-o", "--output", default=None, metavar="OUTDIR", help="output folder (default: ./lengthen_out/<clip name>)"
    )
    p.add_argument(
        "--context",
        type=positive_int,
        default=None,
        metavar="N",
        help="source frames the engine reads next to the cut (default 48)",
    )
    p.add_argument(
        "--regenerate-existing",
        action="store_true",
        help="with --range: generate --head/--tail frames even where the file already has them (e.g. when the "
        "frames after the range belong to the next shot); by default the file's own frames are used and only "
        "the frames beyond its ends are generated",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_engine_options(p)


def parse_range(text, frames: int, media):
    from ..errors import UsageError

    if text is None:
        return 0, frames - 1
    a, sep, b = text.partition(":")
    try:
        first, last = int(a), int(b)
    except ValueError:
        raise UsageError(f"--range takes IN:OUT frame numbers, got {text!r}", path=media) from None
    if not sep or first < 0 or last < first:
        raise UsageError(f"--range {text!r} is empty or negative", path=media)
    if last >= frames:
        raise UsageError(
            f"--range ends at frame {last} but the file has {frames} frames (0..{frames - 1})", path=media, frame=last
        )
    return first, last


def check_banks(request) -> None:
    """A --banks folder is read (every id, name, path and embedding checked) before any work."""
    if request.banks_dir is not None:
        from ..faces.bank import load_banks

        load_banks(request.banks_dir)


def make_spec(args):
    from pathlib import Path

    from ..errors import UsageError
    from ..media.probe import probe
    from ..shots import ShotSpec
    from ..timecode import parse_length

    info = probe(args.clip)
    first, last = parse_range(args.range, info.frames, args.clip)
    head = parse_length(args.head, info.rate) if args.head else 0
    tail = parse_length(args.tail, info.rate) if args.tail else 0
    if head == 0 and tail == 0:
        raise UsageError("nothing to do: give --tail and/or --head (e.g. --tail 2s)")
    existing = []  # what the file already has next to the range: used, not generated (unless asked)
    if args.range is not None and not getattr(args, "regenerate_existing", False):
        have_head, have_tail = min(head, first), min(tail, info.frames - 1 - last)
        if have_head:
            existing.append(f"head frames {first - have_head}-{first - 1} exist in the file")
        if have_tail:
            existing.append(f"tail frames {last + 1}-{last + have_tail} exist in the file")
        first, last, head, tail = first - have_head, last + have_tail, head - have_head, tail - have_tail
    name = Path(args.clip).stem
    return ShotSpec(
        clip=name,
        media=str(Path(args.clip).resolve()),
        rate=info.rate,
        first=first,
        last=last,
        head_frames=head,
        tail_frames=tail,
        start_timecode=info.start_timecode,
        track="V1",
        clip_id="V1/0",
        metadata={"existing_frames_used": existing},
    ), info


def say_existing(spec, media) -> None:
    """Tell the user which asked-for frames the file already had (used as they are)."""
    from . import say

    existing = spec.metadata.get("existing_frames_used") or []
    if existing:
        say(
            f"lengthen extend: {media}: {' and '.join(existing)}: used as they are, not generated "
            f"(generating {spec.head_frames} head and {spec.tail_frames} tail frames beyond the file's ends; "
            "--regenerate-existing generates them anyway)"
        )


def run(args) -> int:
    import json
    from pathlib import Path

    from ..guards import check_output_dir
    from ..pipeline import check_render, render_shot
    from ..progress import TerminalProgress
    from .outputs import write_shot_outputs

    spec, info = make_spec(args)
    say_existing(spec, args.clip)
    if not spec.directions:
        note = "nothing to generate: the file already has every frame asked for; nothing written"
        if args.json:  # stdout stays JSON for scripts
            print(json.dumps({"clip": spec.clip, "frames_generated": 0, "directions": {}, "note": note}))
        else:
            print(note)
        return 0
    out = Path(args.output) if args.output else Path("lengthen_out") / Path(args.clip).stem
    request = build_request(args, out / "media", protect=(args.clip,))
    check_output_dir(out)  # before any work: the place is usable, memory and disk hold the request
    check_render([spec], request)
    check_banks(request)
    progress = TerminalProgress()
    outcome = render_shot(spec, request, progress)
    paths = write_shot_outputs(outcome, info, out)
    if args.json:
        print(json.dumps(outcome.report, indent=2))
    else:
        for note in outcome.report.get("source_notes", ()):
            print(f"note: {note}")
        for g in outcome.generated:
            print(f"{g.direction}: {g.frames} frames from {g.start_timecode} -> {g.path}")
            sound = g.metadata.get("audio")
            if sound:
                print(f"  sound: {sound['samples']} samples at {sound['sample_rate']} Hz ({sound['method']})")
                for warning in sound["warnings"]:
                    print(f"  warning: {warning}")
        creds = outcome.report.get("credentials", {})
        print(
            f"credentials: {creds.get('note') if creds.get('written') else 'not written: ' + str(creds.get('reason'))}"
        )
        print(f"timeline: {paths['otio']}")
        print(f"report:   {paths['report']}")
    return 0
