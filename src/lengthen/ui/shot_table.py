"""The shot table: one line per clip (a view over :class:`~lengthen.ui.state.PanelState`).

Shots come from ``state.table_entries()`` in timeline order; a clip the plan skipped (offline
media and the like) keeps its line, greyed, with the reason as its status. Several shots can be
selected (Run selected); the current line is the shot the filmstrip and review show.
"""

from __future__ import annotations

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from ..errors import UsageError

COLUMNS = (
    "Clip",
    "Track",
    "Record in",
    "Source in",
    "Source out",
    "Avail. head",
    "Avail. tail",
    "Head",
    "Tail",
    "Mode",
    "Status",
)
RECORD, AVAIL_HEAD, AVAIL_TAIL, HEAD, TAIL, MODE, STATUS = 2, 5, 6, 7, 8, 9, 10
STATUS_COLOURS = {
    "done": "#2e7d32",
    "failed": "#c62828",
    "running": "#1565c0",
    "queued": "#6d6d6d",
    "cancelled": "#8d6e63",
    "offline": "#c62828",
}


def status_text(row) -> str:
    if row.status == "running":
        pct = f" {row.fraction * 100:.0f}%" if row.fraction is not None else ""
        eta = f", ETA {row.eta:.0f} s" if row.eta is not None else ""
        return f"{row.stage or 'starting'}{pct}{eta}"
    if row.status == "failed":
        return f"failed: {row.error}"
    if row.status == "done":
        takes = f" (take {row.takes.index(row.outcome) + 1}/{len(row.takes)})" if len(row.takes) > 1 else ""
        return ("accepted" if row.accepted else "done: review") + takes
    if row.status == "planned" and not row.spec.directions:
        return "nothing to make"
    return row.status


def is_problem(entry) -> bool:
    return not hasattr(entry, "spec")


class ShotModel(QAbstractTableModel):
    error = pyqtSignal(str)

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.entries: list = []

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt names)
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return {
                RECORD: "where the clip starts on the timeline (record timecode)",
                AVAIL_HEAD: "media frames of this shot before the clip: they stop at a cut inside the media",
                AVAIL_TAIL: "media frames of this shot after the clip: they stop at a cut inside the media",
                HEAD: "frames to generate before; type 12, 12f, 0.5s or a timecode 00:00:00:12",
                TAIL: "frames to generate after; type 12, 12f, 0.5s or a timecode 00:00:00:12",
            }.get(section)
        return None

    def flags(self, index):
        entry = self.entries[index.row()] if index.isValid() else None
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if entry is not None and is_problem(entry):
            return Qt.ItemFlag.ItemIsSelectable  # listed, greyed, never edited or run
        if index.column() in (HEAD, TAIL) and not self.state.running:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def entry(self, i: int):
        return self.entries[i] if 0 <= i < len(self.entries) else None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry, col = self.entries[index.row()], index.column()
        if is_problem(entry):
            return self._problem_data(entry, col, role)
        row = entry
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            fmt = self.state.format_length
            cut = "✂ " if row.cut_note else ""
            values = (
                row.clip.name,
                row.clip.track,
                self.state.record_timecode(row),
                row.source_in,
                row.source_out,
                cut * bool(row.spec.metadata.get("cut_before") is not None) + fmt(row, row.available_head),
                cut * bool(row.spec.metadata.get("cut_after") is not None) + fmt(row, row.available_tail),
                fmt(row, row.spec.head_frames),
                fmt(row, row.spec.tail_frames),
                row.mode,
                status_text(row),
            )
            if role == Qt.ItemDataRole.EditRole and col in (HEAD, TAIL):
                return fmt(row, row.spec.head_frames if col == HEAD else row.spec.tail_frames)
            return values[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == STATUS and row.status in STATUS_COLOURS:
            return QBrush(QColor(STATUS_COLOURS[row.status]))
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == STATUS and row.error:
                return row.error
            if col in (AVAIL_HEAD, AVAIL_TAIL) and row.cut_note:
                return row.cut_note + ": frames across a cut belong to another shot; generated frames replace them"
            if col in (HEAD, TAIL):
                return f"frames to generate; type 12, 12f, 0.5s or 00:00:00:12 (unit: {self.state.unit})"
            return f"{row.clip.media} ({row.clip_id})"
        if role == Qt.ItemDataRole.TextAlignmentRole and 2 <= col <= 8:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _problem_data(self, problem, col, role):
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return problem.clip
            if col == 1:
                return problem.track
            if col == STATUS:
                return f"skipped: {problem.message}"
            return "—"
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(STATUS_COLOURS["offline"] if col == STATUS else "#8a8a8a"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return problem.describe()
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or index.column() not in (HEAD, TAIL):
            return False
        row = self.entries[index.row()]
        if is_problem(row):
            return False
        try:
            self.state.set_length(row.clip_id, "head" if index.column() == HEAD else "tail", str(value))
        except UsageError as exc:
            self.error.emit(str(exc))
            return False
        return True

    def refresh(self, clip_id: str | None = None) -> None:
        entries = self.state.table_entries()
        if clip_id is None or [id(e) for e in entries] != [id(e) for e in self.entries]:
            self.beginResetModel()
            self.entries = entries
            self.endResetModel()
            return
        for i, r in enumerate(self.entries):
            if r.clip_id == clip_id:
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))


class ShotTable(QTableView):
    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.shots = ShotModel(state, self)
        self.setModel(self.shots)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(40)
        self.shots.modelReset.connect(self._after_reset)

    def setModel(self, model) -> None:  # noqa: N802
        super().setModel(model)
        self.selectionModel().currentRowChanged.connect(self._current_changed)

    def _after_reset(self) -> None:
        self.resizeColumnsToContents()
        for col in range(len(COLUMNS) - 1):  # a long clip name never makes the window wide
            self.setColumnWidth(col, min(self.columnWidth(col), 160))
        self.select_clip(self.state.selected)

    def _current_changed(self, current, _previous) -> None:
        entry = self.shots.entry(current.row()) if current.isValid() else None
        if entry is None or is_problem(entry):
            return
        if entry.clip_id != self.state.selected:
            self.state.select(entry.clip_id)

    def selected_clip_ids(self) -> list[str]:
        """The shots whose lines are selected (skipped clips left out), in table order."""
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        entries = [self.shots.entry(r) for r in rows]
        return [e.clip_id for e in entries if e is not None and not is_problem(e)]

    def select_clip(self, clip_id: str | None) -> None:
        for i, r in enumerate(self.shots.entries):
            if r.clip_id == clip_id and not is_problem(r) and self.currentIndex().row() != i:
                self.selectRow(i)
