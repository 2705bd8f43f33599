"""The panel's main window: wires the views to the state and the jobs to worker threads.

Nothing heavy runs here: reading the timeline, the face scan, thumbnails, previews, renders and
the export each run as a :class:`~lengthen.ui.workers.Worker`; their signals update the state,
and the state's events refresh the views.
"""

from __future__ import annotations

import json
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..errors import LengthenError
from . import jobs
from .characters import CharactersPane
from .filmstrip import THUMB_WIDTH, Filmstrip
from .preview import PreviewPane
from .settings import SettingsPane
from .shot_table import ShotTable
from .state import PanelState
from .workers import Pools, Worker

TIMELINE_FILTER = "Timelines (*.otio *.otioz *.otiod *.xml *.edl);;All files (*)"
TIMELINE_SUFFIXES = (".otio", ".otioz", ".otiod", ".xml", ".edl")
MAX_RECENT = 8


def _group(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(6, 6, 6, 6)
    lay.addWidget(widget)
    return box


class MainWindow(QMainWindow):
    def __init__(
        self, state: PanelState | None = None, qsettings: QSettings | None = None, handoff: Path | None = None
    ) -> None:
        super().__init__()
        self.state = state or PanelState()
        self.qsettings = qsettings or QSettings("lengthen", "panel")
        self.handoff = Path(handoff) if handoff else None
        self.pools = Pools()
        self.run_worker: Worker | None = None
        self.pending_run: list | None = None
        self.last_export: dict | None = None
        self.messages: list[str] = []  # every status message, newest last (errors included)
        self.setWindowTitle("lengthen")
        self.setAcceptDrops(True)
        self._build()
        self._save_timer = QTimer(self, singleShot=True, interval=300, timeout=self._save_project)
        self.state.subscribe(self._on_state)
        self._refresh_all()

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        st = self.state
        self.table = ShotTable(st)
        self.filmstrip = Filmstrip()
        self.preview = PreviewPane()
        self.characters = CharactersPane(st)
        self.settings_pane = SettingsPane(st)
        bar = QToolBar("main")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.open_action = QAction(
            "Open…", self, shortcut=QKeySequence.StandardKey.Open, triggered=self.choose_timeline
        )
        self.export_action = QAction("Export…", self, triggered=self.choose_export)
        self.run_action = QAction("Run", self, shortcut="Ctrl+R", triggered=lambda: self.run())
        self.cancel_action = QAction("Cancel", self, shortcut="Esc", triggered=self.cancel)
        self.units_action = QAction(
            "Seconds", self, checkable=True, toggled=lambda on: st.set_unit("seconds" if on else "frames")
        )
        self.recent_menu = self.menuBar().addMenu("&File")
        self.recent_menu.addAction(self.open_action)
        self.recent = self.recent_menu.addMenu("Open Recent")
        self.recent_menu.addAction(self.export_action)
        for a in (self.open_action, self.export_action):
            bar.addAction(a)
        bar.addSeparator()
        self.handles = QSpinBox(minimum=0, maximum=10000, value=st.handles, suffix=" f handles")
        fill = QPushButton("Fill handles")
        fill.setToolTip("handles mode: every shot gets the head and tail frames it lacks for this many handles")
        fill.clicked.connect(lambda: st.fill_handles(self.handles.value()))
        bar.addWidget(self.handles)
        bar.addWidget(fill)
        bar.addAction(self.units_action)
        bar.addSeparator()
        bar.addAction(self.run_action)
        bar.addAction(self.cancel_action)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(_group("Shots", self.table))
        left.addWidget(_group("Filmstrip: first and last frames", self.filmstrip))
        left.addWidget(_group("Preview", self.preview))
        left.setSizes([260, 200, 320])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(_group("Characters", self.characters))
        right.addWidget(_group("Engine", self.settings_pane))
        right.setSizes([460, 260])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setSizes([900, 420])
        self.setCentralWidget(main)
        self.status_label = QLabel(
            "Open or drop a timeline (.otio, .otioz, .otiod; FCP7 XML and EDL through adapters)"
        )
        self.progress_bar = QProgressBar(maximumWidth=240, textVisible=True)
        self.progress_bar.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress_bar)
        for pane in (self.table.shots, self.characters, self.settings_pane):
            pane.error.connect(self.show_error)
        self.characters.photo_requested.connect(self.choose_photo)
        self.preview.accept_clicked.connect(lambda c: self._try(lambda: st.accept(c)))
        self.preview.reroll_clicked.connect(self.reroll)
        self.preview.direction_changed.connect(self.load_preview)
        self._rebuild_recent()

    # -- helpers ---------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.messages.append(text)
        self.status_label.setText(text)

    def show_error(self, text: str) -> None:
        self.show_message(f"⚠ {text}")

    def _try(self, fn) -> None:
        try:
            fn()
        except LengthenError as exc:
            self.show_error(str(exc))

    def _start(self, worker: Worker, pool: str = "light", done=None, failed=None, cancelled=None) -> Worker:
        if done is not None:
            worker.signals.finished.connect(done)
        worker.signals.failed.connect(failed or self.show_error)
        if cancelled is not None:
            worker.signals.cancelled.connect(cancelled)
        return self.pools.start(worker, pool)

    def busy(self) -> bool:
        """True while any worker (reading, scan, thumbnails, preview, run, export) is active."""
        return bool(self.pools.active)

    # -- state events ----------------------------------------------------------------------
    def _on_state(self, what: str, key: str | None) -> None:
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
        self.units_action.setChecked(st.unit == "seconds")
        self.setWindowTitle(f"lengthen: {st.timeline_path.name}" if st.timeline_path else "lengthen")
        self._update_actions()

    def _update_actions(self) -> None:
        st = self.state
        has = st.timeline_path is not None
        self.run_action.setEnabled(has and not st.running)
        self.cancel_action.setEnabled(st.running or self.pending_run is not None)
        self.export_action.setEnabled(has and not st.running)

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
        path = Path(path)
        self.show_message(f"Reading {path.name}…")
        self.filmstrip.set_message("Reading the timeline…")
        return self._start(
            Worker(PanelState.read, path, self.state.handles, name="read timeline"),
            done=lambda loaded: self._opened(loaded),
            failed=self.show_error,
        )

    def _opened(self, loaded) -> None:
        if self.state.running:
            loaded.doc.close()
            return self.show_error("finish or cancel the run before opening another timeline")
        self.preview.clear()
        self.state.adopt(loaded)
        self._remember(loaded.path)
        st = self.state
        notes = [f"{len(st.rows)} shots"] + [f"skipped {p.describe()}" for p in loaded.plan.problems]
        self.show_message(f"Opened {loaded.path.name}: " + "; ".join(notes))
        self.start_scan()

    def _remember(self, path: Path) -> None:
        recent = [p for p in (self.qsettings.value("recent", []) or []) if p != str(path)]
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
            lambda stage, done, total, msg: self._show_progress(f"Faces: {msg}", done, total)
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
        self.state.scan_finished(banks, warnings)
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

    # -- filmstrip and preview -------------------------------------------------------------
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

    def _sync_preview(self) -> None:
        st = self.state
        row = st.row(st.selected) if st.selected else None
        if row is None or row.outcome is None or not row.outcome.generated:
            if self.preview.clip_id is not None or row is None:
                self.preview.clear("Run this shot to preview its seam" if row is not None else "No shot selected")
            return
        directions = [g.direction for g in row.outcome.generated]
        current = self.preview.direction.currentText() if self.preview.clip_id == row.clip_id else ""
        current = current if current in directions else ("tail" if "tail" in directions else directions[0])
        data = self.preview.data
        if (
            self.preview.clip_id == row.clip_id
            and data is not None
            and data["media"] in {str(g.path) for g in row.outcome.generated}
            and data["direction"] == current
        ):
            self.preview.accept.setEnabled(not row.accepted)
            self.preview.accept.setText("Accepted" if row.accepted else "Accept")
            return
        self.preview.set_directions(row.clip_id, directions, current)
        self.load_preview(row.clip_id, current)

    def load_preview(self, clip_id: str, direction: str) -> None:
        row = self.state.row(clip_id)
        if row.outcome is None:
            return
        self._start(
            Worker(jobs.preview, row.spec, row.outcome, direction, 12, 480, name="preview"),
            done=lambda data, c=clip_id: (
                c == self.state.selected and self.preview.set_preview(c, data, self.state.row(c).accepted)
            ),
        )

    # -- run -------------------------------------------------------------------------------
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
        self.show_message(f"Running {len(items)} shots with {st.engine} ({st.settings.quality})…")
        worker = Worker(jobs.run_shots, items, events=True, name="run")
        worker.signals.event.connect(self._on_run_event)
        worker.signals.progress.connect(
            lambda stage, done, total, msg: stage == "shots" and self._show_progress(f"Shots: {msg}", done, total)
        )
        self.run_worker = worker
        return self._start(
            worker,
            pool="heavy",
            done=self._run_done,
            failed=lambda m: self._run_done(None, m),
            cancelled=lambda: self._run_done(None, cancelled=True),
        )

    def _on_run_event(self, kind: str, clip_id: str, data: tuple) -> None:
        st = self.state
        if kind == "started":
            st.shot_started(clip_id)
        elif kind == "progress":
            st.shot_progress(clip_id, *data)
            eta = st.overall_eta()
            if eta is not None:
                self.progress_bar.setFormat(f"%p%  ETA {eta:.0f} s")
        elif kind == "done":
            st.shot_done(clip_id, data[0])
        elif kind == "failed":
            st.shot_failed(clip_id, data[0])
            self.show_error(data[0])

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
                f"Run finished: {counts['done']} shots done, {len(failed)} failed. Select a shot to preview it."
            )
        self._sync_preview()

    def cancel(self) -> None:
        if self.pending_run is not None:
            self.pending_run = None
            self.show_message("Run called off")
        if self.run_worker is not None:
            self.run_worker.cancel()
            self.show_message("Cancelling…")
        self._update_actions()

    def reroll(self, clip_id: str) -> None:
        self._try(lambda: self.state.reroll(clip_id))
        self.run([clip_id])

    def _show_progress(self, text: str, done: float, total: float) -> None:
        if total > 0:
            self.progress_bar.show()
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * done / total))
        self.status_label.setText(text)

    # -- export ----------------------------------------------------------------------------
    def choose_export(self) -> None:
        st = self.state
        pending = [r for r in st.rows if r.outcome is not None and not r.accepted]
        accept_all = False
        if pending:
            answer = QMessageBox.question(
                self, "Export", f"{len(pending)} shots have results you have not accepted. Accept them all and export?"
            )
            accept_all = answer == QMessageBox.StandardButton.Yes
        default = st.timeline_path.with_name(f"{st.timeline_path.name.split('.')[0]}_lengthen.otio")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export result timeline", str(default), "OTIO (*.otio);;OTIO bundle (*.otioz)"
        )
        if path:
            self.export_to(path, accept_all=accept_all)

    def export_to(self, path, accept_all: bool = False) -> Worker | None:
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
            Worker(jobs.export_result, st.doc, st.plan, outcomes, Path(path), protect, name="export"),
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

    # -- closing ---------------------------------------------------------------------------
    def shutdown(self, wait_ms: int = 30000) -> None:
        """Cancel every worker, wait for them, save the project, close the timeline."""
        self.pending_run = None
        self.pools.cancel_all()
        self.pools.wait(wait_ms)
        self._save_project()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        self._save_timer.stop()
        self.state.close()
        super().closeEvent(event)
