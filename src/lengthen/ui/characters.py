"""The Characters pane: one row per identity bank with its face crops.

Tick a character to use it, tick faces to make them references, rename in place, and use the
row's menu to merge, drop the character, or add a photo. Right-click a face to drop it (a wrong
face in the bank). Edits go to :meth:`PanelState.edit_cast`; this widget only draws.
"""

from __future__ import annotations

from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QIcon
from PyQt6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import LengthenError
from .filmstrip import pixmap

CROP = 56
MAX_CROPS = 10


def shown_faces(bank, previous: list[int] | None = None) -> list[int]:
    """References first, then the best other faces, at most MAX_CROPS. With ``previous`` (the
    faces shown before an edit of the same bank) the order stays put: ticking or unticking a face
    never moves the faces under the mouse; only faces new to the list are added at the end."""
    if previous is not None and all(0 <= i < len(bank) for i in previous):
        extra = [r for r in bank.references if r not in previous]
        return list(previous) + extra
    rest = sorted((i for i in range(len(bank)) if i not in bank.references), key=lambda i: -bank.quality[i].combined)
    return (list(bank.references) + rest)[:MAX_CROPS]


class CharactersPane(QWidget):
    error = pyqtSignal(str)
    photo_requested = pyqtSignal(str)  # bank id, or "" for a new character

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.status = QLabel("No timeline")
        self.status.setStyleSheet("color: #888;")
        self.add_new = QPushButton("Add photo…")
        self.add_new.setToolTip("start a new character from a reference photo")
        self.add_new.clicked.connect(lambda: self.photo_requested.emit(""))
        top.addWidget(self.status, 1)
        top.addWidget(self.add_new)
        outer.addLayout(top)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body = QWidget()
        self.rows = QVBoxLayout(self.body)
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.scroll.setWidget(self.body)
        outer.addWidget(self.scroll, 1)
        self.crop_buttons: dict[tuple[str, int], QToolButton] = {}
        self.use_boxes: dict[str, QCheckBox] = {}
        self.name_edits: dict[str, QLineEdit] = {}
        self._shown: dict[str, tuple[int, list[int]]] = {}  # bank id -> (faces in it, faces shown in order)

    def _edit(self, action: str, *args) -> None:
        try:
            self.state.edit_cast(action, *args)
        except LengthenError as exc:
            self.error.emit(str(exc))
            self.refresh()

    def _rename(self, bank_id: str, widget) -> None:
        """A name edit lost focus: rename, unless nothing changed or the character is gone (the
        timeline was closed or the characters replaced since: the edit is stale)."""
        try:
            bank = self.state.cast.bank(bank_id)
        except LengthenError:
            return
        if widget.text() != bank.name:
            self._edit("rename", bank_id, widget.text())

    def refresh(self) -> None:
        while self.rows.count():
            item = self.rows.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # deleteLater waits for the event loop; never show it meanwhile
                item.widget().deleteLater()
        self.crop_buttons.clear()
        self.use_boxes.clear()
        self.name_edits.clear()
        st = self.state
        scanning = st.scan_status == "scanning"
        self.status.setText(
            {
                "idle": "No timeline" if st.timeline_path is None else "Characters not scanned yet",
                "scanning": "Scanning faces in the background…",
                "failed": f"Face scan failed: {st.scan_message}",
            }.get(st.scan_status, st.scan_message)
        )
        self.add_new.setEnabled(st.timeline_path is not None and not scanning)
        for bank in st.cast.banks:
            self.rows.addWidget(self._row(bank))
        if st.scan_status == "done" and not st.cast.banks:
            empty = QLabel("No faces found. Add a photo to give a character by hand.")
            empty.setWordWrap(True)
            self.rows.addWidget(empty)
        if st.unassigned:
            self.unassigned = QLabel(
                "Faces in no character: " + "; ".join(st.unassigned) + ". Scores read such faces as unknown; "
                "add a photo of anyone who matters."
            )
            self.unassigned.setWordWrap(True)
            self.unassigned.setStyleSheet("color: #fbc02d;")
            self.rows.addWidget(self.unassigned)
        self.rows.addStretch(1)

    def _row(self, bank) -> QWidget:
        frame = QFrame()
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        box = QVBoxLayout(frame)
        box.setContentsMargins(6, 4, 6, 4)
        head = QHBoxLayout()
        use = QCheckBox()
        use.setChecked(bank.id in self.state.cast.used)
        use.setToolTip("use this character's references in the run")
        use.toggled.connect(lambda on, b=bank.id: self._edit("set_used", b, on))
        name = QLineEdit(bank.name)
        name.setToolTip(f"{bank.id}: rename")
        name.editingFinished.connect(lambda b=bank.id, w=name: self._rename(b, w))
        info = QLabel(f"{len(bank)} faces · {len(bank.references)} refs")
        info.setStyleSheet("color: #888;")
        menu_button = QToolButton()
        menu_button.setText("⋯")
        menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu_button.setMenu(self._menu(bank, menu_button))
        head.addWidget(use)
        head.addWidget(name, 1)
        head.addWidget(info)
        head.addWidget(menu_button)
        box.addLayout(head)
        crops = QHBoxLayout()
        crops.setSpacing(3)
        before = self._shown.get(bank.id)
        faces = shown_faces(bank, before[1] if before and before[0] == len(bank) else None)
        self._shown[bank.id] = (len(bank), faces)
        for face in faces:
            crops.addWidget(self._crop(bank, face))
        crops.addStretch(1)
        box.addLayout(crops)
        self.use_boxes[bank.id], self.name_edits[bank.id] = use, name
        return frame

    def _crop(self, bank, face: int) -> QToolButton:
        button = QToolButton()
        button.setCheckable(True)
        button.setChecked(face in bank.references)
        button.setIcon(QIcon(pixmap(bank.crops[face])))
        button.setIconSize(QSize(CROP, CROP))
        src = bank.sources[face]
        where = "photo" if src.manual else f"frame {src.frame}"
        button.setToolTip(
            f"{where} of {src.media.rsplit('/', 1)[-1]}; quality {bank.quality[face].combined:.2f}\n"
            "checked: a reference face · right-click: drop this face"
        )
        button.setStyleSheet(
            "QToolButton { border: 2px solid transparent; } QToolButton:checked { border: 2px solid #e040fb; }"
        )
        button.toggled.connect(lambda on, b=bank.id, f=face: self._edit("set_reference", b, f, on))
        button.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        button.customContextMenuRequested.connect(lambda _pos, b=bank.id, f=face, w=button: self._face_menu(b, f, w))
        self.crop_buttons[(bank.id, face)] = button
        return button

    def _face_menu(self, bank_id: str, face: int, widget) -> None:
        menu = QMenu(widget)
        menu.addAction("Drop this face", lambda: self._edit("drop_face", bank_id, face))
        menu.popup(widget.mapToGlobal(widget.rect().center()))

    def _menu(self, bank, parent) -> QMenu:
        menu = QMenu(parent)
        merge = menu.addMenu("Merge into")
        for other in self.state.cast.banks:
            if other.id != bank.id:
                action = QAction(f"{other.name} ({other.id})", merge)
                action.triggered.connect(lambda _=False, a=other.id, b=bank.id: self._edit("merge", a, b))
                merge.addAction(action)
        merge.setEnabled(len(self.state.cast.banks) > 1)
        menu.addAction("Add photo…", lambda b=bank.id: self.photo_requested.emit(b))
        menu.addSeparator()
        menu.addAction("Drop character", lambda b=bank.id: self._edit("drop", b))
        return menu
