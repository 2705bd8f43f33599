"""The shot table: one row per clip (a view over :class:`~lengthen.ui.state.PanelState`)."""

from __future__ import annotations

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from ..errors import UsageError

COLUMNS = ("Clip", "Track", "Source in", "Source out", "Avail. head", "Avail. tail", "Head", "Tail", "Mode", "Status")
HEAD, TAIL, STATUS = 6, 7, 9
STATUS_COLOURS = {
    "done": "#2e7d32",
    "failed": "#c62828",
    "running": "#1565c0",
    "queued": "#6d6d6d",
    "cancelled": "#8d6e63",
}


def status_text(row) -> str:
    if row.status == "running":
        pct = f" {row.fraction * 100:.0f}%" if row.fraction is not None else ""
        eta = f", ETA {row.eta:.0f} s" if row.eta is not None else ""
        return f"{row.stage or 'starting'}{pct}{eta}"
    if row.status == "failed":
        return f"failed: {row.error}"
    if row.status == "done":
        return "accepted" if row.accepted else "done: review"
    if row.status == "planned" and not row.spec.directions:
        return "nothing to make"
    return row.status


class ShotModel(QAbstractTableModel):
    error = pyqtSignal(str)

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt names)
        return 0 if parent.isValid() else len(self.state.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in (HEAD, TAIL) and not self.state.running:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = self.state.rows[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            fmt = self.state.format_length
            values = (
                row.clip.name,
                row.clip.track,
                row.source_in,
                row.source_out,
                fmt(row, row.available_head),
                fmt(row, row.available_tail),
                fmt(row, row.spec.head_frames),
                fmt(row, row.spec.tail_frames),
                row.mode,
                status_text(row),
            )
            return values[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == STATUS and row.status in STATUS_COLOURS:
            return QBrush(QColor(STATUS_COLOURS[row.status]))
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == STATUS and row.error:
                return row.error
            if col in (HEAD, TAIL):
                return f"frames to generate; type 12, 12f or 0.5s (unit: {self.state.unit})"
            return f"{row.clip.media} ({row.clip_id})"
        if role == Qt.ItemDataRole.TextAlignmentRole and 2 <= col <= 7:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or index.column() not in (HEAD, TAIL):
            return False
        row = self.state.rows[index.row()]
        try:
            self.state.set_length(row.clip_id, "head" if index.column() == HEAD else "tail", str(value))
        except UsageError as exc:
            self.error.emit(str(exc))
            return False
        return True

    def refresh(self, clip_id: str | None = None) -> None:
        if clip_id is None:
            self.beginResetModel()
            self.endResetModel()
            return
        for i, r in enumerate(self.state.rows):
            if r.clip_id == clip_id:
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))


class ShotTable(QTableView):
    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.shots = ShotModel(state, self)
        self.setModel(self.shots)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.selectionModel().currentRowChanged.connect(self._current_changed)

    def _current_changed(self, current, _previous) -> None:
        if current.isValid() and current.row() < len(self.state.rows):
            clip_id = self.state.rows[current.row()].clip_id
            if clip_id != self.state.selected:
                self.state.select(clip_id)

    def select_clip(self, clip_id: str | None) -> None:
        for i, r in enumerate(self.state.rows):
            if r.clip_id == clip_id and self.currentIndex().row() != i:
                self.selectRow(i)
