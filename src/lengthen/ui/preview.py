"""Preview a seam: source frames next to the cut, then the generated ones, at the clip's rate.

The bar under the picture shows every frame (grey: source, magenta: generated), the seam as a
red line and the playing frame in white; beside it are each character's identity scores. The
frames are decoded by :func:`lengthen.ui.jobs.preview` in a worker.
"""

from __future__ import annotations

from PyQt6.QtCore import QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QPainter, QPen
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from .filmstrip import pixmap


class SeamBar(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.generated: list[bool] = []
        self.position = 0
        self.setMinimumHeight(16)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    @property
    def seam(self) -> int | None:
        """Index of the first frame on the far side of the cut."""
        for i in range(1, len(self.generated)):
            if self.generated[i] != self.generated[i - 1]:
                return i
        return None

    def paintEvent(self, _event) -> None:  # noqa: N802
        if not self.generated:
            return
        p = QPainter(self)
        w = self.width() / len(self.generated)
        for i, gen in enumerate(self.generated):
            p.fillRect(QRectF(i * w, 2, max(1.0, w - 1), self.height() - 4), QColor("#e040fb" if gen else "#707070"))
        if self.seam is not None:
            p.setPen(QPen(QColor("#ff1744"), 3))
            p.drawLine(int(self.seam * w), 0, int(self.seam * w), self.height())
        p.setPen(QPen(QColor("white"), 2))
        p.drawRect(QRectF(self.position * w, 1, max(2.0, w - 1), self.height() - 2))
        p.end()


class PreviewPane(QWidget):
    accept_clicked = pyqtSignal(str)
    reroll_clicked = pyqtSignal(str)
    direction_changed = pyqtSignal(str, str)  # clip id, direction

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.clip_id: str | None = None
        self.data: dict | None = None
        self.index = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.step)
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        self.picture = QLabel("Run a shot, then select it to preview its seam")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(320, 180)
        self.picture.setStyleSheet("background: #111; color: #888;")
        self.bar = SeamBar()
        self.caption = QLabel("")
        self.caption.setStyleSheet("font-family: monospace;")
        controls = QHBoxLayout()
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.play.toggled.connect(self.set_playing)
        self.direction = QComboBox()
        self.direction.currentTextChanged.connect(
            lambda d: self.clip_id and d and self.direction_changed.emit(self.clip_id, d)
        )
        controls.addWidget(self.play)
        controls.addWidget(self.direction)
        controls.addWidget(self.caption, 1)
        left.addWidget(self.picture, 1)
        left.addWidget(self.bar)
        left.addLayout(controls)
        right = QVBoxLayout()
        self.scores = QLabel("")
        self.scores.setTextFormat(Qt.TextFormat.RichText)
        self.scores.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.scores.setMinimumWidth(220)
        self.accept = QPushButton("Accept")
        self.accept.clicked.connect(lambda: self.clip_id and self.accept_clicked.emit(self.clip_id))
        self.reroll = QPushButton("Re-roll (new seed)")
        self.reroll.clicked.connect(lambda: self.clip_id and self.reroll_clicked.emit(self.clip_id))
        right.addWidget(self.scores, 1)
        right.addWidget(self.accept)
        right.addWidget(self.reroll)
        outer.addLayout(left, 3)
        outer.addLayout(right, 1)
        self.clear()

    def clear(self, message: str = "Run a shot, then select it to preview its seam") -> None:
        self.set_playing(False)
        self.data, self.clip_id = None, None
        self.picture.setPixmap(pixmap_empty())
        self.picture.setText(message)
        self.bar.generated = []
        self.bar.update()
        self.caption.setText("")
        self.scores.setText("")
        self.accept.setEnabled(False)
        self.reroll.setEnabled(False)

    def set_directions(self, clip_id: str, directions: list[str], current: str) -> None:
        self.direction.blockSignals(True)
        self.direction.clear()
        self.direction.addItems(directions)
        self.direction.setCurrentText(current)
        self.direction.blockSignals(False)
        self.clip_id = clip_id

    def set_preview(self, clip_id: str, data: dict, accepted: bool) -> None:
        self.clip_id, self.data = clip_id, data
        self.bar.generated = list(data["generated"])
        self.index = self.bar.seam - min(6, self.bar.seam) if self.bar.seam else 0
        self.timer.setInterval(max(1, round(1000 / float(data["rate"]))))
        self.accept.setEnabled(not accepted)
        self.accept.setText("Accepted" if accepted else "Accept")
        self.reroll.setEnabled(True)
        self.scores.setText(scores_html(data))
        self.show_frame()

    def set_playing(self, on: bool) -> None:
        if on and self.data is not None:
            self.timer.start()
        else:
            self.timer.stop()
        if self.play.isChecked() != (on and self.data is not None):
            self.play.blockSignals(True)
            self.play.setChecked(on and self.data is not None)
            self.play.blockSignals(False)
        self.play.setText("Pause" if self.timer.isActive() else "Play")

    def step(self) -> None:
        if self.data is None:
            return
        self.index = (self.index + 1) % len(self.data["frames"])
        self.show_frame()

    def show_frame(self) -> None:
        d = self.data
        self.picture.setPixmap(pixmap(d["frames"][self.index]))
        self.bar.position = self.index
        self.bar.update()
        gen = d["generated"][self.index]
        self.caption.setText(
            f"{d['direction']} frame {self.index + 1}/{len(d['frames'])}  "
            f"{'GENERATED' if gen else 'source'}  {d['rate']} fps"
        )


def pixmap_empty():
    from PyQt6.QtGui import QPixmap

    return QPixmap()


def scores_html(data: dict) -> str:
    rows = []
    for bank_id, s in sorted(data.get("scores", {}).items()):
        src = data.get("source_scores", {}).get(bank_id, {})
        mean = "—" if s.get("mean") is None else f"{s['mean']:.2f}"
        smean = "—" if src.get("mean") is None else f"{src['mean']:.2f}"
        rows.append(
            f"<tr><td>{s.get('name', bank_id)}</td><td align=right>{mean}</td><td align=right>{smean}</td>"
            f"<td align=right>{s.get('missing', 0)}</td></tr>"
        )
    table = (
        (
            "<table cellspacing=4><tr><th align=left>Character</th><th>new</th><th>source</th><th>lost</th></tr>"
            + "".join(rows)
            + "</table>"
        )
        if rows
        else "<i>no characters scored</i>"
    )
    extra = []
    if data.get("seam_jump") is not None:
        extra.append(f"seam jump {data['seam_jump']:.2f}")
    if data.get("motion_energy") is not None:
        extra.append(f"motion {data['motion_energy']:.2f}")
    if data.get("seed") is not None:
        extra.append(f"seed {data['seed']}")
    return (
        f"<b>Identity (cosine to the bank)</b>{table}<p "
        f"style='color:#888'>{' · '.join(extra)}<br>{data.get('timecode', '')}</p>"
    )
