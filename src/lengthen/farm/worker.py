"""What runs on a worker machine: check access up front, then render one shot into its own
staging folder, which the run's driver moves into place once the shot is finished.

A shot's staging folder holds only that shot's files, so a worker that dies half-way (killed,
out of memory) leaves nothing outside it: the next attempt empties it first, and the driver
removes it when the shot is given up or the run is cancelled.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from dataclasses import replace
from pathlib import Path

from ..errors import LengthenError, MediaError, UsageError

ATTEMPT_PREFIX = ".attempt-"


def begin_attempt(staging: Path) -> int:
    """Empty ``staging`` of an earlier attempt's files and mark this attempt; returns its number (1, 2, ...)."""
    staging.mkdir(parents=True, exist_ok=True)
    attempts = [p for p in staging.iterdir() if p.name.startswith(ATTEMPT_PREFIX)]
    for p in staging.iterdir():
        if not p.name.startswith(ATTEMPT_PREFIX):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    attempt = len(attempts) + 1
    (staging / f"{ATTEMPT_PREFIX}{attempt}").write_text(f"{socket.gethostname()} {os.getpid()}\n")
    return attempt


def attempts_seen(staging: Path) -> int:
    try:
        return sum(1 for p in Path(staging).iterdir() if p.name.startswith(ATTEMPT_PREFIX))
    except OSError:
        return 0


def preflight(spec, folder: Path, output_dir=None) -> None:
    """One clear error naming this machine and the path when the media cannot be read or the output
    folder cannot be written (``folder``: where this worker writes, inside ``output_dir``), before any work."""
    host = socket.gethostname()
    try:
        with open(spec.media, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise MediaError(
            f"worker {host} cannot read the media ({exc.strerror or exc}); mount it at the same path on every worker",
            path=spec.media,
            clip=spec.clip,
        ) from None
    probe_file = Path(folder) / f".write-test-{os.getpid()}"
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        probe_file.write_bytes(b"")
        probe_file.unlink()
    except OSError as exc:
        raise UsageError(
            f"worker {host} cannot write the output folder ({exc.strerror or exc})",
            path=output_dir or folder,
            clip=spec.clip,
        ) from None


def render_staged(job, staging, fault: str | None = None) -> dict:
    """Render ``job`` (a :class:`~lengthen.executor.ShotJob`) into ``staging``; returns a plain dict:
    the outcome (see :func:`.records.outcome_to_dict`), the host, the attempt and the timings.

    ``fault`` is for fault-injection tests only: ``"kill-first-attempt"`` kills this worker process
    after its first attempt has written its files (as a crash or the OOM killer would)."""
    from ..pipeline import ShotOutcome, run_shot
    from .records import outcome_to_dict

    staging = Path(staging)
    started = time.time()
    try:
        preflight(job.spec, staging, job.request.output_dir)  # before anything is made: never retried
    except LengthenError as exc:
        outcome, attempt = ShotOutcome(spec=job.spec, error=exc), attempts_seen(staging) + 1
    else:
        attempt = begin_attempt(staging)
        job = replace(job, request=replace(job.request, output_dir=staging))
        outcome = run_shot(job)
    if fault == "kill-first-attempt" and attempt == 1:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return {
        "outcome": outcome_to_dict(outcome),
        "host": socket.gethostname(),
        "attempt": attempt,
        "started": started,
        "ended": time.time(),
    }
