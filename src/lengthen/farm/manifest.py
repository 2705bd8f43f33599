"""The run manifest beside the output: each shot's request (a hash) and the files that answered it.

A run records a shot the moment it is finished, so a run that dies at shot 180 of 300 keeps 179
and the next run (the same command, or ``--resume``) renders only what is missing or whose
request changed. The hash covers what decides the pixels: the media's identity (resolved path,
size, modification time), the shot's range and lengths, rate and timecode, the engine and every
setting (the seed included), the codec, banks and references. Where the result lands on the
timeline is not in it: placement is recomputed from the current plan.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path

from ..errors import UsageError
from ..fsutil import atomic_write_text, keep
from .records import outcome_from_dict, outcome_to_dict, request_to_dict

SCHEMA = "lengthen.run"
VERSION = 1


def manifest_path_for(out) -> Path:
    """``cut_ext.otio`` -> ``cut_ext.otio.run.json`` in the same folder."""
    out = Path(out)
    return out.with_name(out.name + ".run.json")


def media_identity(path) -> dict:
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return {"path": os.path.abspath(p), "missing": True}
    return {"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def job_key(job) -> str:
    return str(job.key or job.spec.clip_id or job.spec.clip)


def request_hash(job) -> str:
    """sha256 over everything that decides the shot's frames (not where they land on the timeline)."""
    spec, request = job.spec, job.request
    req = request_to_dict(request)
    for k in ("output_dir", "protect"):
        req.pop(k, None)
    identity = {
        "media": media_identity(spec.media),
        "range": [spec.first, spec.last],
        "head_frames": spec.head_frames,
        "tail_frames": spec.tail_frames,
        "rate": str(spec.rate),
        "start_timecode": spec.start_timecode,
        "request": req,  # engine, settings (seed included), codec, banks, refs, context
        "banks": sorted(str(getattr(b, "id", b)) for b in job.banks),
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def digest(path) -> str:
    """sha256 of a file, or of every file of a folder (an .otiod bundle) with its relative name."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else "").encode())
        h.update(f.read_bytes())
    return h.hexdigest()


class RunManifest:
    """Load, query and update one run manifest (every write is atomic)."""

    def __init__(self, path) -> None:
        self.path = Path(path)
        self.data: dict = {"schema": SCHEMA, "version": VERSION, "shots": {}, "output": None}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise UsageError(
                    f"the run manifest cannot be read ({exc}); move it away to start afresh", path=self.path
                ) from None
            if not isinstance(data, dict) or data.get("schema") != SCHEMA:
                raise UsageError("not a lengthen run manifest", path=self.path)
            self.data = data
            self.data.setdefault("shots", {})

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def done(self, job):
        """The finished outcome for this job if its request is unchanged and its files are all there."""
        entry = self.data["shots"].get(job_key(job))
        if not entry or entry.get("request") != request_hash(job):
            return None
        outcome = outcome_from_dict(job.spec, entry["outcome"])
        if outcome.error is not None or not all(Path(g.path).is_file() for g in outcome.generated):
            return None
        return outcome

    def record(self, job, outcome, **extra) -> None:
        """Write ``outcome`` as done (failed shots are not recorded: the next run tries them again)."""
        if outcome.error is not None:
            return
        keep(*(g.path for g in outcome.generated))  # finished: survives a later stop of this run
        self.data["shots"][job_key(job)] = {
            "request": request_hash(job),
            "clip": job.spec.clip,
            "outcome": outcome_to_dict(outcome),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": extra.pop("host", socket.gethostname()),
            **extra,
        }
        self.save()

    def spliced(self, job) -> Path | None:
        """The joined media recorded for this job (``--splice``), if its request is unchanged and it exists."""
        entry = self.data["shots"].get(job_key(job))
        if not entry or entry.get("request") != request_hash(job) or not entry.get("spliced"):
            return None
        path = Path(entry["spliced"])
        return path if path.is_file() else None

    def record_spliced(self, job, path) -> None:
        entry = self.data["shots"].get(job_key(job))
        if entry is not None:
            entry["spliced"] = os.path.abspath(path)
            self.save()

    def record_output(self, out) -> None:
        self.data["output"] = {"path": os.path.abspath(out), "sha256": digest(out)}
        self.save()

    def owns_output(self, out) -> bool:
        """True when ``out`` is exactly the timeline this manifest's last run wrote (so it may be replaced)."""
        rec = self.data.get("output")
        if not rec or not Path(out).exists() or rec.get("path") != os.path.abspath(out):
            return False
        return digest(out) == rec.get("sha256")

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.data, indent=1, sort_keys=True))
        keep(self.path)  # a stopped run keeps its manifest (and what it records) for the next run
