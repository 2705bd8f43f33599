"""lengthen timeline TIMELINE -o OUT.otio [plan options] [--splice] [--engine NAME] [--quality Q] [--seed S]
[--executor local|ray [--ray-address ADDRESS]] [--resume] [--json]
lengthen timeline TIMELINE --jobs-only JOBS/ ...;  lengthen timeline --assemble JOBS/ -o OUT.otio"""

from __future__ import annotations

from pathlib import Path

from . import say
from .argtypes import positive_float, positive_int
from .plan import add_plan_arguments


def add_parser(sub) -> None:
    p = sub.add_parser(
        "timeline",
        help="extend the clips of a timeline and write a new timeline with the results",
        description="Plan, generate and write: a copy of TIMELINE with a LENGTHEN track holding the generated "
        "clips (or, with --splice, each clip relinked to media joined with its new frames). "
        "Media go to OUT_media/ beside OUT. The input is never modified. A run manifest (OUT.run.json) "
        "records every finished shot: running the same command again renders only what is missing or changed.",
    )
    add_plan_arguments(p, timeline_optional=True)
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="the new timeline (.otio, .otioz, .otiod, .xml FCP7, .edl and .fcpxml with --splice); a format "
        "that cannot hold the result is refused before any media is made; required except with --jobs-only",
    )
    p.add_argument(
        "--splice", action="store_true", help="relink each clip to media joined from its source and generated frames"
    )
    from .extend import add_engine_options

    add_engine_options(p)  # the same engine, identity and codec options as `extend`
    add_farm_options(p)


def add_farm_options(p) -> None:
    g = p.add_argument_group("farm (see the README's farm section)")
    g.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: one shot after another in this process (default); ray: one Ray task per shot "
        "(pip install 'lengthen[farm]')",
    )
    g.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="join this Ray cluster (from `ray start --head` on a trusted network); default: a private "
        "local Ray bound to 127.0.0.1",
    )
    g.add_argument("--ray-cpus", type=positive_int, metavar="N", help="CPUs of the private local Ray (default: all)")
    g.add_argument(
        "--cpus-per-shot",
        type=positive_float,
        metavar="N",
        help="CPU cores each shot's Ray task reserves (default 1)",
    )
    g.add_argument(
        "--retries",
        type=int,
        default=2,
        metavar="N",
        help="times a shot whose worker died is tried again (default 2; user errors are not retried)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="go on from the run manifest beside OUT (an error when there is none); "
        "the same command without it resumes too",
    )
    g.add_argument(
        "--jobs-only",
        metavar="DIR",
        help="render nothing: write one self-contained job file per shot and the plan to DIR "
        "(render each with `lengthen render-job`, then --assemble)",
    )
    g.add_argument(
        "--assemble",
        metavar="DIR",
        help="build OUT from the finished jobs in DIR (no TIMELINE); lists the jobs not rendered yet",
    )


def make_executor(args):
    """The executor the options ask for; a missing Ray is a usage error before any work."""
    from ..errors import UsageError

    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if args.executor == "ray":
        from ..farm.ray_executor import RayExecutor

        return RayExecutor(
            args.ray_address, num_cpus=args.ray_cpus, cpus_per_shot=args.cpus_per_shot, retries=args.retries
        )
    from ..executor import LocalExecutor

    return LocalExecutor()


def splice_outcomes(outcomes, jobs, media_dir, request, manifest=None) -> dict:
    """Joined media per clip id for the shots that have generated frames (one failed splice is one
    failed shot); a splice recorded in the manifest for the same request is reused."""
    from ..errors import LengthenError
    from ..fsutil import keep
    from ..pipeline import splice_media

    spliced = {}
    for o, job in zip(outcomes, jobs):
        if o.error is None and o.generated:
            done = manifest.spliced(job) if manifest is not None else None
            if done is not None:
                spliced[o.spec.clip_id] = done
                continue
            try:
                spliced[o.spec.clip_id] = splice_media(o.spec, o, media_dir, codec=request.codec, request=request)
            except LengthenError as exc:
                o.error = exc
                continue
            if manifest is not None:
                keep(spliced[o.spec.clip_id])
                manifest.record_spliced(job, spliced[o.spec.clip_id])
    return spliced


