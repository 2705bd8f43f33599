"""The panel's main window: wires the views to the state and the jobs to worker threads.

Nothing heavy runs here: reading the timeline, the face scan, thumbnails, previews, renders and
the export each run as a :class:`~lengthen.ui.workers.Worker`; their signals update the state,
and the state's events refresh the views. Every slot is guarded: an error becomes a line in the
Problems pane, and once the window closes late signals from workers are ignored.

Plan edits and acceptances go on a ``QUndoStack`` (Edit > Undo / Redo) as state snapshots.
"""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PyQt6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..errors import LengthenError
from . import jobs
from .characters import CharactersPane
from .filmstrip import THUMB_WIDTH, Filmstrip
from .preview import PreviewPane, take_line
from .settings import SettingsPane
from .shot_table import ShotTable
from .state import PanelState, cuda_available
from .workers import Pools, Worker

TIMELINE_FILTER = "Timelines (*.otio *.otioz *.otiod *.xml *.edl);;All files (*)"
TIMELINE_SUFFIXES = (".otio", ".otioz", ".otiod", ".xml", ".edl")
MAX_RECENT = 8
PREVIEW_WIDTH = 960  # decoded preview frames are at most this wide; the view scales them to fit
SETTINGS_ENV = "LENGTHEN_PANEL_SETTINGS"


def panel_settings() -> QSettings:
    """The panel's own settings (recent files, last folder): ``$LENGTHEN_PANEL_SETTINGS`` (an INI
    file; the test suite points it at a temporary file) or the user's settings."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("lengthen", "panel")


def one_line(text: str, limit: int = 240) -> str:
    """An error for the status line: its first line, at most ``limit`` characters."""
    first = (str(text).strip().splitlines() or [""])[0].strip()
    return first if len(first) <= limit else first[: limit - 1] + "…"


def preview_pair(spec, take, other, direction: str, source_frames: int, width: int, progress):
    """(preview of ``take``, preview of ``other`` or None) for the A/B view."""
    a = jobs.preview(spec, take, direction, source_frames, width, progress)
    b = None
    if other is not None and any(g.direction == direction for g in other.generated):
        b = jobs.preview(spec, other, direction, source_frames, width, progress)
    return a, b


# the third exports like `lengthen timeline --splice`: clips relinked to media joined with their new frames
EXPORT_FILTERS = ("OTIO (*.otio)", "OTIO bundle (*.otioz)", "OTIO, clips spliced with their new frames (*.otio)")


def before_frames(data: dict) -> dict:
    """The "before" side of a before/after view: what the edit shows without the new frames, the
    source's edge frame held where frames were generated."""
    import numpy as np

    frames, generated = data["frames"], data["generated"]
    source = [i for i, g in enumerate(generated) if not g]
    edge = source[0] if generated and generated[0] else source[-1]
    held = np.stack([frames[edge] if g else f for f, g in zip(frames, generated)])
    return {**data, "frames": held, "seed": "before", "label": "before: edge held"}


