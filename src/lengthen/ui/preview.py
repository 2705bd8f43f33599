"""The review area: look at a seam frame by frame and pick the take to keep.

The picture scales with the pane (aspect kept). Under it: the seam bar (grey: source, magenta:
generated, red line: the seam, white: the frame shown), a scrubber, frame step buttons, play,
the direction (head/tail), and the compare choice: another take side by side with the one in use
(A/B) at the same frame. The caption gives the frame's source timecode and whether it is
generated. Beside it: the scores on a good / check / bad scale, the list of takes (use one,
accept it) and Re-roll. Frames are decoded by :func:`lengthen.ui.jobs.preview` in a worker.
"""

from __future__ import annotations

from PyQt6.QtCore import QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QPainter, QPen
from PyQt6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .filmstrip import pixmap

GOOD, CHECK, BAD = "good", "check", "bad"
GRADE_COLOURS = {GOOD: "#43a047", CHECK: "#fbc02d", BAD: "#e53935"}


def grade_identity(mean, threshold, missing: int = 0, scored: int = 1) -> str:
    """good: at or above the same-person threshold and never lost; check: a little below it or
    lost in some frames; bad: well below it or lost in most frames."""
    threshold = 0.9 if threshold is None else threshold
    if mean is None or missing > scored / 2:
        return BAD
    if mean >= threshold and not missing:
        return GOOD
    return CHECK if mean >= threshold - 0.1 else BAD


def grade_seam(jump) -> str:
    """Seam jump = change across the cut / the source's median change per frame (1: like any cut
    between two frames of the shot)."""
    if jump is None:
        return CHECK
    return GOOD if jump <= 1.5 else CHECK if jump <= 3.0 else BAD


def grade_motion(energy) -> str:
    """Motion energy = generated motion / source motion (1: moves like the source)."""
    if energy is None:
        return CHECK
    return GOOD if 0.5 <= energy <= 1.5 else CHECK if 0.25 <= energy <= 2.5 else BAD


def badge(grade: str) -> str:
    return f"<span style='color:{GRADE_COLOURS[grade]}; font-weight:bold'>{grade}</span>"


