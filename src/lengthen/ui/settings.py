"""Engine settings: engine, quality, candidates, identity strength, seed, and for the GPU
engines the memory a run needs. Changes go to :meth:`PanelState.set_engine` / ``set_settings``."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QWidget

from ..engines.base import ENGINES, QUALITIES
from ..errors import LengthenError

ENGINE_NOTES = {
    "builtin": "CPU: continues the shot as its own last frames prove best (no download)",
    "motion": "CPU: continues the shot's measured motion",
    "flow-raw": "CPU: raw optical-flow extrapolation (baseline)",
    "freeze": "holds the edge frame (fastest; a baseline)",
    "wan-vace": "GPU: Wan 2.1 VACE video model",
    "ltx": "GPU: LTX-Video",
    "skyreels-df": "GPU: SkyReels V2 diffusion forcing",
}


class SettingsPane(QWidget):
    error = pyqtSignal(str)

    def __init__(self, state, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        form = QFormLayout(self)
        self.engine = QComboBox()
        for name in ENGINES:
            self.engine.addItem(name, name)
            self.engine.setItemData(self.engine.count() - 1, ENGINE_NOTES.get(name, ""), 3)  # 3: ToolTipRole
        self.quality = QComboBox()
        self.quality.addItems(QUALITIES)
        self.candidates = QSpinBox()
        self.candidates.setRange(1, 16)
        self.candidates.setToolTip("render N candidates per shot and keep the one that best keeps the faces")
        self.identity = QDoubleSpinBox()
        self.identity.setRange(0.0, 2.0)
        self.identity.setSingleStep(0.1)
        self.identity.setToolTip("how strongly the characters' references steer generation (0: off)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #888;")
        self.memory = QLabel()
        self.memory.setWordWrap(True)
        form.addRow("Engine", self.engine)
        form.addRow("", self.note)
        form.addRow("Quality", self.quality)
        form.addRow("Candidates", self.candidates)
        form.addRow("Identity strength", self.identity)
        form.addRow("Seed", self.seed)
        form.addRow("GPU memory", self.memory)
        self.run_on = QComboBox()  # where runs render: this process, or one Ray task per shot
        self.run_on.addItem("This computer, one shot at a time", "local")
        self.run_on.addItem("Ray, one task per shot", "ray")
        self.ray_address = QLineEdit()
        self.ray_address.setPlaceholderText("empty: a private Ray on this computer (127.0.0.1)")
        self.ray_address.setToolTip(
            "a Ray cluster's address (ray start --head on a trusted network only: never expose its ports)"
        )
        form.addRow("Run on", self.run_on)
        form.addRow("Ray address", self.ray_address)
        self._updating = False
        self.engine.currentIndexChanged.connect(
            lambda _i: self._apply(lambda: self.state.set_engine(self.engine.currentData()))
        )
        self.quality.currentTextChanged.connect(lambda q: self._apply(lambda: self.state.set_settings(quality=q)))
        self.candidates.valueChanged.connect(lambda v: self._apply(lambda: self.state.set_settings(candidates=v)))
        self.identity.valueChanged.connect(
            lambda v: self._apply(lambda: self.state.set_settings(identity_strength=round(v, 2)))
        )
        self.seed.valueChanged.connect(lambda v: self._apply(lambda: self.state.set_settings(seed=v)))
        self.run_on.currentIndexChanged.connect(lambda _i: self._apply(self._set_executor))
        self.ray_address.editingFinished.connect(lambda: self._apply(self._set_executor))
        self.refresh()

    def _set_executor(self) -> None:
        self.state.set_executor(self.run_on.currentData(), self.ray_address.text())
        self.ray_address.setEnabled(self.state.executor == "ray")

    def _apply(self, change) -> None:
        if self._updating:
            return
        try:
            change()
        except LengthenError as exc:
            self.error.emit(str(exc))
            self.refresh()

    def refresh(self) -> None:
        self._updating = True
        try:
            st, s = self.state, self.state.settings
            model = self.engine.model()
            for i in range(self.engine.count()):  # GPU engines only where CUDA is
                name = self.engine.itemData(i)
                why = st.engine_available(name)
                model.item(i).setEnabled(why is None)
                self.engine.setItemData(i, f"{name}: {why}" if why else ENGINE_NOTES.get(name, ""), 3)
            self.engine.setCurrentIndex(max(0, self.engine.findData(st.engine)))
            if self.quality.findText(s.quality) < 0:
                self.quality.addItem(s.quality)  # e.g. "tiny", set by a test or a project file
            self.quality.setCurrentText(s.quality)
            self.candidates.setValue(s.candidates)
            self.identity.setValue(s.identity_strength)
            self.seed.setValue(s.seed)
            self.note.setText(ENGINE_NOTES.get(st.engine, ""))
            estimate = st.memory_estimate()
            self.memory.setText(estimate or "not needed (CPU engine)")
            ray_item = self.run_on.model().item(1)
            ray_item.setEnabled(st.ray_available())
            self.run_on.setItemData(
                1,
                "" if st.ray_available() else "needs Ray: pip install 'lengthen[farm]'",
                3,  # 3: ToolTipRole
            )
            self.run_on.setCurrentIndex(max(0, self.run_on.findData(st.executor)))
            if not self.ray_address.hasFocus():
                self.ray_address.setText(st.ray_address or "")
            for w in (self.engine, self.quality, self.candidates, self.identity, self.seed, self.run_on):
                w.setEnabled(not st.running)
            self.ray_address.setEnabled(not st.running and st.executor == "ray")
        finally:
            self._updating = False
