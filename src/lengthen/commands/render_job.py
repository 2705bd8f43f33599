"""lengthen render-job JOBS/0007.json: render one job written by `lengthen timeline --jobs-only`."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "render-job",
        help="render one shot's job file written by `lengthen timeline --jobs-only` (for farms)",
        description="Render the shot a job file describes into the jobs folder's media/ and write "
        "NNNN.done.json beside the job. Idempotent: a job already done for the same request is not "
        "rendered again. Exit 0 when done, 1 when the shot failed while rendering, 2 for bad input "
        "(unreadable job, media or output folder from this machine).",
    )
    p.add_argument("job", metavar="JOB.json", help="a job file, e.g. jobs/0007.json")
    p.add_argument("--json", action="store_true", help="print the shot's report as JSON")


def run(args) -> int:
    import json

    from ..farm.jobs import render_job

    state, outcome = render_job(args.job)
    if args.json:
        print(json.dumps({"state": state, "report": outcome.report}, indent=2))
    else:
        for g in outcome.generated:
            print(f"{g.direction}: {g.frames} frames from {g.start_timecode} -> {g.path}")
        print(f"{args.job}: {state}")
    return 0
