"""The panel's state, without Qt: the timeline, one row per shot, the engine settings, the
characters, the run bookkeeping and the project file. Widgets are views over it; tests drive it
directly.

Every change goes through a method that validates it (raising :class:`~lengthen.errors.UsageError`
naming the clip) and then tells the listeners (``subscribe(fn)``; ``fn(what, key)`` with ``what``
in ``timeline``, ``shots``, ``settings``, ``characters``, ``run``, ``selection`` and ``key`` a
clip id or None). All methods run on one thread (the GUI's); heavy work goes through the pure
functions of :mod:`lengthen.ui.jobs`, which take the plain values these methods hand out.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from ..config import DEFAULT_CODEC, DEFAULT_ENGINE, DEFAULT_HANDLES, EngineSettings, ExtendRequest, build_request
from ..engines.base import ENGINES
from ..errors import UsageError
from ..timecode import offset_timecode, parse_length
from . import project as proj
from .cast import Cast

GPU_ENGINES = ("wan-vace", "ltx", "skyreels-df")
UNITS = ("frames", "seconds")


def default_scan_settings():
    """The panel's scan: one look per second at faces from 48 px (cheaper than the CLI's)."""
    from ..faces.scan import ScanSettings

    return ScanSettings(sample_fps=1.0, min_face_px=48, min_character_faces=2)


@dataclass
class ShotRow:
    clip: object  # lengthen.timeline.read.TimelineClip
    spec: object  # lengthen.shots.ShotSpec (its head/tail are the current request)
    mode: str = "handles"  # "handles": lengths follow the handles; "lengths": set by hand
    seed: int | None = None  # None: the run's seed; a re-roll sets its own
    status: str = "planned"  # planned | queued | running | done | failed | cancelled
    stage: str = ""
    fraction: float | None = None
    eta: float | None = None  # seconds left in the current stage
    error: str | None = None
    outcome: object = None  # lengthen.pipeline.ShotOutcome of the last good render
    accepted: bool = False
    seeds_tried: list = field(default_factory=list)
    _stage_start: float = 0.0

    @property
    def clip_id(self) -> str:
        return self.clip.clip_id

    @property
    def rate(self) -> Fraction:
        return self.clip.rate

    @property
    def source_in(self) -> str:
        return offset_timecode(self.clip.start_timecode, self.clip.src_first, self.clip.rate)

    @property
    def source_out(self) -> str:
        """Timecode of the last frame the clip shows (inclusive)."""
        return offset_timecode(self.clip.start_timecode, self.clip.src_last, self.clip.rate)

    @property
    def available_head(self) -> int:
        """Media frames before the first frame the edit plays (transitions included)."""
        return max(0, self.clip.vis_first)

    @property
    def available_tail(self) -> int:
        return max(0, self.clip.media_frames - 1 - self.clip.vis_last)


@dataclass
class Loaded:
    """What reading a timeline gives (made in a worker, adopted on the GUI thread)."""

    path: Path
    doc: object
    plan: object
    saved: dict | None
    sizes: dict = field(default_factory=dict)  # media -> (height, width)


class PanelState:
    def __init__(self) -> None:
        self.timeline_path: Path | None = None
        self.doc = None
        self.plan = None
        self.rows: list[ShotRow] = []
        self.selected: str | None = None
        self.unit = "frames"
        self.handles = DEFAULT_HANDLES
        self.engine = DEFAULT_ENGINE
        self.settings = EngineSettings()
        self.codec = DEFAULT_CODEC
        self.context_frames: int | None = None
        self.scan_settings = default_scan_settings()
        self.cast = Cast()
        self.scan_status = "idle"  # idle | scanning | done | failed
        self.scan_message = ""
        self.banks_key: str | None = None
        self.sizes: dict = {}
        self.running = False
        self.run_started: float | None = None
        self._listeners: list = []

    # -- listeners -------------------------------------------------------------------------
    def subscribe(self, fn) -> None:
        self._listeners.append(fn)

    def _emit(self, what: str, key: str | None = None) -> None:
        for fn in list(self._listeners):
            fn(what, key)

    # -- timeline --------------------------------------------------------------------------
    @staticmethod
    def read(path, handles: int = DEFAULT_HANDLES, progress=None) -> Loaded:
        """Read and plan a timeline and its saved project (worker side: probes media)."""
        from ..media.probe import probe
        from ..timeline import plan_timeline, read_timeline

        path = Path(path)
        doc = read_timeline(path)
        try:
            saved = proj.load_project(path)
            if saved is not None:
                handles = int(saved.get("handles", handles))
            plan = plan_timeline(doc, handles=handles)
            sizes = {}
            for c in doc.clips:
                if str(c.media) not in sizes:
                    info = probe(c.media)
                    sizes[str(c.media)] = (info.height, info.width)
        except BaseException:
            doc.close()
            raise
        return Loaded(path, doc, plan, saved, sizes)

    def adopt(self, loaded: Loaded) -> None:
        """Take a read timeline; restore the saved choices of the same timeline."""
        self.close()
        self.timeline_path, self.doc, self.plan, self.sizes = loaded.path, loaded.doc, loaded.plan, loaded.sizes
        by_id = {c.clip_id: c for c in loaded.doc.clips}
        self.rows = [ShotRow(clip=by_id[s.clip_id], spec=s) for s in loaded.plan.shots]
        self.selected = self.rows[0].clip_id if self.rows else None
        if loaded.saved:
            self._restore(loaded.saved)
        self.scan_status, self.scan_message = "idle", ""
        self._emit("timeline")

    def close(self) -> None:
        if self.doc is not None:
            self.doc.close()
        self.doc, self.plan, self.rows, self.timeline_path, self.selected = None, None, [], None, None
        self.cast = Cast()
        self.banks_key = None

    @property
    def project_dir(self) -> Path:
        if self.timeline_path is None:
            raise UsageError("no timeline is open")
        return proj.project_dir(self.timeline_path)

    def row(self, clip_id: str) -> ShotRow:
        for r in self.rows:
            if r.clip_id == clip_id:
                return r
        raise UsageError(f"no shot {clip_id!r} in this timeline")

    def select(self, clip_id: str | None) -> None:
        if clip_id is not None:
            self.row(clip_id)
        self.selected = clip_id
        self._emit("selection", clip_id)

    # -- lengths ---------------------------------------------------------------------------
    def set_unit(self, unit: str) -> None:
        if unit not in UNITS:
            raise UsageError(f"unit must be one of {', '.join(UNITS)}")
        self.unit = unit
        self._emit("shots")

    def format_length(self, row: ShotRow, frames: int) -> str:
        if self.unit == "seconds":
            return f"{float(Fraction(frames) / row.rate):.2f}s"
        return str(frames)

    def parse_length(self, row: ShotRow, text) -> int:
        """Frames from what an editor typed: in the current unit, or with an explicit f / s."""
        text = str(text).strip()
        if self.unit == "seconds" and text and text[-1].isdigit():
            text += "s"
        try:
            return parse_length(text or "0", row.rate)
        except UsageError as exc:
            raise UsageError(exc.message, clip=row.clip.name) from None

    def set_length(self, clip_id: str, direction: str, value) -> None:
        if direction not in ("head", "tail"):
            raise UsageError(f"direction must be head or tail, not {direction!r}")
        row = self.row(clip_id)
        frames = value if isinstance(value, int) else self.parse_length(row, value)
        if frames < 0:
            raise UsageError("length must not be negative", clip=row.clip.name)
        head = frames if direction == "head" else row.spec.head_frames
        tail = frames if direction == "tail" else row.spec.tail_frames
        self._set_lengths(row, head, tail, "lengths")

    def fill_handles(self, handles=None, clip_ids=None) -> None:
        """Handles mode: each (or each listed) shot gets the frames its ``handles`` lack."""
        from ..timeline import handle_frames

        if handles is not None:
            n = (
                handles
                if isinstance(handles, int)
                else parse_length(str(handles), self.rows[0].rate if self.rows else 24)
            )
            self.handles = int(n)
        for row in self.rows:
            if clip_ids is None or row.clip_id in clip_ids:
                head, tail = handle_frames(row.clip, self.handles)
                self._set_lengths(row, head, tail, "handles", emit=False)
        self._emit("shots")

    def _set_lengths(self, row: ShotRow, head: int, tail: int, mode: str, emit: bool = True) -> None:
        meta = {**row.spec.metadata, "mode": mode}
        if mode == "handles":
            meta["handles"] = self.handles
        else:
            meta.pop("handles", None)
        changed = (head, tail) != (row.spec.head_frames, row.spec.tail_frames)
        row.spec = replace(row.spec.with_lengths(head, tail), metadata=meta)
        row.mode = mode
        if changed and row.status != "running":
            row.outcome, row.accepted, row.status, row.error = None, False, "planned", None
        if emit:
            self._emit("shots", row.clip_id)

    # -- engine settings -------------------------------------------------------------------
    def set_engine(self, name: str) -> None:
        if name not in ENGINES:
            raise UsageError(f"unknown engine {name!r}; known engines: {', '.join(ENGINES)}")
        self.engine = name
        self._emit("settings")

    def set_settings(self, **changes) -> None:
        self.settings = replace(self.settings, **changes)  # EngineSettings validates
        self._emit("settings")

    def memory_estimate(self) -> str | None:
        """The GPU memory a run of the current GPU engine needs (largest shot), or None."""
        if self.engine not in GPU_ENGINES or not self.rows:
            return None
        from ..engines import presets

        try:
            preset = presets.get_preset(self.settings.preset or self.engine)
            frames = max(max(r.spec.head_frames, r.spec.tail_frames) for r in self.rows)
            h, w = max(self.sizes.values()) if self.sizes else (1080, 1920)
            gb = presets.estimate_gb(preset, max(frames, 1), h, w, self.settings.offload, self.settings.vae_tiling)
        except (UsageError, KeyError, ValueError) as exc:
            return f"no estimate ({exc})"
        return f"about {gb:g} GB of GPU memory ({frames} frames at {w}x{h})"

    # -- characters ------------------------------------------------------------------------
    def scan_started(self, key: str) -> None:
        self.banks_key, self.scan_status, self.scan_message = key, "scanning", "looking for faces..."
        self._emit("characters")

    def scan_finished(self, banks, warnings=(), used=None) -> None:
        self.cast.set_banks(banks, used if used is not None else self._saved_used)
        self.scan_status = "done"
        self.scan_message = f"{len(banks)} characters" + (f"; {len(warnings)} warnings" if warnings else "")
        self._emit("characters")

    def scan_failed(self, message: str) -> None:
        self.scan_status, self.scan_message = "failed", message
        self._emit("characters")

    def edit_cast(self, action: str, *args) -> None:
        """``action`` is a :class:`~lengthen.ui.cast.Cast` method: set_used, set_reference,
        rename, merge, drop, drop_face, replace_all."""
        getattr(self.cast, action)(*args)
        self._emit("characters", "edit")

    @property
    def banks_dir(self) -> Path:
        return self.project_dir / "banks" / (self.banks_key or "none")

    # -- runs ------------------------------------------------------------------------------
    def request_for(self, row: ShotRow, banks_dir: Path | None) -> ExtendRequest:
        seed = row.seed if row.seed is not None else self.settings.seed
        protect = tuple(str(p) for p in (self.timeline_path, *(r.clip.media for r in self.rows)))
        request = build_request(
            engine=self.engine,
            settings=self.settings,
            seed=seed,
            codec=self.codec,
            output_dir=self.project_dir / "media",
            scan_faces=False,
            context_frames=self.context_frames,
            protect=protect,
        )
        # the run's banks folder is written from the job's banks when the shot starts (pipeline.run_shot)
        return replace(request, banks_dir=banks_dir)

    def run_items(self, clip_ids=None) -> list:
        """The work of a run, as plain values; marks those shots queued. Default: every shot
        with frames to make and no result yet."""
        from ..executor import ShotJob

        if self.running:
            raise UsageError("a run is already in progress")
        items = []
        for row in self.rows:
            wanted = row.clip_id in clip_ids if clip_ids is not None else row.outcome is None
            if not wanted or not row.spec.directions:
                continue
            banks = self.cast.banks_for(row.spec.media)
            folder = self.project_dir / "run_banks" / Cast.key(banks) if banks else None
            items.append(ShotJob(row.spec, self.request_for(row, folder), tuple(banks), key=row.clip_id))
            row.status, row.error, row.fraction, row.eta, row.stage = "queued", None, None, None, ""
        if items:
            self.running, self.run_started = True, time.monotonic()
            self._run_ids = {i.key for i in items}
        self._emit("run")
        return items

    def shot_started(self, clip_id: str) -> None:
        row = self.row(clip_id)
        row.status, row.stage, row.fraction, row.eta, row._stage_start = "running", "", 0.0, None, time.monotonic()
        self._emit("shots", clip_id)

    def shot_progress(
        self, clip_id: str, stage: str, done: float, total: float | None, message: str = "", now=None
    ) -> None:
        row = self.row(clip_id)
        now = time.monotonic() if now is None else now
        if stage != row.stage:
            row.stage, row._stage_start = stage, now
        row.fraction = (done / total) if total else None
        row.eta = (now - row._stage_start) / done * (total - done) if total and done > 0 else None
        self._emit("shots", clip_id)

    def shot_done(self, clip_id: str, outcome) -> None:
        row = self.row(clip_id)
        row.outcome, row.status, row.fraction, row.eta, row.error = outcome, "done", 1.0, None, None
        row.seeds_tried.append(row.seed if row.seed is not None else self.settings.seed)
        self._emit("shots", clip_id)

    def shot_failed(self, clip_id: str, message: str) -> None:
        row = self.row(clip_id)
        row.status, row.error, row.eta = "failed", message, None
        self._emit("shots", clip_id)

    def run_finished(self, cancelled: bool = False) -> None:
        for row in self.rows:
            if row.status in ("queued", "running"):
                row.status, row.eta = ("cancelled" if cancelled else "planned"), None
        self.running = False
        self._emit("run")

    def accept(self, clip_id: str, on: bool = True) -> None:
        row = self.row(clip_id)
        if on and row.outcome is None:
            raise UsageError("nothing to accept yet: run the shot first", clip=row.clip.name)
        row.accepted = on
        self._emit("shots", clip_id)

    def reroll(self, clip_id: str) -> int:
        """Forget the shot's result and give it a new seed; returns the seed."""
        row = self.row(clip_id)
        tried = row.seeds_tried or [self.settings.seed]
        row.seed = max(tried + [row.seed or 0]) + 1
        row.outcome, row.accepted, row.status, row.error = None, False, "planned", None
        self._emit("shots", clip_id)
        return row.seed

    def overall_eta(self) -> float | None:
        """Seconds left in the run: time per finished shot so far times the shots left."""
        if not self.running or self.run_started is None:
            return None
        finished = sum(r.status in ("done", "failed") for r in self.rows if r.clip_id in self._run_ids)
        left = len(self._run_ids) - finished
        if not finished or not left:
            return None
        return (time.monotonic() - self.run_started) / finished * left

    def outcomes_for_export(self, only_accepted: bool = True) -> list:
        return [r.outcome for r in self.rows if r.outcome is not None and (r.accepted or not only_accepted)]

    # -- project file ----------------------------------------------------------------------
    _saved_used = None
    _run_ids: set = set()

    def project_data(self) -> dict:
        shots = {}
        for r in self.rows:
            o = r.outcome
            shots[r.clip_id] = {
                "clip": r.clip.name,
                "mode": r.mode,
                "head": r.spec.head_frames,
                "tail": r.spec.tail_frames,
                "seed": r.seed,
                "seeds_tried": r.seeds_tried,
                "accepted": r.accepted,
                "generated": [proj.generated_to_dict(g) for g in o.generated] if o is not None else None,
                "report": o.report if o is not None else None,
            }
        settings = asdict(self.settings)
        return {
            "unit": self.unit,
            "handles": self.handles,
            "engine": self.engine,
            "settings": settings,
            "codec": self.codec,
            "context_frames": self.context_frames,
            "banks_key": self.banks_key,
            "used_characters": sorted(self.cast.used) if self.cast.banks else self._saved_used,
            "shots": shots,
        }

    def save_project(self) -> Path | None:
        if self.timeline_path is None:
            return None
        from ..timeline.metadata import jsonable

        return proj.save_project(self.timeline_path, jsonable(self.project_data()))

    def _restore(self, data: dict) -> None:
        from ..pipeline import ShotOutcome

        self.unit = data.get("unit", self.unit) if data.get("unit") in UNITS else self.unit
        if data.get("engine") in ENGINES:
            self.engine = data["engine"]
        try:
            self.settings = EngineSettings.from_dict(data.get("settings", {}))
        except (TypeError, UsageError):
            pass
        self.codec = data.get("codec", self.codec)
        self.context_frames = data.get("context_frames")
        self._saved_used = data.get("used_characters")
        for row in self.rows:
            saved = data.get("shots", {}).get(row.clip_id)
            if not saved or saved.get("clip") != row.clip.name:
                continue
            if saved.get("mode") == "lengths":
                self._set_lengths(row, int(saved["head"]), int(saved["tail"]), "lengths", emit=False)
            row.seed, row.seeds_tried = saved.get("seed"), list(saved.get("seeds_tried") or [])
            gen = saved.get("generated")
            if (
                gen
                and (row.spec.head_frames, row.spec.tail_frames) == (int(saved["head"]), int(saved["tail"]))
                and all(Path(g["path"]).is_file() for g in gen)
            ):
                row.outcome = ShotOutcome(
                    spec=row.spec,
                    generated=[proj.generated_from_dict(g) for g in gen],
                    report=saved.get("report") or {},
                )
                row.status, row.accepted, row.fraction = "done", bool(saved.get("accepted")), 1.0
