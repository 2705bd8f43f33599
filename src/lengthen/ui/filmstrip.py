"""The filmstrip: the selected shot's first and last frames, each with its timecode.

Frames are decoded in a worker (:func:`lengthen.ui.jobs.filmstrip`); this widget only shows the
thumbnails it is given.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QImage, QPixmap
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

THUMB_WIDTH = 160


def pixmap(rgb: np.ndarray) -> QPixmap:
    """(H, W, 3) uint8 -> QPixmap (copied, so the array may go away)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class Filmstrip(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(4, 4, 4, 4)
        self.row.setSpacing(6)
        self.frames: list = []  # (label, media frame, timecode, thumbnail) currently shown
        self.clip_id: str | None = None
        self.set_message("Open a timeline to see its shots")

    def _clear(self) -> None:
        while self.row.count():
            item = self.row.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # deleteLater waits for the event loop; never show it meanwhile
                item.widget().deleteLater()

    def set_message(self, text: str) -> None:
        self._clear()
        self.frames, self.message = [], text
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet("color: #888;")
        label.setMinimumHeight(THUMB_WIDTH * 9 // 16 + 24)
        self.row.addWidget(label, 1)

    def set_frames(self, clip_id: str, frames: list) -> None:
        self._clear()
        self.clip_id, self.frames, self.message = clip_id, list(frames), ""
        heads = len(frames) // 2 + len(frames) % 2
        for i, (label, frame, timecode, thumb) in enumerate(frames):
            if i == heads:
                gap = QLabel("…")
                gap.setFixedWidth(18)
                gap.setAlignment(Qt.AlignmentFlag.AlignCenter)
                gap.setStyleSheet("color: #aaa; font-size: 16px;")
                self.row.addWidget(gap)
            cell = QFrame()
            cell.setFrameShape(QFrame.Shape.StyledPanel)
            box = QVBoxLayout(cell)
            box.setContentsMargins(2, 2, 2, 2)
            box.setSpacing(1)
            image = QLabel()
            image.setPixmap(pixmap(thumb))
            image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            text = QLabel(f"{timecode}" + (f"  [{label}]" if label else ""))
            text.setAlignment(Qt.AlignmentFlag.AlignCenter)
            text.setStyleSheet("font-family: monospace; font-size: 11px;")
            text.setToolTip(f"media frame {frame}")
            box.addWidget(image)
            box.addWidget(text)
            self.row.addWidget(cell)
        self.row.addStretch(1)