def write_or_keep(result, out, *, base_dir, protect, replace_existing: bool) -> list[str]:
    """Write the timeline; over an existing OUT only when ``replace_existing`` (it is ours, per the
    manifest): written beside it, then swapped in, or dropped when the bytes are the same."""
    import os
    import shutil

    from ..farm.manifest import digest
    from ..timeline.edit import write_timeline

    out = Path(out)
    if not (replace_existing and out.exists()):
        return write_timeline(result, out, base_dir=base_dir, protect=protect)
    fresh = out.with_name(f".lengthen-rerun-{os.getpid()}-{out.name}")
    try:
        warnings = write_timeline(result, fresh, base_dir=base_dir, protect=protect)
        if digest(fresh) != digest(out):
            if out.is_dir():
                shutil.rmtree(out)
            os.replace(fresh, out)
    finally:
        if fresh.is_dir():
            shutil.rmtree(fresh, ignore_errors=True)
        elif fresh.exists():
            fresh.unlink()
    return [w.replace(fresh.name, out.name) for w in warnings]


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def run(args) -> int:
    import contextlib
    import json
    import sys
    from pathlib import Path

    from ..api import media_dir_for
    from ..errors import Cancelled, UsageError
    from ..executor import ShotJob
    from ..farm.manifest import RunManifest, manifest_path_for
    from ..farm.progress import RunProgress
    from ..farm.run import render_resumable
    from ..guards import check_output_dir, check_output_file
    from ..pipeline import check_render
    from ..timeline.edit import build_result
    from ..timeline.interchange import preflight, remove_outputs
    from ..timeline.read import adapter_for
    from ..timeline.verify import range_problems
    from .extend import build_request, check_banks
    from .plan import print_problems, read_and_plan

    if args.assemble:
        from ..farm.jobs import assemble_command

        return assemble_command(args)
    if args.timeline is None:
        raise UsageError("give a TIMELINE (or --assemble JOBS_DIR -o OUT)")
    if args.jobs_only:
        from ..farm.jobs import jobs_only_command

        if args.output:
            raise UsageError("--jobs-only writes job files, not a timeline: give -o to --assemble afterwards")
        return jobs_only_command(args)
    if not args.output:
        raise UsageError("-o OUT is required (or --jobs-only DIR)")
    executor = make_executor(args)
    src, out = Path(args.timeline), Path(args.output)
    adapter_for(out)  # an unknown output format is bad input before any work
    manifest = RunManifest(manifest_path_for(out.absolute()))
    ours = out.exists() and manifest.owns_output(out)  # our own earlier result may be replaced, nothing else
    # before any work, in the guards' words: not the input, not a folder, not someone's file, a usable place
    check_output_file(out, "output timeline", protect=[src], overwrite=ours)
    if args.resume and not manifest.exists:
        raise UsageError("nothing to resume: there is no run manifest", path=manifest.path)
    media_dir = media_dir_for(out.absolute())
    check_output_dir(media_dir, "media folder")
    extract = media_dir / "source_bundle" if src.suffix.lower() == ".otioz" else None
    created_dir, had_manifest = not media_dir.exists(), manifest.exists
    doc, plan = read_and_plan(args, extract_dir=extract)
    run_result, spliced, jobs = None, None, []
    try:
        with doc:
            print_problems(plan, "timeline")
            preflight(doc, plan, out, splice=args.splice, media_dir=media_dir)  # the format holds it: before media
            protect = [src, *{s.media for s in plan.shots}]
            request = build_request(args, media_dir, protect)
            check_render(plan.to_render, request, splice=args.splice)  # memory and disk, before any frame
            check_banks(request)
            jobs = [ShotJob(spec, request) for spec in plan.to_render]
            progress = RunProgress(len(jobs), reused=sum(manifest.done(j) is not None for j in jobs))
            # Ray's driver prints its workers' deaths on stdout: keep stdout for our result (--json)
            quiet = contextlib.redirect_stdout(sys.stderr) if executor.name == "ray" else contextlib.nullcontext()
            with quiet:
                run_result = render_resumable(jobs, manifest=manifest, executor=executor, progress=progress)
            progress.draw(final=True)
            outcomes = run_result.outcomes
            spliced = splice_outcomes(outcomes, jobs, media_dir, request, manifest) if args.splice else None
            result = build_result(doc, plan, outcomes, spliced=spliced)
            warnings = write_or_keep(result, out, base_dir=doc.base_dir, protect=protect, replace_existing=ours)
            warnings += range_problems(result)
    except (KeyboardInterrupt, Cancelled):  # finished shots stay, recorded in the manifest, for the next run
        kept = sum(manifest.done(j) is not None for j in jobs)
        print(
            f"\nlengthen timeline: stopped; {kept} of {len(jobs)} shots are finished and recorded in {manifest.path}: "
            "run the same command again to render the rest",
            file=sys.stderr,
        )
        _remove_if_empty(media_dir)
        raise
    except BaseException:  # refused or not written: the media this run made go too (not an earlier run's)
        if run_result is not None:
            mine = [run_result.outcomes[i] for i in run_result.rendered]
            ids = {o.spec.clip_id for o in mine}
            remove_outputs(mine, {k: v for k, v in (spliced or {}).items() if k in ids}, media_dir, created_dir)
            if not had_manifest:
                manifest.path.unlink(missing_ok=True)
        _remove_if_empty(media_dir)
        raise
    failed = [o for o in outcomes if o.error is not None]
    manifest.record_output(out)  # ours: the next run of the same command may replace it
    for w in warnings:
        say(f"lengthen timeline: warning: {w}")
    for note in sorted({f"{o.spec.media}: {n}" for o in outcomes for n in o.report.get("source_notes", ())}):
        say(f"lengthen timeline: note: {note}")  # VFR conform, HDR (once per media file)
    for o in failed:
        say(f"lengthen timeline: failed {o.error}")
    summary = {
        "output": str(out),
        "media_dir": str(media_dir),
        "manifest": str(manifest.path),
        "executor": executor.name,
        "rendered": [jobs[i].spec.clip_id for i in run_result.rendered],
        "reused": [jobs[i].spec.clip_id for i in run_result.reused],
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
        reused = f" ({len(run_result.reused)} from an earlier run)" if run_result.reused else ""
        print(
            f"wrote {out}: {made} generated clips from {len(outcomes) - len(failed)} shots{reused}; "
            f"{len(failed)} failed, {len(plan.problems)} skipped; media in {media_dir}"
        )
    return 1 if failed or plan.problems else 0
