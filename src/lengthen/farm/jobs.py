"""Farm-agnostic job files: any farm (Deadline, OpenCue, Slurm, Kubernetes, a shell loop) renders a
timeline as independent jobs.

``lengthen timeline CUT --jobs-only JOBS/`` writes ``JOBS/plan.json`` and one self-contained
``JOBS/NNNN.json`` per shot (the shot, the full request, the request hash and the reserved media
names); ``lengthen render-job JOBS/NNNN.json`` renders one (idempotent: a job whose result is
there and whose request is unchanged is not rendered again) and writes ``JOBS/NNNN.done.json``;
``lengthen timeline --assemble JOBS/ -o OUT`` plans the timeline again, checks that it and its
media did not change since, and builds OUT from the finished jobs, listing the missing ones.
Media go to ``JOBS/media/``; every machine must see the media and ``JOBS/`` at the same paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import time
from argparse import Namespace
from pathlib import Path

from ..errors import EngineError, UsageError
from ..fsutil import atomic_write_text

JOB_SCHEMA = "lengthen.job"
PLAN_SCHEMA = "lengthen.jobplan"
VERSION = 1
PLAN_ARGS = ("handles", "head", "tail", "spec", "rate", "allow_media_outside")


def job_file(jobs_dir: Path, index: int) -> Path:
    return Path(jobs_dir) / f"{index:04d}.json"


def done_file(job_path: Path) -> Path:
    return Path(job_path).with_name(Path(job_path).stem + ".done.json")


def _load(path: Path, schema: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("file not found", path=path) from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read it as JSON ({exc})", path=path) from None
    if not isinstance(data, dict) or data.get("schema") != schema:
        raise UsageError(f"not a {schema} file", path=path)
    if data.get("version", 0) > VERSION:
        raise UsageError(f"written by a newer lengthen ({schema} version {data['version']})", path=path)
    return data


def _plan_args(args) -> dict:
    out = {k: getattr(args, k, None) for k in PLAN_ARGS}
    if out["spec"]:
        out["spec"] = os.path.abspath(out["spec"])
    return out


def jobs_only_command(args) -> int:
    """``lengthen timeline CUT --jobs-only DIR``."""
    from ..commands.extend import build_request
    from ..commands.plan import print_problems, read_and_plan
    from ..executor import ShotJob
    from .manifest import request_hash
    from .ray_executor import reserve_names, with_reserved_reels
    from .records import request_to_dict, spec_to_dict

    jobs_dir = Path(args.jobs_only).absolute()
    if (jobs_dir / "plan.json").exists():
        raise UsageError("jobs were already written here; choose a new folder", path=jobs_dir)
    src = Path(args.timeline).absolute()
    media_dir = jobs_dir / "media"
    extract = jobs_dir / "source_bundle" if src.suffix.lower() == ".otioz" else None
    doc, plan = read_and_plan(args, extract_dir=extract)
    with doc:
        print_problems(plan, "timeline")
        protect = [src, *{s.media for s in plan.shots}]
        request = build_request(args, media_dir, protect)
        jobs = with_reserved_reels([ShotJob(spec, request) for spec in plan.to_render])
        names = reserve_names(jobs)
        entries = []
        for i, (job, reserved) in enumerate(zip(jobs, names)):
            path = job_file(jobs_dir, i)
            data = {
                "schema": JOB_SCHEMA,
                "version": VERSION,
                "index": i,
                "key": job.spec.clip_id,
                "spec": spec_to_dict(job.spec),
                "request": request_to_dict(job.request),
                "request_hash": request_hash(job),
                "outputs": {d: str(p) for d, p in reserved.items()},
            }
            atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True))
            entries.append({"file": path.name, "clip": job.spec.clip, "clip_id": job.spec.clip_id})
        atomic_write_text(
            jobs_dir / "plan.json",
            json.dumps(
                {
                    "schema": PLAN_SCHEMA,
                    "version": VERSION,
                    "timeline": str(src),
                    "plan_args": _plan_args(args),
                    "splice": bool(args.splice),
                    "codec": request.codec,
                    "jobs": entries,
                    "skipped": [p.to_dict() for p in plan.problems],
                },
                indent=1,
                sort_keys=True,
            ),
        )
    print(
        f"wrote {len(entries)} jobs and plan.json to {jobs_dir}; render each with `lengthen render-job "
        f"{jobs_dir / '0000.json'}` (and so on), then `lengthen timeline --assemble {jobs_dir} -o OUT.otio`"
    )
    return 1 if plan.problems else 0


def _job_from_file(data: dict):
    from ..executor import ShotJob
    from .records import request_from_dict, spec_from_dict

    return ShotJob(spec_from_dict(data["spec"]), request_from_dict(data["request"]), key=data.get("key"))


def finished(job_path: Path, data: dict | None = None):
    """The done record of a job if it is finished for its current request and its files exist, else None."""
    data = data or _load(job_path, JOB_SCHEMA)
    done = done_file(job_path)
    if not done.is_file():
        return None
    try:
        record = json.loads(done.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("outcome"), dict):
        return None  # not a done record lengthen wrote: render the job again
    if record.get("request_hash") != data["request_hash"]:
        return None
    if not all(Path(g["path"]).is_file() for g in record["outcome"].get("generated", [])):
        return None
    return record


@contextlib.contextmanager
def _done_or_nothing(files, output_dir: Path):
    """A job leaves its media only together with its done record: if rendering, moving the media into
    place or writing the record fails (a full disk at the end), the files and folders this attempt
    made are removed again, so a job is done or not started, never media without a record that no run
    would use or clean. Files that were there before are left alone; a folder only goes if empty."""
    files = [Path(p).absolute() for p in files]
    new_files = [p for p in files if not os.path.lexists(p)]
    new_dirs: list[Path] = []
    for folder in {Path(output_dir).absolute(), *(p.parent for p in files)}:
        while not os.path.lexists(folder) and folder not in new_dirs:
            new_dirs.append(folder)
            folder = folder.parent
    try:
        yield
    except BaseException:
        for p in new_files:
            with contextlib.suppress(OSError):
                p.unlink()
        for folder in sorted(new_dirs, key=lambda f: len(f.parts), reverse=True):  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def render_job(job_path) -> tuple[str, object]:
    """Render one job file; returns ("done" | "already done", outcome). A failed shot raises its error."""
    from .manifest import request_hash
    from .ray_executor import place_outputs
    from .records import outcome_from_dict, outcome_to_dict
    from .worker import render_staged

    job_path = Path(job_path).absolute()
    data = _load(job_path, JOB_SCHEMA)
    job = _job_from_file(data)
    record = finished(job_path, data)
    if record is not None:
        return "already done", outcome_from_dict(job.spec, record["outcome"])
    if request_hash(job) != data["request_hash"]:
        raise UsageError(
            "the shot's media changed since the job was written (size or time); write the jobs again",
            path=job.spec.media,
            clip=job.spec.clip,
        )
    attempt = f"job{data['index']:04d}-{socket.gethostname()}-{os.getpid()}"
    staging = Path(job.request.output_dir) / ".staging" / attempt
    names = {d: Path(p) for d, p in data["outputs"].items()}
    with _done_or_nothing(names.values(), Path(job.request.output_dir)):
        try:
            result = render_staged(job, staging)
            outcome = outcome_from_dict(job.spec, result["outcome"])
            if outcome.error is not None:
                raise outcome.error
            outcome = place_outputs(outcome, names)
            outcome.report.setdefault("farm", {}).update({"host": result["host"], "executor": "job"})
            atomic_write_text(
                done_file(job_path),
                json.dumps(
                    {
                        "schema": "lengthen.jobdone",
                        "version": VERSION,
                        "request_hash": data["request_hash"],
                        "outcome": outcome_to_dict(outcome),
                        "host": result["host"],
                        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "seconds": round(result["ended"] - result["started"], 3),
                    },
                    indent=1,
                    sort_keys=True,
                ),
            )
            return "done", outcome
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            try:
                staging.parent.rmdir()
            except OSError:
                pass


def assemble(jobs_dir):
    """(TimelineDoc, plan, outcomes, missing job files, jobs, plan.json) from the finished jobs in
    ``jobs_dir``; the caller closes the doc."""
    from ..commands.plan import read_and_plan

    jobs_dir = Path(jobs_dir).absolute()
    info = _load(jobs_dir / "plan.json", PLAN_SCHEMA)
    ns = Namespace(timeline=info["timeline"], **info["plan_args"])
    src = Path(info["timeline"])
    extract = jobs_dir / "source_bundle" if src.suffix.lower() == ".otioz" else None
    doc, plan = read_and_plan(ns, extract_dir=extract)
    try:
        outcomes, missing, jobs = _finished_jobs(jobs_dir, info, plan, src)
    except BaseException:
        doc.close()  # the caller gets no doc to close
        raise
    return doc, plan, outcomes, missing, jobs, info


def _finished_jobs(jobs_dir: Path, info: dict, plan, src: Path):
    from ..pipeline import ShotOutcome
    from .manifest import request_hash
    from .records import outcome_from_dict, spec_to_dict

    by_id = {e["clip_id"]: jobs_dir / e["file"] for e in info["jobs"]}
    if [s.clip_id for s in plan.to_render] != [e["clip_id"] for e in info["jobs"]]:
        raise UsageError("the timeline changed since the jobs were written (other clips to render)", path=src)
    outcomes, missing, jobs = [], [], []
    for spec in plan.to_render:
        path = by_id[spec.clip_id]
        data = _load(path, JOB_SCHEMA)
        job = _job_from_file(data)
        planned = {**data["spec"], "metadata": {k: v for k, v in data["spec"]["metadata"].items() if k != "reels"}}
        if spec_to_dict(spec) != planned or request_hash(job) != data["request_hash"]:
            raise UsageError(
                "the timeline or its media changed since this job was written; write the jobs again",
                path=path,
                clip=spec.clip,
            )
        jobs.append(job)
        record = finished(path, data)
        if record is None:
            missing.append(str(path))
            error = EngineError(f"not rendered yet: lengthen render-job {path}", clip=spec.clip)
            outcomes.append(ShotOutcome(spec=spec, error=error))
        else:
            outcomes.append(outcome_from_dict(spec, record["outcome"]))
    return outcomes, missing, jobs


def assemble_command(args) -> int:
    """``lengthen timeline --assemble DIR -o OUT``."""
    from ..commands.timeline import splice_outcomes
    from ..guards import check_output_file
    from ..timeline.edit import build_result, write_timeline
    from ..timeline.read import adapter_for

    if not args.output:
        raise UsageError("--assemble needs -o OUT")
    if args.timeline is not None:
        raise UsageError("--assemble reads the timeline named in the jobs' plan.json; give no TIMELINE")
    out = Path(args.output)
    adapter_for(out)
    check_output_file(out, "output timeline")  # the inputs exist, so this refuses them too
    doc, plan, outcomes, missing, jobs, info = assemble(args.assemble)
    with doc:
        media_dir = Path(args.assemble).absolute() / "media"
        spliced = splice_outcomes(outcomes, jobs, media_dir, jobs[0].request) if info.get("splice") and jobs else None
        result = build_result(doc, plan, outcomes, spliced=spliced)
        protect = [Path(info["timeline"]), *{s.media for s in plan.shots}]
        warnings = write_timeline(result, out, base_dir=doc.base_dir, protect=protect)
    for w in warnings:
        print(f"lengthen timeline: warning: {w}", file=sys.stderr)
    failed = [o for o in outcomes if o.error is not None]
    for path in missing:
        print(f"lengthen timeline: missing job {path}", file=sys.stderr)
    for o in failed:
        if not any(str(o.error).endswith(p) for p in missing):
            print(f"lengthen timeline: failed {o.error}", file=sys.stderr)
    done = len(outcomes) - len(failed)
    print(f"wrote {out}: {done} of {len(outcomes)} jobs finished; {len(missing)} missing; media in {media_dir}")
    return 1 if failed or plan.problems else 0
