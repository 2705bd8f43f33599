"""One Ray task per shot: the Ray executor of the seam in :mod:`lengthen.executor`.

Each shot is one task with the resources its engine needs (``num_gpus=1`` for the GPU engines,
CPU cores for the others). A task renders into the shot's own staging folder (see
:mod:`.worker`); the driver moves finished files to names it reserved in shot order, so the
names (and the timeline) are the same as an in-process run. A worker that dies (killed, out of
memory, its machine lost) is retried up to ``retries`` times, each attempt starting from an empty
staging folder; a shot that fails for a user error is not retried. Cancelling (Ctrl-C, the panel)
cancels every outstanding task and removes all staging folders.

Without an address a private local Ray is started bound to 127.0.0.1, without the dashboard, and
shut down after the run. With an address (``ray start --head`` on a trusted network) the run
joins that cluster; lengthen and the media paths must be the same on every worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import Cancelled, EngineError, MissingDependency, UsageError

GPU_ENGINES = frozenset({"wan-vace", "ltx", "skyreels-df"})
LOCAL_RAY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray takes 127.0.0.1 as this node's address


def import_ray():
    try:
        import ray
    except ModuleNotFoundError as exc:
        if exc.name != "ray":
            raise
        raise MissingDependency("ray", "farm") from None
    return ray


def task_resources(request, cpus_per_shot: float | None = None) -> dict:
    """Ray resources for one shot of ``request``: a GPU for the GPU engines (unless ``--device cpu``)."""
    device = (request.settings.device or "").lower()
    cpus = cpus_per_shot if cpus_per_shot else 1
    if request.engine in GPU_ENGINES and not device.startswith("cpu"):
        return {"num_cpus": cpus, "num_gpus": 1}
    return {"num_cpus": cpus, "num_gpus": 0}


@contextlib.contextmanager
def _loopback_only():
    """While starting a local Ray: make it take 127.0.0.1 as the node address, so every server it
    starts (GCS, raylet, workers, object manager) listens on the loopback interface only."""
    constants = import_ray()._private.ray_constants  # loaded by `import ray`

    old_env, old_flag = os.environ.get(LOCAL_RAY_ENV), constants.ENABLE_RAY_CLUSTER
    os.environ[LOCAL_RAY_ENV] = "0"
    constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = old_flag
        if old_env is None:
            os.environ.pop(LOCAL_RAY_ENV, None)
        else:
            os.environ[LOCAL_RAY_ENV] = old_env


def start_local_ray(num_cpus: int | None = None, num_gpus: int | None = None):
    """A private Ray on this machine: 127.0.0.1 only, no dashboard, quiet, a small object store, and
    without Ray's memory monitor, which kills tasks when the *machine's* memory is nearly full (an
    editing workstation runs other applications; a task the kernel really kills is retried anyway)."""
    ray = import_ray()
    with _loopback_only():
        ray.init(
            num_cpus=num_cpus or os.cpu_count() or 1,
            num_gpus=num_gpus,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            object_store_memory=128 * 1024 * 1024,
            log_to_driver=False,
            logging_level=logging.ERROR,
            configure_logging=True,
            _system_config={"memory_monitor_refresh_ms": 0},
        )
    return ray


def connect_ray(address: str):
    ray = import_ray()
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise UsageError(f"cannot join the Ray cluster at {address}: {exc}") from None
    return ray


def _render_task(job, staging: str, fault: str | None):
    from .worker import render_staged

    return render_staged(job, staging, fault)


def reserve_names(jobs: Sequence, claimed: set[Path] | None = None) -> list[dict[str, Path]]:
    """For each job, in order, the final media path of each direction: the next free ``_vNNN`` name
    in its output folder that no earlier job of this run took (what an in-process run would pick)."""
    from ..media.writer import versioned_path
    from ..pipeline import _safe_name

    claimed = set() if claimed is None else claimed
    out = []
    for job in jobs:
        names = {}
        folder = Path(job.request.output_dir)
        for direction in job.spec.directions:
            start = 1
            while True:
                path = versioned_path(folder, f"{_safe_name(job.spec.clip)}_{direction}", start=start)
                if path not in claimed:
                    break
                start = int(path.stem.rsplit("_v", 1)[1]) + 1
            claimed.add(path)
            names[direction] = path
        out.append(names)
    return out


def with_reserved_reels(jobs: Sequence) -> list:
    """The jobs with a reel reserved per direction in ``spec.metadata["reels"]``: unique in the
    output folder and among this run's shots, given in shot order (what an in-process run, which
    writes one shot after another into that folder, would pick). Workers render into empty staging
    folders, so they could not see the reels taken next to them."""
    from dataclasses import replace

    from ..timeline.reels import unique_reel

    taken: set[str] = set()
    out = []
    for job in jobs:
        reels = {}
        for direction in job.spec.directions:
            reels[direction] = unique_reel(job.request.output_dir, job.spec.clip, direction, taken=taken)
            taken.add(reels[direction])
        spec = replace(job.spec, metadata={**job.spec.metadata, "reels": reels})
        out.append(replace(job, spec=spec))
    return out


def place_outputs(outcome, names: dict[str, Path]):
    """Move a finished outcome's files from its staging folder to their reserved names."""
    from .records import move_outcome

    moves = {}
    for g in outcome.generated:
        dest = Path(names[g.direction])
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(g.path, dest)
        moves[Path(g.path)] = dest
    return move_outcome(outcome, moves)


