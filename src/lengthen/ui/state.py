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
from ..farm.records import generated_from_dict, generated_to_dict
from ..timecode import frames_to_timecode, offset_timecode, parse_length, timecode_to_frames
from . import project as proj
from .cast import Cast

GPU_ENGINES = ("wan-vace", "ltx", "skyreels-df")
# engines whose output does not depend on the seed: a re-roll would write the same frames again
DETERMINISTIC_ENGINES = ("freeze", "motion", "flow-raw")
UNITS = ("frames", "seconds")


def default_scan_settings():
    """The panel's scan: the defaults of ``lengthen faces`` (one home: ScanSettings)."""
    from ..faces.scan import ScanSettings

    return ScanSettings()


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
    outcome: object = None  # lengthen.pipeline.ShotOutcome: the take in use (one of ``takes``)
    takes: list = field(default_factory=list)  # every kept render of the current lengths, oldest first
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
        """Media frames of this shot before the first frame the edit plays (transitions included):
        they stop at the media's start or at a cut inside the media (``spec.first``)."""
        return max(0, self.clip.vis_first - self.spec.first)

    @property
    def available_tail(self) -> int:
        return max(0, self.spec.last - self.clip.vis_last)

    @property
    def cut_note(self) -> str:
        """Where a cut inside the media limits the handles ("" when none does)."""
        m = self.spec.metadata
        sides = (("head", "cut_before"), ("tail", "cut_after"))
        return "; ".join(f"{s} stops at a cut (media frame {m[k]})" for s, k in sides if m.get(k) is not None)


@dataclass
class Loaded:
    """What reading a timeline gives (made in a worker, adopted on the GUI thread)."""

    path: Path
    doc: object
    plan: object
    saved: dict | None
    sizes: dict = field(default_factory=dict)  # media -> (height, width)
    record_start: int = 0  # the timeline's start, in frames at its rate (record timecode of frame 0)