def _group(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(4, 4, 4, 4)
    lay.addWidget(widget)
    return box


class SnapshotCommand(QUndoCommand):
    """One plan edit or acceptance: undo puts the state's snapshot from before back, redo after."""

    def __init__(self, window, label: str, before: dict, after: dict) -> None:
        super().__init__(label)
        self.window, self.before, self.after, self.first = window, before, after, True

    def redo(self) -> None:
        if self.first:  # pushed after the change was made
            self.first = False
            return
        self.window._restore(self.after)

    def undo(self) -> None:
        self.window._restore(self.before)


class MainWindow(QMainWindow):
    def __init__(
        self,
        state: PanelState | None = None,
        qsettings: QSettings | None = None,
        handoff: Path | None = None,
        check_gpu: bool = True,
    ) -> None:
        super().__init__()
        self.state = state or PanelState()
        self.qsettings = qsettings or panel_settings()
        self.handoff = Path(handoff) if handoff else None
        self.pools = Pools()
        self.run_worker: Worker | None = None
        self.pending_run: list | None = None
        self.last_export: dict | None = None
        self.messages: list[str] = []  # every status message, newest last (errors included)
        self.compare_take: dict[str, int] = {}  # clip id -> take shown as B beside the one in use
        self._preview_key = None
        self._closing = False
        self.undo_stack = QUndoStack(self)
        self.setWindowTitle("lengthen")
        self.setAcceptDrops(True)
        self._build()
        self._save_timer = QTimer(self, singleShot=True, interval=300, timeout=self._save_project)
        self.state.subscribe(self._on_state)
        self.state.on_undoable = self._push_undo
        self._refresh_all()
        if check_gpu and self.state.gpu is None:
            self._start(Worker(cuda_available, name="CUDA check"), done=self._gpu_known)

    # -- confirmation (tests replace it) ---------------------------------------------------------
    def confirm(self, title: str, text: str) -> bool:
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        answer = QMessageBox.question(self, title, text, buttons, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # -- layout ----------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip or text} ({action.shortcut().toString()})" if shortcut else tip or text)
        action.triggered.connect(lambda _checked=False: self._guarded(slot)())
        self.addAction(action)  # shortcuts work wherever the focus is in the window
        return action

    def _build(self) -> None:
        st = self.state
        self.table = ShotTable(st)
        self.filmstrip = Filmstrip()
        self.preview = PreviewPane()
        self.characters = CharactersPane(st)
        self.settings_pane = SettingsPane(st)
        self.problems = QListWidget()
        self.problems.setWordWrap(True)
        self.problems.setToolTip("every error and skipped clip of this session, newest last")

        self.open_action = self._action("&Open…", self.choose_timeline, QKeySequence.StandardKey.Open)
        self.export_action = self._action("&Export…", self.choose_export, "Ctrl+E")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence.StandardKey.Redo, QKeySequence("Ctrl+Shift+Z")])
        for a in (self.undo_action, self.redo_action):
            self.addAction(a)
        # the stack enables its actions itself; keep them off during a run (a snapshot cannot be put back then)
        self.undo_stack.canUndoChanged.connect(self._stack_changed)
        self.undo_stack.canRedoChanged.connect(self._stack_changed)
        self.fill_action = self._action(
            "&Fill handles",
            self.fill_handles,
            "Ctrl+H",
            "handles mode: every shot gets the head and tail frames it lacks for this many handles",
        )
        self.run_action = self._action("&Run all", lambda: self.run(), "Ctrl+R", "render every shot without a result")
        self.run_selected_action = self._action(
            "Run &selected", self.run_selected, "Ctrl+Shift+R", "render the selected shots (a new take for done ones)"
        )
        self.cancel_action = self._action("&Cancel run", self.cancel, "Esc", "stop the render (asks first)")
        self.accept_action = self._action(
            "&Accept / un-accept", self.toggle_accept, "Ctrl+Return", "keep the selected shot's take for the export"
        )
        self.reroll_action = self._action("Re-&roll", lambda: self.reroll(st.selected), "Ctrl+Shift+N")
        self.play_action = self._action("&Play / pause", self.preview.toggle_play, "K")
        self.prev_action = self._action("Previous &frame", lambda: self.preview.step(-1), ",")
        self.next_action = self._action("&Next frame", lambda: self.preview.step(1), ".")
        self.units_action = QAction("Seconds", self, checkable=True, shortcut=QKeySequence("Ctrl+T"))
        self.units_action.toggled.connect(self._guarded(lambda on: st.set_unit("seconds" if on else "frames")))
        self.addAction(self.units_action)
        self.shortcuts_action = self._action("&Keyboard shortcuts", self.show_shortcuts, "F1")

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent = file_menu.addMenu("Open &Recent")
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.recent_menu = file_menu
        edit_menu = menu.addMenu("&Edit")
        for a in (self.undo_action, self.redo_action, None, self.fill_action, self.units_action):
            edit_menu.addSeparator() if a is None else edit_menu.addAction(a)
        shot_menu = menu.addMenu("&Shots")
        for a in (
            self.run_action,
            self.run_selected_action,
            self.cancel_action,
            None,
            self.accept_action,
            self.reroll_action,
        ):
            shot_menu.addSeparator() if a is None else shot_menu.addAction(a)
        review_menu = menu.addMenu("Re&view")
        for a in (self.play_action, self.prev_action, self.next_action):
            review_menu.addAction(a)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        self.help_menu = help_menu

        bar = QToolBar("main")
        bar.setMovable(False)
        self.addToolBar(bar)
        for a in (self.open_action, self.export_action):
            bar.addAction(a)
        bar.addSeparator()
        self.handles = QSpinBox(minimum=0, maximum=10000, value=st.handles, suffix=" f handles")
        self.handles.setToolTip("handle frames for Fill handles")
        fill = QPushButton("Fill handles")
        fill.setToolTip(self.fill_action.toolTip())
        fill.clicked.connect(self.fill_action.trigger)
        bar.addWidget(self.handles)
        bar.addWidget(fill)
        bar.addAction(self.units_action)
        bar.addSeparator()
        for a in (
            self.run_action,
            self.run_selected_action,
            self.cancel_action,
            None,
            self.undo_action,
            self.redo_action,
        ):
            bar.addSeparator() if a is None else bar.addAction(a)

        strip = QScrollArea()
        strip.setWidget(self.filmstrip)
        strip.setWidgetResizable(True)
        strip.setMinimumHeight(60)
        strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(_group("Shots", self.table))
        left.addWidget(_group("Filmstrip: first and last frames", strip))
        left.addWidget(_group("Review", self.preview))
        left.setSizes([230, 170, 360])
        self.tabs = QTabWidget()
        self.tabs.addTab(self.characters, "Characters")
        self.tabs.addTab(self.settings_pane, "Engine")
        self.tabs.addTab(self.problems, "Problems")
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(self.tabs)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 1)
        main.setSizes([980, 380])
        self.setCentralWidget(main)
        self.status_label = QLabel(
            "Open or drop a timeline (.otio, .otioz, .otiod; FCP7 XML and EDL through adapters)"
        )
        self.status_label.setMinimumWidth(100)
        self.progress_bar = QProgressBar(maximumWidth=320, textVisible=True)
        self.progress_bar.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress_bar)
        for pane in (self.table.shots, self.characters, self.settings_pane):
            pane.error.connect(self.show_error)
        self.characters.photo_requested.connect(self._guarded(self.choose_photo))
        self.preview.accept_toggled.connect(self._guarded(lambda c, on: st.accept(c, on)))
        self.preview.reroll_clicked.connect(self._guarded(self.reroll))
        self.preview.direction_changed.connect(self._guarded(self.load_preview))
        self.preview.take_chosen.connect(self._guarded(lambda c, i: st.choose_take(c, i)))
        self.preview.compare_changed.connect(self._guarded(self.set_compare))
        self._rebuild_recent()

    # -- helpers ---------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.messages.append(text)
        self.status_label.setText(text)

    def show_error(self, text: str) -> None:
        """An error: one line in the status bar, and kept in the Problems pane."""
        self.show_message(f"⚠ {one_line(text)}")
        self.add_problem(str(text))

    def add_problem(self, text: str) -> None:
        item = QListWidgetItem(one_line(text, 400))
        item.setToolTip(str(text))
        self.problems.addItem(item)
        self.problems.scrollToBottom()
        self.tabs.setTabText(self.tabs.indexOf(self.problems), f"Problems ({self.problems.count()})")

    def _guarded(self, fn):
        """``fn`` as a slot: ignored once the window is closing; a LengthenError is shown, any
        other exception printed and shown (an exception escaping a slot would abort the process)."""

        def slot(*args):
            if self._closing:
                return None
            try:
                return fn(*args)
            except LengthenError as exc:
                self.show_error(str(exc))
            except Exception as exc:  # never let a slot take the editor's session down
                traceback.print_exc()
                self.show_error(f"{exc.__class__.__name__}: {exc}")
            return None

        return slot

    def _try(self, fn) -> None:
        self._guarded(fn)()

    def _start(self, worker: Worker, pool: str = "light", done=None, failed=None, cancelled=None) -> Worker:
        if done is not None:
            worker.signals.finished.connect(self._guarded(done))
        worker.signals.failed.connect(self._guarded(failed or self.show_error))
        if cancelled is not None:
            worker.signals.cancelled.connect(self._guarded(cancelled))
        return self.pools.start(worker, pool)

    def busy(self) -> bool:
        """True while any worker (reading, scan, thumbnails, preview, run, export) is active."""
        return bool(self.pools.active)

    def _gpu_known(self, available: bool) -> None:
        self.state.gpu = bool(available)
        self.settings_pane.refresh()

    def fill_handles(self) -> Worker | None:
        """Fill handles; when the handles reach further than planning looked for cuts, look
        again in a worker first. Says when that discarded results (Undo brings them back)."""
        st = self.state
        n = self.handles.value()
        far = st.needs_cut_scan(n)
        if far:
            self.show_message(f"Looking for cuts within {n} frames of {len(far)} shots…")
            return self._start(
                Worker(PanelState.find_bounds, [r.clip for r in far], n, name="cuts"),
                done=lambda bounds, n=n: self._fill(n, bounds),
            )
        self._fill(n, None)
        return None

    def _fill(self, n: int, bounds: dict | None) -> None:
        st = self.state
        before = {r.clip_id for r in st.rows if r.outcome is not None}
        st.fill_handles(n, bounds=bounds)
        lost = [r.clip.name for r in st.rows if r.clip_id in before and r.outcome is None]
        if lost:
            self.show_message(
                f"Handles {st.handles} f: new lengths for {', '.join(lost)} discard their results; "
                "Edit > Undo (Ctrl+Z) brings them back"
            )

    # -- undo ------------------------------------------------------------------------------
    def _stack_changed(self, _on: bool) -> None:
        if self._closing:
            return
        try:
            self._update_actions()
        except RuntimeError:  # the window's Qt objects are being destroyed
            pass

    def _push_undo(self, label: str, before: dict, after: dict) -> None:
        self.undo_stack.push(SnapshotCommand(self, label, before, after))

    def _restore(self, snapshot: dict) -> None:
        self._try(lambda: self.state.restore_snapshot(snapshot))
        self.handles.setValue(self.state.handles)

    # -- state events ----------------------------------------------------------------------
    def _on_state(self, what: str, key: str | None) -> None:
        if self._closing:
            return
        if what == "timeline":
            self._refresh_all()
            self.load_filmstrip()
            self._sync_preview()
        elif what == "shots":
            self.table.shots.refresh(key)
            self.settings_pane.refresh()
            if key is None or key == self.state.selected:
                self._sync_preview()
        elif what == "selection":
            self.table.select_clip(key)
            self.load_filmstrip()
            self._sync_preview()
        elif what == "settings":
            self.settings_pane.refresh()
            self._sync_preview()
        elif what == "characters":
            self.characters.refresh()
            if key == "edit":
                self._save_banks()
        elif what == "run":
            self.table.shots.refresh()
            self.settings_pane.refresh()
            self._update_actions()
        if what == "run":
            self._save_project()
        elif what != "selection":
            self._save_timer.start()

    def _refresh_all(self) -> None:
        st = self.state
        self.table.shots.refresh()
        self.table.select_clip(st.selected)
        self.settings_pane.refresh()
        self.characters.refresh()
        self.handles.setValue(st.handles)
        self.units_action.blockSignals(True)
        self.units_action.setChecked(st.unit == "seconds")
        self.units_action.blockSignals(False)
        self.setWindowTitle(f"lengthen: {st.timeline_path.name}" if st.timeline_path else "lengthen")
        self._update_actions()

    def _update_actions(self) -> None:
        st = self.state
        has = st.timeline_path is not None
        self.run_action.setEnabled(has and not st.running)
        self.run_selected_action.setEnabled(has and not st.running)
        self.cancel_action.setEnabled(st.running or self.pending_run is not None)
        self.export_action.setEnabled(has and not st.running)
        self.fill_action.setEnabled(has and not st.running)
        self.undo_stack.setActive(True)
        for a in (self.undo_action, self.redo_action):
            a.setEnabled(
                not st.running and (self.undo_stack.canUndo() if a is self.undo_action else self.undo_stack.canRedo())
            )

    def _save_project(self) -> None:
        self._try(self.state.save_project)

    # -- open ------------------------------------------------------------------------------
    def choose_timeline(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open timeline", str(self.qsettings.value("last_dir", "")), TIMELINE_FILTER
        )
        if path:
            self.open_timeline(path)

    def open_timeline(self, path) -> Worker:
        path = Path(os.path.abspath(path))
        self.show_message(f"Reading {path.name}…")
        self.filmstrip.set_message("Reading the timeline…")
        return self._start(
            Worker(PanelState.read, path, self.state.handles, name="read timeline"),
            done=lambda loaded: self._opened(loaded),
            failed=lambda message, p=path: self._open_failed(p, message),
        )

    def _open_failed(self, path: Path, message: str) -> None:
        self.filmstrip.set_message(
            f"Could not open {path.name}" + ("" if self.state.timeline_path is None else "; the open timeline stays")
        )
        self.show_error(message)

    def _opened(self, loaded) -> None:
        if self.state.running:
            loaded.doc.close()
            return self.show_error("finish or cancel the run before opening another timeline")
        self.preview.clear()
        self._preview_key = None
        self.compare_take.clear()
        self.undo_stack.clear()
        self.state.adopt(loaded)
        self._remember(loaded.path)
        st = self.state
        skipped = loaded.plan.problems
        for p in skipped:
            self.add_problem(f"skipped {p.describe()}")
        for w in loaded.plan.warnings:
            self.add_problem(f"warning: {w}")
        limited = sum(1 for r in st.rows if r.cut_note)
        notes = [f"{len(st.rows)} shots"]
        if skipped:
            notes.append(f"{len(skipped)} skipped (listed in the table and under Problems)")
        if limited:
            notes.append(f"{limited} with handles stopped by a cut inside the media (✂)")
        self.show_message(f"Opened {loaded.path.name}: " + "; ".join(notes))
        self.start_scan()

    def _remember(self, path: Path) -> None:
        path = Path(os.path.abspath(path))
        recent = [p for p in (self.qsettings.value("recent", []) or []) if p != str(path) and os.path.isabs(p)]
        self.qsettings.setValue("recent", [str(path)] + recent[: MAX_RECENT - 1])
        self.qsettings.setValue("last_dir", str(path.parent))
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent.clear()
        for p in self.qsettings.value("recent", []) or []:
            self.recent.addAction(p, lambda p=p: self.open_timeline(p))
        self.recent.setEnabled(not self.recent.isEmpty())

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile().lower().endswith(TIMELINE_SUFFIXES):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls:
            self.open_timeline(urls[0].toLocalFile())

    # -- characters ------------------------------------------------------------------------
    def start_scan(self) -> Worker | None:
        from .project import media_set_key
        from .scanning import scan_ranges

        st = self.state
        ranges = scan_ranges(st.doc.clips)
        key = media_set_key(ranges, st.scan_settings)
        st.scan_started(key)
        worker = Worker(jobs.load_characters, ranges, st.scan_settings, key, st.banks_dir, name="face scan")
        worker.signals.progress.connect(
            self._guarded(lambda stage, done, total, msg: self._show_progress(f"Faces: {msg}", done, total))
        )
        return self._start(
            worker,
            pool="heavy",
            done=lambda r, k=key: self._scanned(k, r),
            failed=lambda m: (st.scan_failed(m), self.show_error(m), self._after_scan()),
            cancelled=lambda: (st.scan_failed("cancelled"), self._after_scan()),
        )

    def _scanned(self, key: str, result) -> None:
        if key != self.state.banks_key:
            return  # another timeline was opened meanwhile
        banks, warnings, _scanned = result
        self.state.scan_finished(banks, warnings, unassigned=jobs.unassigned_faces(key))
        for w in warnings:
            self.show_error(w)
        self._after_scan()

    def _after_scan(self) -> None:
        self.progress_bar.hide()
        if self.pending_run is not None:
            ids, self.pending_run = self.pending_run, None
            self.run(ids or None)

    def _save_banks(self) -> None:
        st = self.state
        self._start(Worker(jobs.save_characters, list(st.cast.banks), st.banks_dir, name="save characters"), pool="io")

    def choose_photo(self, bank_id: str) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Reference photo", "", "Images (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp)"
        )
        if path:
            self.add_photo(bank_id or Path(path).stem, path)

    def add_photo(self, key: str, photo) -> Worker:
        st = self.state
        return self._start(
            Worker(jobs.add_photo, list(st.cast.banks), key, str(photo), st.scan_settings.backend, name="add photo"),
            pool="heavy",
            done=lambda banks: st.edit_cast("replace_all", banks),
        )

    # -- filmstrip and review --------------------------------------------------------------
    def load_filmstrip(self) -> None:
        st = self.state
        if st.selected is None:
            return self.filmstrip.set_message(
                "No shot selected" if st.timeline_path else "Open a timeline to see its shots"
            )
        row = st.row(st.selected)
        self.filmstrip.set_message(f"Decoding {row.clip.name}…")
        self._start(
            Worker(jobs.filmstrip, row.clip, 3, THUMB_WIDTH, name="filmstrip"),
            done=lambda frames, c=row.clip_id: c == st.selected and self.filmstrip.set_frames(c, frames),
        )

    def _reroll_why(self) -> str | None:
        st = self.state
        if st.deterministic:
            return f"engine {st.engine!r} ignores the seed: a re-roll would make the same frames"
        return "wait for the run to finish" if st.running else None

    def _sync_preview(self) -> None:
        st = self.state
        row = st.find_row(st.selected) if st.selected else None
        if row is None or row.outcome is None or not row.outcome.generated:
            if self.preview.clip_id is not None or row is None or self._preview_key is not None:
                self.preview.clear("Run this shot to review its seam" if row is not None else "No shot selected")
                self._preview_key = None
            return
        directions = [g.direction for g in row.outcome.generated]
        current = self.preview.direction.currentText() if self.preview.clip_id == row.clip_id else ""
        current = current if current in directions else ("tail" if "tail" in directions else directions[0])
        take = row.takes.index(row.outcome) if row.outcome in row.takes else 0
        compare = self.compare_take.get(row.clip_id, -1)
        if compare != -2 and (not (0 <= compare < len(row.takes)) or compare == take):
            compare = -1
        lines = [take_line(i, t, row.accepted, t is row.outcome) for i, t in enumerate(row.takes)]
        self.preview.set_takes(row.clip_id, lines, take, compare)
        key = (row.clip_id, id(row.outcome), current, compare)
        if key != self._preview_key:
            self._preview_key = key
            self.preview.set_directions(row.clip_id, directions, current)
            self.load_preview(row.clip_id, current)
        self.preview.set_status(row.accepted, self._reroll_why())

    def set_compare(self, clip_id: str, index) -> None:
        self.compare_take[clip_id] = -1 if index is None else int(index)
        self._sync_preview()

    def load_preview(self, clip_id: str, direction: str) -> None:
        row = self.state.row(clip_id)
        if row.outcome is None:
            return
        b = self.compare_take.get(clip_id, -1)
        other = row.takes[b] if 0 <= b < len(row.takes) and row.takes[b] is not row.outcome else None
        self._preview_key = (clip_id, id(row.outcome), direction, b if other is not None or b == -2 else -1)
        self._start(
            Worker(preview_pair, row.spec, row.outcome, other, direction, 12, PREVIEW_WIDTH, name="preview"),
            done=lambda pair, c=clip_id: self._previewed(c, pair),
        )

    def _previewed(self, clip_id: str, pair) -> None:
        if clip_id != self.state.selected:
            return
        row = self.state.row(clip_id)
        before = self.compare_take.get(clip_id, -1) == -2
        self.preview.set_preview(clip_id, pair[0], before_frames(pair[0]) if before else pair[1])
        self.preview.set_status(row.accepted, self._reroll_why())

    def toggle_accept(self) -> None:
        st = self.state
        if st.selected is None:
            return
        row = st.row(st.selected)
        st.accept(row.clip_id, not row.accepted)

    # -- run -------------------------------------------------------------------------------
    def run_selected(self) -> Worker | None:
        ids = self.table.selected_clip_ids() or ([self.state.selected] if self.state.selected else [])
        if not ids:
            self.show_error("select the shots to run first")
            return None
        return self.run(ids)

    def run(self, clip_ids=None) -> Worker | None:
        st = self.state
        if st.timeline_path is None or st.running:
            return None
        if st.scan_status == "scanning":
            self.pending_run = list(clip_ids or [])
            self.show_message("The run starts when the face scan finishes…")
            self._update_actions()
            return None
        try:
            items = st.run_items(clip_ids)
        except LengthenError as exc:
            self.show_error(str(exc))
            return None
        if not items:
            self.show_message("Nothing to run: every shot is done or asks for no frames")
            return None
        try:
            executor = st.make_executor()
        except LengthenError as exc:
            st.run_finished()
            self.show_error(str(exc))
            return None
        where = " on Ray" if st.executor == "ray" else ""
        self.show_message(f"Running {len(items)} shots with {st.engine} ({st.settings.quality}){where}…")
        worker = Worker(jobs.run_shots, items, events=True, name="run", executor=executor)
        worker.signals.event.connect(self._guarded(self._on_run_event))
        self.run_worker = worker
        self._update_run_progress()
        return self._start(
            worker,
            pool="heavy",
            done=self._run_done,
            failed=lambda m: self._run_done(None, m),
            cancelled=lambda: self._run_done(None, cancelled=True),
        )

    def _on_run_event(self, kind: str, clip_id: str, data: tuple) -> None:
        st = self.state
        if not st.running or st.find_row(clip_id) is None:
            return  # a late event of a run that is over (or of a timeline no longer open)
        if kind == "started":
            st.shot_started(clip_id)
        elif kind == "progress":
            st.shot_progress(clip_id, *data)
        elif kind == "done":
            st.shot_done(clip_id, data[0])
        elif kind == "failed":
            st.shot_failed(clip_id, data[0])
            self.show_error(data[0])
        self._update_run_progress()

    def _update_run_progress(self) -> None:
        """The overall bar, from the same numbers as the rows (see PanelState.run_progress)."""
        fraction, _eta, text = self.state.run_progress()
        if not self.state.running:
            return self.progress_bar.hide()
        self.progress_bar.show()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(1000 * fraction))
        self.progress_bar.setFormat(f"%p%  {text}")

    def _run_done(self, counts, error: str | None = None, cancelled: bool = False) -> None:
        self.run_worker = None
        self.state.run_finished(cancelled=cancelled)
        self.progress_bar.hide()
        failed = [r for r in self.state.rows if r.status == "failed"]
        if cancelled:
            self.show_message("Run cancelled; nothing partial was kept")
        elif error:
            self.show_error(error)
        else:
            self.show_message(
                f"Run finished: {counts['done']} shots done, {len(failed)} failed. Select a shot to review it."
            )
        self._update_actions()
        self._sync_preview()

    def cancel(self, ask: bool = True) -> None:
        if self.pending_run is not None:
            self.pending_run = None
            self.show_message("Run called off")
        if self.run_worker is not None:
            if ask and not self.confirm(
                "Cancel the render?",
                "Stop the render now? The shot being rendered is discarded (nothing partial is kept); "
                "finished shots keep their takes.",
            ):
                return
            self.run_worker.cancel()
            self.show_message("Cancelling…")
        self._update_actions()

    def reroll(self, clip_id: str | None) -> None:
        if clip_id is None:
            return
        self.state.reroll(clip_id)
        self.run([clip_id])

    def _show_progress(self, text: str, done: float, total: float) -> None:
        if self.state.running:
            return  # the run owns the bar
        if total > 0:
            self.progress_bar.show()
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * done / total))
            self.progress_bar.setFormat("%p%")
        self.status_label.setText(text)

    # -- export ----------------------------------------------------------------------------
    def choose_export(self) -> None:
        st = self.state
        pending = [r for r in st.rows if r.outcome is not None and not r.accepted]
        accept_all = False
        if pending:
            accept_all = self.confirm(
                "Export", f"{len(pending)} shots have results you have not accepted. Accept them all and export?"
            )
        default = st.timeline_path.with_name(f"{st.timeline_path.name.split('.')[0]}_lengthen.otio")
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export result timeline", str(default), ";;".join(EXPORT_FILTERS)
        )
        if path:
            self.export_to(path, accept_all=accept_all, splice=chosen == EXPORT_FILTERS[2])

    def export_to(self, path, accept_all: bool = False, splice: bool = False) -> Worker | None:
        """Export like ``lengthen timeline`` (``splice``: like ``lengthen timeline --splice``)."""
        st = self.state
        if accept_all:
            for r in st.rows:
                if r.outcome is not None and not r.accepted:
                    st.accept(r.clip_id)
        outcomes = st.outcomes_for_export()
        if not outcomes:
            self.show_error("nothing accepted to export: accept the shots you want first")
            return None
        protect = tuple(str(p) for p in (st.timeline_path, *(r.clip.media for r in st.rows)))
        self.show_message(f"Exporting {len(outcomes)} shots to {Path(path).name}…")
        return self._start(
            Worker(
                jobs.export_result,
                st.doc,
                st.plan,
                outcomes,
                Path(path),
                protect,
                splice=splice,
                codec=st.codec,
                name="export",
            ),
            done=self._exported,
        )

    def _exported(self, result: dict) -> None:
        self.last_export = result
        self.show_message(f"Exported {result['timeline']} with {len(result['media'])} media files")
        for w in result["warnings"]:
            self.show_error(w)
        if self.handoff is not None:
            from ..fsutil import atomic_write_text

            atomic_write_text(
                self.handoff,
                json.dumps(
                    {
                        "schema": "lengthen.handoff",
                        "version": 1,
                        **result,
                        "source_timeline": str(self.state.timeline_path),
                    },
                    indent=1,
                ),
            )

    # -- help ------------------------------------------------------------------------------
    def shortcuts_text(self) -> str:
        """Every menu action with its shortcut, as the Help menu shows them."""
        lines = []
        for menu_action in self.menuBar().actions():
            menu = menu_action.menu()
            if menu is None:
                continue
            for a in menu.actions():
                if a.isSeparator() or not a.shortcut().toString():
                    continue
                name = a.text().replace("&", "")
                keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts())
                lines.append(f"{menu_action.text().replace('&', '')} › {name}: {keys}")
        lines += [
            "Shot table: arrows move, Enter or typing edits Head / Tail (12, 12f, 0.5s, 00:00:00:12)",
            "Review: Left / Right step a frame when it has focus; Tab moves the focus between panes",
        ]
        return "\n".join(lines)

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", self.shortcuts_text())

    # -- closing ---------------------------------------------------------------------------
    def shutdown(self, wait_ms: int = 30000) -> None:
        """Cancel every worker, wait for them, save the project."""
        self.pending_run = None
        self.pools.cancel_all()
        self.pools.wait(wait_ms)
        self._save_project()

    def closeEvent(self, event) -> None:  # noqa: N802
        """Asks before stopping a running render; then cancels the workers, waits for them, saves
        and closes the timeline. Signals that arrive later are ignored (see ``_guarded``)."""
        if not self._closing and (self.state.running or self.pending_run is not None):
            if not self.confirm(
                "Quit during a render?",
                "A render is running. Quit anyway? The shot being rendered is discarded (nothing partial "
                "is kept); finished shots and every choice are saved.",
            ):
                event.ignore()
                return
        self.shutdown()
        self._closing = True
        self._save_timer.stop()
        self.state.close()
        super().closeEvent(event)