class RayExecutor:
    """Render every shot as one Ray task (see the module doc)."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        cpus_per_shot: float | None = None,
        retries: int = 2,
        faults: dict | None = None,
        poll_s: float = 0.2,
    ) -> None:
        if retries < 0:
            raise UsageError("--retries must not be negative")
        self.address, self.num_cpus, self.cpus_per_shot = address, num_cpus, cpus_per_shot
        self.retries, self.faults, self.poll_s = retries, dict(faults or {}), poll_s
        self.results: dict[int, dict] = {}  # index -> host, attempt, started, ended (for reports and benchmarks)
        import_ray()  # a missing extra is a usage error before any work

    def _ray(self):
        ray = import_ray()
        if ray.is_initialized():
            return ray, False
        if self.address:
            return connect_ray(self.address), True
        return start_local_ray(self.num_cpus), True

    def _check_resources(self, ray, needs: list[dict]) -> None:
        have = ray.cluster_resources()
        for key, ray_key in (("num_gpus", "GPU"), ("num_cpus", "CPU")):
            most = max((n[key] for n in needs), default=0)
            if most > have.get(ray_key, 0):
                where = self.address or "the local Ray"
                raise UsageError(
                    f"{where} has {have.get(ray_key, 0):g} {ray_key}; a shot needs {most:g}"
                    + (" (GPU engines need a GPU worker; or give --device cpu)" if ray_key == "GPU" else "")
                )

    def run(self, jobs: Sequence, monitor) -> Iterator[tuple]:
        from ..pipeline import ShotOutcome, _safe_name
        from .manifest import job_key
        from .records import outcome_from_dict
        from .worker import attempts_seen

        if not jobs:
            return
        ray, owned = self._ray()
        run_id = uuid.uuid4().hex[:12]
        roots = {Path(j.request.output_dir) / ".staging" / run_id for j in jobs}
        pending: dict = {}
        try:
            needs = [task_resources(j.request, self.cpus_per_shot) for j in jobs]
            self._check_resources(ray, needs)
            names = reserve_names(jobs)
            jobs = with_reserved_reels(jobs)
            remote = ray.remote(_render_task)
            staging = {}
            for i, (job, need) in enumerate(zip(jobs, needs)):
                monitor.check()
                folder = f"{i:04d}_{_safe_name(job.spec.clip)}"
                staging[i] = Path(job.request.output_dir) / ".staging" / run_id / folder
                ref = remote.options(
                    **need, max_retries=self.retries, retry_exceptions=False, name=f"lengthen {job.spec.clip}"
                ).remote(job, str(staging[i]), self.faults.get(job_key(job)))
                pending[ref] = i
            started: set[int] = set()
            while pending:
                if monitor.cancelled():
                    raise Cancelled()
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_s)
                for i in sorted(set(pending.values()) - started):
                    if attempts_seen(staging[i]):
                        started.add(i)
                        monitor.started(i)
                for ref in ready:
                    i = pending.pop(ref)
                    job = jobs[i]
                    if i not in started:
                        started.add(i)
                        monitor.started(i)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.TaskCancelledError:
                        raise Cancelled() from None
                    except ray.exceptions.RayTaskError as exc:  # a bug escaped run_shot: this shot's error
                        error = EngineError(f"the task failed: {exc.cause!r}", clip=job.spec.clip)
                        outcome = ShotOutcome(spec=job.spec, error=error)
                    except ray.exceptions.RayError as exc:  # the worker or its machine died, every retry
                        error = EngineError(
                            f"its worker died {attempts_seen(staging[i])} time(s), the last as "
                            f"{exc.__class__.__name__}; gave up after {self.retries} retries",
                            clip=job.spec.clip,
                        )
                        outcome = ShotOutcome(spec=job.spec, error=error)
                    else:
                        outcome = outcome_from_dict(job.spec, result["outcome"])
                        if outcome.error is None:
                            outcome = place_outputs(outcome, names[i])
                        self.results[i] = {k: v for k, v in result.items() if k != "outcome"}
                        outcome.report.setdefault("farm", {}).update(
                            {"host": result["host"], "attempt": result["attempt"], "executor": "ray"}
                        )
                    shutil.rmtree(staging[i], ignore_errors=True)
                    yield i, outcome
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True, recursive=True)
            if pending:  # let the killed tasks end before their folders go
                with contextlib.suppress(Exception):
                    ray.wait(list(pending), num_returns=len(pending), timeout=30)
            raise
        finally:
            for root in roots:
                shutil.rmtree(root, ignore_errors=True)
                with contextlib.suppress(OSError):
                    root.parent.rmdir()  # .staging, when no other run uses it
            if owned:
                ray.shutdown()