class PanelState:
    def __init__(self) -> None:
        self.timeline_path: Path | None = None
        self.doc = None
        self.plan = None
        self.rows: list[ShotRow] = []
        self.problems: list = []  # lengthen.timeline.read.ClipProblem: clips the plan skipped (offline...)
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
        self.unassigned: list[str] = []  # lines naming the faces the scan put in no character
        self.banks_key: str | None = None
        self.sizes: dict = {}
        self.record_start = 0
        self.gpu: bool | None = None  # CUDA available? None: not known yet (GPU engines refused until known)
        self.running = False
        self.run_started: float | None = None
        self._run_ids: list[str] = []  # the clip ids of the current run
        self._shot_times: list[float] = []  # seconds each finished shot of the current run took
        self.executor = "local"  # where runs render: "local" (this process) or "ray" (lengthen[farm])
        self.ray_address: str | None = None  # with "ray": a cluster's address; None: a private local Ray
        self.on_undoable = None  # fn(label, before, after): the panel's undo stack (see snapshot())
        self._listeners: list = []
        self._saved_used = None  # the project file's characters in use, until the scan gives the banks

    # -- listeners -------------------------------------------------------------------------
    def subscribe(self, fn) -> None:
        self._listeners.append(fn)

    def _emit(self, what: str, key: str | None = None) -> None:
        for fn in list(self._listeners):
            fn(what, key)

    # -- undo ------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The editable plan of every shot (lengths, mode, takes, acceptance, seed) and the handles:
        what an undo step restores."""
        return {
            "handles": self.handles,
            "rows": {
                r.clip_id: (r.spec, r.mode, r.seed, list(r.takes), r.outcome, r.accepted, r.status, r.error)
                for r in self.rows
            },
        }

    def restore_snapshot(self, snap: dict) -> None:
        if self.running:
            raise UsageError("wait for the run to finish (or cancel it) before undoing")
        self.handles = snap["handles"]
        for r in self.rows:
            saved = snap["rows"].get(r.clip_id)
            if saved is not None:
                r.spec, r.mode, r.seed, takes, r.outcome, r.accepted, r.status, r.error = saved
                r.takes = list(takes)
        self._emit("shots")

    def _undoable(self, label: str, change):
        """Run ``change()``; when it changed the plan, hand (label, before, after) to the undo stack."""
        before = self.snapshot()
        result = change()
        after = self.snapshot()
        if self.on_undoable is not None and _differs(before, after):
            self.on_undoable(label, before, after)
        return result

    # -- timeline --------------------------------------------------------------------------
    @staticmethod
    def read(path, handles: int = DEFAULT_HANDLES, progress=None) -> Loaded:
        """Read and plan a timeline and its saved project (worker side: probes media and looks
        for cuts inside the media near each clip's edges)."""
        from ..api import open_plan
        from ..media.probe import probe
        from ..timecode import from_rational_time
        from ..timeline.read import timeline_rate

        path = Path(path)
        saved = proj.load_project(path) if path.exists() else None
        if saved is not None:
            handles = int(saved.get("handles", handles))
        doc, plan = open_plan(path, handles=handles)  # what `lengthen plan/timeline --handles N` reads
        try:
            sizes = {}
            for c in doc.clips:
                if str(c.media) not in sizes:
                    info = probe(c.media)
                    sizes[str(c.media)] = (  # upright, as engines see the frames
                        (info.width, info.height) if info.rotation % 180 else (info.height, info.width)
                    )
            start = doc.timeline.global_start_time
            record_start = from_rational_time(start, timeline_rate(doc.timeline)) if start is not None else 0
        except BaseException:
            doc.close()
            raise
        return Loaded(path, doc, plan, saved, sizes, record_start)

    def adopt(self, loaded: Loaded) -> None:
        """Take a read timeline; restore the saved choices of the same timeline."""
        self.close()
        self.timeline_path, self.doc, self.plan, self.sizes = loaded.path, loaded.doc, loaded.plan, loaded.sizes
        self.record_start = loaded.record_start
        by_id = {c.clip_id: c for c in loaded.doc.clips}
        self.rows = [ShotRow(clip=by_id[s.clip_id], spec=s) for s in loaded.plan.shots]
        self.problems = list(loaded.plan.problems)
        self.selected = self.rows[0].clip_id if self.rows else None
        if loaded.saved:
            self._restore(loaded.saved)
        self.scan_status, self.scan_message, self.unassigned = "idle", "", []
        self._emit("timeline")

    def close(self) -> None:
        if self.doc is not None:
            self.doc.close()
        self.doc, self.plan, self.rows, self.timeline_path, self.selected = None, None, [], None, None
        self.problems = []
        self.cast = Cast()
        self.banks_key = None
        self.running = False

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

    def find_row(self, clip_id: str) -> ShotRow | None:
        return next((r for r in self.rows if r.clip_id == clip_id), None)

    def table_entries(self) -> list:
        """The shot table's lines in timeline order: every ShotRow and every skipped clip
        (a ClipProblem: offline media and the like stay listed with their note)."""

        def order(entry):
            cid = entry.clip_id
            track, _, n = str(cid).rpartition("/")
            return (track, int(n) if n.isdigit() else 0)

        return sorted([*self.rows, *self.problems], key=order)

    def select(self, clip_id: str | None) -> None:
        if clip_id is not None:
            self.row(clip_id)
        self.selected = clip_id
        self._emit("selection", clip_id)

    def record_timecode(self, row: ShotRow) -> str:
        """Record (timeline) timecode where the clip starts."""
        rate = row.clip.timeline_rate
        return frames_to_timecode(self.record_start + row.clip.timeline_in, rate)

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
        """Frames from what an editor typed: in the current unit, with an explicit f / s, or a
        timecode duration (``00:00:01:00`` is one second at the clip's rate)."""
        text = str(text).strip()
        try:
            if ":" in text or ";" in text:
                frames = timecode_to_frames(text, row.rate)
                if frames < 0:
                    raise UsageError(f"length must not be negative: {text!r}")
                return frames
            if self.unit == "seconds" and text and text[-1].isdigit():
                text += "s"
            return parse_length(text or "0", row.rate)
        except UsageError as exc:
            raise UsageError(exc.message, clip=row.clip.name) from None

    def set_prompt(self, clip_id: str, text: str | None) -> None:
        """The shot's own prompt for the GPU engines (empty: the run's ``--prompt`` or the default
        description). It travels in the row's ShotSpec to the render."""
        row = self.row(clip_id)

        def change():
            row.spec = replace(row.spec, prompt=(text or "").strip() or None)
            self._emit("shots", row.clip_id)

        self._undoable(f"prompt of {row.clip.name}", change)

    def set_length(self, clip_id: str, direction: str, value) -> None:
        if direction not in ("head", "tail"):
            raise UsageError(f"direction must be head or tail, not {direction!r}")
        row = self.row(clip_id)
        frames = value if isinstance(value, int) else self.parse_length(row, value)
        if frames < 0:
            raise UsageError("length must not be negative", clip=row.clip.name)
        head = frames if direction == "head" else row.spec.head_frames
        tail = frames if direction == "tail" else row.spec.tail_frames
        self._undoable(
            f"{direction} of {row.clip.name} = {frames}", lambda: self._set_lengths(row, head, tail, "lengths")
        )

    def needs_cut_scan(self, handles: int) -> list[ShotRow]:
        """Shots whose media was looked at for cuts less far than ``handles`` frames from the
        edges (planning looks max(2 s, the handles then) far): look again before filling."""
        return [r for r in self.rows if handles > r.spec.metadata.get("cut_window", handles)]

    @staticmethod
    def find_bounds(clips, window: int, progress=None) -> dict:
        """clip id -> shot bounds (:func:`lengthen.media.cuts.shot_bounds`) ``window`` frames out
        (worker side: decodes frames)."""
        from ..errors import LengthenError
        from ..media.cuts import shot_bounds

        out = {}
        for i, c in enumerate(clips):
            if progress is not None:
                progress.check()
                progress.report("cuts", i, len(clips), c.name)
            try:
                out[c.clip_id] = shot_bounds(c.media, c.vis_first, c.vis_last, c.media_frames, window)
            except LengthenError:
                continue  # unreadable here: keep what planning found
        return out

    def fill_handles(self, handles=None, clip_ids=None, bounds: dict | None = None) -> None:
        """Handles mode: each (or each listed) shot gets the frames its ``handles`` lack. Handles
        stop at the media's ends and at cuts inside the media (``spec.first``/``spec.last``);
        ``bounds`` (from :meth:`find_bounds`) first moves the shots' ends to cuts found further out."""
        if handles is not None:
            n = (
                handles
                if isinstance(handles, int)
                else parse_length(str(handles), self.rows[0].rate if self.rows else 24)
            )
        else:
            n = self.handles

        def change():
            from ..timeline import handle_frames

            self.handles = int(n)
            for row in self.rows:
                b = (bounds or {}).get(row.clip_id)
                if b is not None:
                    moved = (b["first"], b["last"]) != (row.spec.first, row.spec.last)
                    meta = {**row.spec.metadata, "cut_before": b["cut_before"], "cut_after": b["cut_after"]}
                    meta["cut_window"] = b["window"]
                    row.spec = replace(row.spec, first=b["first"], last=b["last"], metadata=meta)
                    if moved and row.status != "running":  # its takes were made for other shot ends
                        row.outcome, row.takes, row.accepted, row.status = None, [], False, "planned"
                if clip_ids is None or row.clip_id in clip_ids:
                    head, tail = handle_frames(row.clip, self.handles, (row.spec.first, row.spec.last))
                    self._set_lengths(row, head, tail, "handles", emit=False)
            self._emit("shots")

        self._undoable(f"fill {n} f handles", change)

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
            row.outcome, row.takes, row.accepted, row.status, row.error = None, [], False, "planned", None
        if emit:
            self._emit("shots", row.clip_id)

    # -- engine settings -------------------------------------------------------------------
    def engine_available(self, name: str) -> str | None:
        """None when ``name`` can run here, else why not (GPU engines need CUDA)."""
        if name in GPU_ENGINES and not self.gpu:
            return "needs an NVIDIA GPU with CUDA" + (" (checking…)" if self.gpu is None else "; none found here")
        return None

    def set_engine(self, name: str) -> None:
        if name not in ENGINES:
            raise UsageError(f"unknown engine {name!r}; known engines: {', '.join(ENGINES)}")
        why = self.engine_available(name)
        if why:
            raise UsageError(f"engine {name!r} {why}; run `lengthen doctor`")
        self.engine = name
        self._emit("settings")

    @staticmethod
    def ray_available() -> bool:
        import importlib.util

        return importlib.util.find_spec("ray") is not None

    def set_executor(self, name: str, address: str | None = None) -> None:
        """Render runs in this process (``local``) or as one Ray task per shot (``ray``; needs
        ``pip install 'lengthen[farm]'``), on a private local Ray or the cluster at ``address``."""
        if name not in ("local", "ray"):
            raise UsageError(f"unknown executor {name!r}; choose local or ray")
        if self.running:
            raise UsageError("a run is in progress; change where runs render after it")
        if name == "ray" and not self.ray_available():
            from ..errors import MissingDependency

            raise MissingDependency("ray", "farm")
        self.executor, self.ray_address = name, (address or "").strip() or None
        self._emit("settings")

    def make_executor(self):
        """The executor a run goes through (see :mod:`lengthen.executor`)."""
        if self.executor == "ray":
            from ..farm.ray_executor import RayExecutor

            return RayExecutor(self.ray_address)
        from ..executor import LocalExecutor

        return LocalExecutor()

    def set_settings(self, **changes) -> None:
        self.settings = replace(self.settings, **changes)  # EngineSettings validates
        self._emit("settings")

    @property
    def deterministic(self) -> bool:
        """True when the engine ignores the seed (a re-roll would write the same frames)."""
        return self.engine in DETERMINISTIC_ENGINES

    def memory_estimate(self, engine: str | None = None) -> str | None:
        """The GPU memory a run of the current (or the named) GPU engine needs (largest shot), or None."""
        engine = engine or self.engine
        if engine not in GPU_ENGINES or not self.rows:
            return None
        from ..engines import presets

        try:
            preset = presets.get_preset(self.settings.preset or engine)
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

    def scan_finished(self, banks, warnings=(), used=None, unassigned=()) -> None:
        self.cast.set_banks(banks, used if used is not None else self._saved_used)
        self.unassigned = list(unassigned)
        self.scan_status = "done"
        self.scan_message = (
            f"{len(banks)} characters"
            + (f"; {len(self.unassigned)} faces in no character" if self.unassigned else "")
            + (f"; {len(warnings)} warnings" if warnings else "")
        )
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
        with frames to make and no result yet; ``clip_ids``: those shots (run selected)."""
        from ..executor import ShotJob

        if self.running:
            raise UsageError("a run is already in progress")
        why = self.engine_available(self.engine)
        if why:
            raise UsageError(f"engine {self.engine!r} {why}; choose a CPU engine")
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
            self._run_ids = [i.key for i in items]
            self._shot_times = []
        self._emit("run")
        return items

    def shot_started(self, clip_id: str) -> None:
        row = self.row(clip_id)
        row.status, row.stage, row.fraction, row.eta, row._stage_start = "running", "", 0.0, None, time.monotonic()
        row._shot_start = row._stage_start
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
        row.takes.append(outcome)
        row.outcome, row.status, row.fraction, row.eta, row.error = outcome, "done", 1.0, None, None
        row.accepted = False
        row.seeds_tried.append(row.seed if row.seed is not None else self.settings.seed)
        self._shot_times.append(time.monotonic() - getattr(row, "_shot_start", time.monotonic()))
        self._emit("shots", clip_id)

    def shot_failed(self, clip_id: str, message: str) -> None:
        row = self.row(clip_id)
        row.error, row.eta = message, None
        row.status = "failed" if row.outcome is None else "done"  # an earlier take stays in use
        self._emit("shots", clip_id)

    def run_finished(self, cancelled: bool = False) -> None:
        for row in self.rows:
            if row.status in ("queued", "running"):
                row.status, row.eta = ("cancelled" if cancelled else "planned"), None
                if row.outcome is not None:
                    row.status = "done"
        self.running = False
        self._emit("run")

    def accept(self, clip_id: str, on: bool = True) -> None:
        row = self.row(clip_id)
        if on and row.outcome is None:
            raise UsageError("nothing to accept yet: run the shot first", clip=row.clip.name)

        def change():
            row.accepted = on
            self._emit("shots", clip_id)

        self._undoable(f"{'accept' if on else 'un-accept'} {row.clip.name}", change)

    def choose_take(self, clip_id: str, index: int, accept: bool = False) -> None:
        """Use take ``index`` of the shot's takes (and accept it)."""
        row = self.row(clip_id)
        if not 0 <= index < len(row.takes):
            raise UsageError(f"no take {index + 1}; this shot has {len(row.takes)}", clip=row.clip.name)

        def change():
            row.outcome, row.status = row.takes[index], "done"
            row.accepted = accept or (row.accepted and row.outcome is row.takes[index])
            self._emit("shots", clip_id)

        self._undoable(f"take {index + 1} of {row.clip.name}", change)

    def reroll(self, clip_id: str) -> int:
        """Keep the shot's takes and give it a new seed for the next run; returns the seed."""
        row = self.row(clip_id)
        if self.deterministic:
            raise UsageError(
                f"engine {self.engine!r} ignores the seed: a re-roll would make the same frames; "
                "choose another engine to try a different take",
                clip=row.clip.name,
            )

        def change():
            tried = row.seeds_tried or [self.settings.seed]
            row.seed = max(tried + [row.seed or 0]) + 1
            row.outcome, row.accepted, row.status, row.error = None, False, "planned", None
            self._emit("shots", clip_id)
            return row.seed

        return self._undoable(f"re-roll {row.clip.name}", change)

    def run_progress(self, now=None) -> tuple[float, float | None, str]:
        """(fraction of the run done, seconds left or None, text) for the overall progress bar,
        from the same numbers the rows show: each finished shot counts 1, the running one its
        stage's fraction; seconds left are the running shot's stage ETA until a shot has finished,
        then the mean time per finished shot for those still to come."""
        ids = list(self._run_ids)
        if not self.running or not ids:
            return 0.0, None, ""
        now = time.monotonic() if now is None else now
        rows = [r for r in self.rows if r.clip_id in ids]
        finished = sum(1 for r in rows if r.status in ("done", "failed"))
        running = next((r for r in rows if r.status == "running"), None)
        part = (running.fraction or 0.0) if running is not None else 0.0
        fraction = min(1.0, (finished + part) / len(ids))
        left_after = len(ids) - finished - (1 if running is not None else 0)
        eta = None
        times = self._shot_times
        if times:
            per = sum(times) / len(times)
            current = 0.0
            if running is not None:
                current = max(per - (now - getattr(running, "_shot_start", now)), running.eta or 0.0)
            eta = current + per * left_after
        elif running is not None and running.eta is not None and left_after == 0:
            eta = running.eta
        several = sum(1 for r in rows if r.status == "running")
        if several > 1:  # a farm run (Ray): shots at once; the ETA from the run's own pace
            failed = sum(1 for r in rows if r.status == "failed")
            fraction = min(1.0, (finished + sum(r.fraction or 0.0 for r in rows if r.status == "running")) / len(ids))
            done = finished - failed
            pace = (now - self.run_started) / finished if finished and self.run_started is not None else None
            eta = pace * (len(ids) - finished) if pace is not None else None
            text = f"{done}/{len(ids)} done · {several} running · {failed} failed"
            return fraction, eta, text + (f" · ETA {eta:.0f} s" if eta is not None else " · ETA after the first shot")
        n = finished + (1 if running is not None else 0)
        text = f"shot {max(1, n)}/{len(ids)}"
        if running is not None:
            text += f" · {running.stage or 'starting'}"
        text += f" · ETA {eta:.0f} s" if eta is not None else " · ETA after the first shot"
        return fraction, eta, text

    def overall_eta(self) -> float | None:
        return self.run_progress()[1]

    def outcomes_for_export(self, only_accepted: bool = True) -> list:
        return [r.outcome for r in self.rows if r.outcome is not None and (r.accepted or not only_accepted)]

    # -- project file ----------------------------------------------------------------------
    def project_data(self) -> dict:
        shots = {}
        for r in self.rows:
            takes = [{"generated": [generated_to_dict(g) for g in t.generated], "report": t.report} for t in r.takes]
            shots[r.clip_id] = {
                "clip": r.clip.name,
                "mode": r.mode,
                "head": r.spec.head_frames,
                "tail": r.spec.tail_frames,
                "seed": r.seed,
                "seeds_tried": r.seeds_tried,
                "accepted": r.accepted,
                "prompt": getattr(r.spec, "prompt", None),
                "takes": takes,
                "take": next((i for i, t in enumerate(r.takes) if t is r.outcome), None),
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
            "selected": self.selected,
            "shots": shots,
        }

    def save_project(self) -> Path | None:
        if self.timeline_path is None:
            return None
        from ..timeline.metadata import jsonable

        return proj.save_project(self.timeline_path, jsonable(self.project_data()))

    def _restore(self, data: dict) -> None:
        """Put back every saved choice exactly: unit, handles, engine and its settings, codec,
        context, characters in use, selection, and per shot its lengths, mode, seed, takes, the
        take in use and its acceptance (takes whose media is gone are dropped)."""
        from ..pipeline import ShotOutcome

        self.unit = data.get("unit", self.unit) if data.get("unit") in UNITS else self.unit
        try:
            self.handles = max(0, int(data.get("handles", self.handles)))
        except (TypeError, ValueError):
            pass
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
            mode = saved.get("mode") if saved.get("mode") in ("handles", "lengths") else "handles"
            self._set_lengths(row, int(saved["head"]), int(saved["tail"]), mode, emit=False)
            row.seed, row.seeds_tried = saved.get("seed"), list(saved.get("seeds_tried") or [])
            if saved.get("prompt"):
                row.spec = replace(row.spec, prompt=str(saved["prompt"]))
            takes = saved.get("takes")
            if takes is None and saved.get("generated"):  # a project written before takes existed
                takes = [{"generated": saved["generated"], "report": saved.get("report")}]
                saved = {**saved, "take": 0}
            row.takes = []
            chosen = saved.get("take")
            for i, t in enumerate(takes or []):
                gen = t.get("generated") or []
                if gen and all(Path(g["path"]).is_file() and _fits(row.spec, g) for g in gen):
                    outcome = ShotOutcome(
                        spec=row.spec,
                        generated=[generated_from_dict(g) for g in gen],
                        report=t.get("report") or {},
                    )
                    row.takes.append(outcome)
                    if i == chosen:
                        row.outcome = outcome
            if row.outcome is not None:
                row.status, row.accepted, row.fraction = "done", bool(saved.get("accepted")), 1.0
        if data.get("selected") in {r.clip_id for r in self.rows}:
            self.selected = data["selected"]


def _fits(spec, gen: dict) -> bool:
    """A saved generated file still belongs to this shot: same direction length and the same
    place on the source's frame line (a take made before a cut was found continues another shot)."""
    try:
        direction = gen["direction"]
        return int(gen["frames"]) == spec.frames_for(direction) and int(
            gen["source_first_frame"]
        ) == spec.generated_first_frame(direction)
    except (KeyError, TypeError, ValueError):
        return False


def _differs(a: dict, b: dict) -> bool:
    if a["handles"] != b["handles"] or a["rows"].keys() != b["rows"].keys():
        return True
    for key, x in a["rows"].items():
        y = b["rows"][key]
        if (x[0].head_frames, x[0].tail_frames, x[0].prompt, x[1:3], x[5:]) != (
            y[0].head_frames,
            y[0].tail_frames,
            y[0].prompt,
            y[1:3],
            y[5:],
        ):
            return True
        if x[4] is not y[4] or len(x[3]) != len(y[3]):
            return True
    return False


def cuda_available(progress=None) -> bool:
    """Whether torch sees a CUDA GPU here (the panel asks once, in a worker: importing torch is slow)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())