class SeamBar(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.generated: list[bool] = []
        self.position = 0
        self.setMinimumHeight(14)
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


class Picture(QWidget):
    """One picture, or two side by side (A | B), scaled to fit with the aspect kept."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.pixmaps: list = []
        self.labels: list[str] = []
        self.message = ""
        self.setMinimumSize(240, 135)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_pixmaps(self, pixmaps: list, labels: list[str] | None = None) -> None:
        self.pixmaps, self.labels, self.message = list(pixmaps), list(labels or []), ""
        self.update()

    def show_message(self, text: str) -> None:
        self.pixmaps, self.labels, self.message = [], [], text
        self.update()

    def target_rects(self) -> list[QRectF]:
        """Where each picture is drawn: as large as fits, aspect kept, side by side."""
        n = max(1, len(self.pixmaps))
        cell_w, cell_h = self.width() / n, self.height() - (16 if self.labels else 0)
        out = []
        for i, pm in enumerate(self.pixmaps):
            scale = min(cell_w / max(1, pm.width()), cell_h / max(1, pm.height()))
            w, h = pm.width() * scale, pm.height() * scale
            out.append(QRectF(i * cell_w + (cell_w - w) / 2, (cell_h - h) / 2, w, h))
        return out

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#111"))
        if not self.pixmaps:
            p.setPen(QColor("#888"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        for i, (pm, rect) in enumerate(zip(self.pixmaps, self.target_rects())):
            p.drawPixmap(rect, pm, QRectF(pm.rect()))
            if i < len(self.labels):
                p.setPen(QColor("#ddd"))
                p.drawText(
                    QRectF(rect.left(), self.height() - 16, rect.width(), 16),
                    Qt.AlignmentFlag.AlignCenter,
                    self.labels[i],
                )
        p.end()


class PreviewPane(QWidget):
    accept_toggled = pyqtSignal(str, bool)  # clip id, accepted
    reroll_clicked = pyqtSignal(str)
    direction_changed = pyqtSignal(str, str)  # clip id, direction
    take_chosen = pyqtSignal(str, int)  # clip id, take index
    compare_changed = pyqtSignal(str, int)  # clip id, take index to show beside (-1: none)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.clip_id: str | None = None
        self.data: dict | None = None
        self.compare: dict | None = None  # the B take's preview data (same direction)
        self.index = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        self.picture = Picture()
        self.bar = SeamBar()
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setToolTip("scrub through the seam (Left / Right step a frame when the review has focus)")
        self.scrubber.valueChanged.connect(self.seek)
        self.caption = QLabel("")
        self.caption.setStyleSheet("font-family: monospace;")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        controls = QHBoxLayout()
        self.back = QToolButton(text="◀", toolTip="previous frame (,)")
        self.back.clicked.connect(lambda: self.step(-1))
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.play.setToolTip("play / pause the seam (K)")
        self.play.toggled.connect(self.set_playing)
        self.forward = QToolButton(text="▶", toolTip="next frame (.)")
        self.forward.clicked.connect(lambda: self.step(1))
        self.direction = QComboBox(toolTip="which generated part to review")
        self.direction.currentTextChanged.connect(
            lambda d: self.clip_id and d and self.direction_changed.emit(self.clip_id, d)
        )
        self.compare_box = QComboBox(toolTip="show another take beside the one in use (A/B), frame for frame")
        self.compare_box.activated.connect(
            lambda _i: self.clip_id and self.compare_changed.emit(self.clip_id, self.compare_box.currentData())
        )
        for w in (self.back, self.play, self.forward, self.direction, self.compare_box):
            controls.addWidget(w)
        controls.addStretch(1)
        left.addWidget(self.picture, 1)
        left.addWidget(self.bar)
        left.addWidget(self.scrubber)
        left.addWidget(self.caption)
        left.addLayout(controls)
        right = QVBoxLayout()
        self.scores = QLabel("")
        self.scores.setTextFormat(Qt.TextFormat.RichText)
        self.scores.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.scores.setWordWrap(True)
        self.scores.setMinimumWidth(170)
        self.takes = QListWidget()
        self.takes.setWordWrap(True)
        self.takes.setToolTip("every take of this shot: double-click (or Use take) to use it")
        self.takes.itemDoubleClicked.connect(lambda item: self._choose(self.takes.row(item)))
        self.use_take = QPushButton("Use take")
        self.use_take.clicked.connect(lambda: self._choose(self.takes.currentRow()))
        self.accept = QPushButton("Accept")
        self.accept.setCheckable(True)
        self.accept.setToolTip("keep this take for the export (Ctrl+Return); click again to un-accept")
        self.accept.clicked.connect(lambda on: self.clip_id and self.accept_toggled.emit(self.clip_id, on))
        self.reroll = QPushButton("Re-roll (new seed)")
        self.reroll.clicked.connect(lambda: self.clip_id and self.reroll_clicked.emit(self.clip_id))
        right.addWidget(self.scores, 2)
        right.addWidget(QLabel("Takes"))
        right.addWidget(self.takes, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_take)
        buttons.addWidget(self.accept)
        right.addLayout(buttons)
        right.addWidget(self.reroll)
        outer.addLayout(left, 3)
        outer.addLayout(right, 1)
        self.clear()

    # -- content ---------------------------------------------------------------------------
    def clear(self, message: str = "Run a shot, then select it to review its seam") -> None:
        self.set_playing(False)
        self.data, self.compare, self.clip_id = None, None, None
        self.picture.show_message(message)
        self.bar.generated = []
        self.bar.update()
        self.scrubber.setRange(0, 0)
        self.caption.setText("")
        self.scores.setText("")
        self.takes.clear()
        self._takes_shown = None
        self.compare_box.clear()
        for w in (self.accept, self.reroll, self.use_take, self.back, self.forward, self.scrubber, self.compare_box):
            w.setEnabled(False)
        self.accept.setChecked(False)
        self.accept.setText("Accept")

    def set_directions(self, clip_id: str, directions: list[str], current: str) -> None:
        self.direction.blockSignals(True)
        self.direction.clear()
        self.direction.addItems(directions)
        self.direction.setCurrentText(current)
        self.direction.blockSignals(False)
        self.clip_id = clip_id

    def set_takes(self, clip_id: str, lines: list[str], current: int, compare: int) -> None:
        if (clip_id, lines, current, compare) == getattr(self, "_takes_shown", None):
            return  # unchanged (progress events arrive many times a second)
        self._takes_shown = (clip_id, list(lines), current, compare)
        self.clip_id = clip_id
        self.takes.blockSignals(True)
        self.takes.clear()
        for i, text in enumerate(lines):
            item = QListWidgetItem(("▶ " if i == current else "   ") + text)
            item.setToolTip(text)
            self.takes.addItem(item)
        self.takes.setCurrentRow(current)
        self.takes.blockSignals(False)
        self.use_take.setEnabled(len(lines) > 1)
        self.compare_box.clear()
        self.compare_box.addItem("A/B: off", -1)
        self.compare_box.addItem("Before / after", -2)
        for i in range(len(lines)):
            if i != current:
                self.compare_box.addItem(f"B: take {i + 1}", i)
        self.compare_box.setCurrentIndex(max(0, self.compare_box.findData(compare)))
        self.compare_box.setEnabled(bool(lines))

    def _choose(self, index: int) -> None:
        if self.clip_id is not None and index >= 0:
            self.take_chosen.emit(self.clip_id, index)

    def set_status(self, accepted: bool, reroll_why: str | None) -> None:
        """The Accept and Re-roll buttons, from the state (never stale)."""
        has = self.clip_id is not None and self.data is not None
        self.accept.setEnabled(has)
        self.accept.setChecked(accepted)
        self.accept.setText("Accepted ✓" if accepted else "Accept")
        self.reroll.setEnabled(has and reroll_why is None)
        self.reroll.setToolTip(reroll_why or "render this shot again with the next seed (a new take)")

    def set_preview(self, clip_id: str, data: dict, compare: dict | None = None) -> None:
        same = self.clip_id == clip_id and self.data is not None and self.data["direction"] == data["direction"]
        self.clip_id, self.data, self.compare = clip_id, data, compare
        self.bar.generated = list(data["generated"])
        if not same or self.index >= len(data["frames"]):
            self.index = self.bar.seam - min(6, self.bar.seam) if self.bar.seam else 0
        self.timer.setInterval(max(1, round(1000 / float(data["rate"]))))
        for w in (self.back, self.forward, self.scrubber):
            w.setEnabled(True)
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(0, len(data["frames"]) - 1)
        self.scrubber.blockSignals(False)
        self.scores.setText(scores_html(data))
        self.show_frame()

    # -- playback --------------------------------------------------------------------------
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

    def toggle_play(self) -> None:
        self.set_playing(not self.timer.isActive())

    def _tick(self) -> None:
        """Playback: the next frame, looping."""
        if self.data is not None:
            self.seek((self.index + 1) % len(self.data["frames"]))

    def step(self, delta: int = 1) -> None:
        """Frame step (pauses playback)."""
        if self.data is None:
            return
        self.set_playing(False)
        self.seek(self.index + delta)

    def seek(self, index: int) -> None:
        if self.data is None:
            return
        self.index = max(0, min(int(index), len(self.data["frames"]) - 1))
        self.show_frame()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            return self.step(-1 if event.key() == Qt.Key.Key_Left else 1)
        super().keyPressEvent(event)

    def timecode(self, index: int | None = None) -> str:
        d = self.data
        i = self.index if index is None else index
        codes = d.get("timecodes") or []
        return codes[i] if i < len(codes) else ""

    def show_frame(self) -> None:
        d = self.data
        i = self.index
        frames = [pixmap(d["frames"][i])]
        labels = []
        if self.compare is not None and i < len(self.compare["frames"]):
            frames.append(pixmap(self.compare["frames"][i]))
            labels = [
                f"A: seed {d.get('seed')}" if "label" not in self.compare else "after",
                self.compare.get("label") or f"B: seed {self.compare.get('seed')}",
            ]
        self.picture.show_pixmaps(frames, labels)
        self.bar.position = i
        self.bar.update()
        if self.scrubber.value() != i:
            self.scrubber.blockSignals(True)
            self.scrubber.setValue(i)
            self.scrubber.blockSignals(False)
        gen = d["generated"][i]
        self.caption.setText(
            f"{d['direction']}  {self.timecode()}  {'GENERATED' if gen else 'source   '}  "
            f"frame {i + 1} of {len(d['frames'])}  {float(d['rate']):.3f} fps"
        )


def take_line(index: int, outcome, accepted: bool, in_use: bool) -> str:
    """One line of the take list: number, seed, identity and seam grades."""
    seeds = sorted({g.metadata.get("seed") for g in outcome.generated if g.metadata.get("seed") is not None})
    grades = []
    for direction, info in outcome.report.get("directions", {}).items():
        identity = info.get("identity", {})
        gen = identity.get("generated", {})
        means = [s.get("mean") for s in gen.values()]
        part = f"{direction}: seam {grade_seam(info.get('seam_jump'))}"
        if gen:
            worst = min((m for m in means if m is not None), default=None)
            part += f", identity {grade_identity(worst, identity.get('threshold'), 0)}"
        grades.append(part)
    mark = " · accepted" if accepted and in_use else ""
    return f"Take {index + 1} · seed {', '.join(map(str, seeds)) or '?'} · {'; '.join(grades)}{mark}"


def scores_html(data: dict) -> str:
    threshold = data.get("threshold")
    rows = []
    for bank_id, s in sorted(data.get("scores", {}).items()):
        src = data.get("source_scores", {}).get(bank_id, {})
        mean = "—" if s.get("mean") is None else f"{s['mean']:.2f}"
        smean = "—" if src.get("mean") is None else f"{src['mean']:.2f}"
        scored = len(s.get("per_frame") or []) or 1
        grade = grade_identity(s.get("mean"), threshold or s.get("threshold"), s.get("missing", 0), scored)
        rows.append(
            f"<tr><td>{s.get('name', bank_id)}</td><td align=right>{mean}</td><td align=right>{smean}</td>"
            f"<td align=right>{s.get('missing', 0)}</td><td>{badge(grade)}</td></tr>"
        )
    unknown = (data.get("unknown") or {}).get("generated") or {}
    if unknown.get("faces"):
        near = ", ".join(f"nearest {n} {v:.2f}" for n, v in sorted(unknown.get("nearest", {}).items()))
        rows.append(
            f"<tr><td><i>unknown</i></td><td colspan=3>{unknown['faces']} faces match no character"
            f"{' (' + near + ')' if near else ''}</td><td>{badge(CHECK)}</td></tr>"
        )
    table = (
        (
            "<table cellspacing=3><tr><th align=left>Character</th><th>new</th><th>source</th><th>lost</th>"
            "<th></th></tr>" + "".join(rows) + "</table>"
        )
        if rows
        else "<i>no characters scored</i>"
    )
    th = f"same person ≥ {threshold:.2f}" if threshold is not None else "same person: the backend's threshold"
    extra = []
    if data.get("seam_jump") is not None:
        extra.append(f"seam jump {data['seam_jump']:.2f} {badge(grade_seam(data['seam_jump']))}")
    if data.get("motion_energy") is not None:
        extra.append(f"motion {data['motion_energy']:.2f} {badge(grade_motion(data['motion_energy']))}")
    if data.get("seed") is not None:
        extra.append(f"seed {data['seed']}")
    return (
        f"<b>Identity</b> <span style='color:#888'>(cosine to the character; {th}; below it a face is "
        f"unknown)</span><br>{table}<p>{'<br>'.join(extra)}</p>"
        f"<p style='color:#888'>scale: {badge(GOOD)} · {badge(CHECK)} · {badge(BAD)}<br>"
        f"starts at {data.get('timecode', '')}</p>"
    )
