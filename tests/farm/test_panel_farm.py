"""The panel's choice of where runs render (this process or Ray) and its progress text for shots
running at once; the widget is real (offscreen), the run itself is tested on Ray in
test_ray_executor.py."""

from __future__ import annotations

import pytest

from lengthen.errors import MissingDependency
from lengthen.ui.state import PanelState


def _open(path) -> PanelState:
    state = PanelState()
    state.adopt(PanelState.read(path))
    return state


def test_settings_pane_chooses_ray_and_its_address(qtbot, cut4, monkeypatch):
    from lengthen.executor import LocalExecutor
    from lengthen.farm.ray_executor import RayExecutor
    from lengthen.ui.settings import SettingsPane

    state = _open(cut4)
    pane = SettingsPane(state)
    qtbot.addWidget(pane)
    assert pane.run_on.currentData() == "local" and not pane.ray_address.isEnabled()
    assert isinstance(state.make_executor(), LocalExecutor)
    pane.run_on.setCurrentIndex(pane.run_on.findData("ray"))
    assert state.executor == "ray" and pane.ray_address.isEnabled()
    pane.ray_address.setText(" 10.1.2.3:6379 ")
    pane.ray_address.editingFinished.emit()
    assert state.ray_address == "10.1.2.3:6379"
    executor = state.make_executor()
    assert isinstance(executor, RayExecutor) and executor.address == "10.1.2.3:6379"
    pane.run_on.setCurrentIndex(pane.run_on.findData("local"))
    assert state.executor == "local"

    monkeypatch.setattr(PanelState, "ray_available", staticmethod(lambda: False))  # as without lengthen[farm]
    pane.refresh()
    assert not pane.run_on.model().item(1).isEnabled()
    assert "lengthen[farm]" in pane.run_on.itemData(1, 3)
    with pytest.raises(MissingDependency, match=r"pip install 'lengthen\[farm\]'"):
        state.set_executor("ray")
    state.close()


def test_progress_text_with_shots_running_at_once(cut4):
    state = _open(cut4)
    state.set_engine("motion")
    items = state.run_items()
    start = state.run_started
    for item in items[:2]:
        state.shot_started(item.key)
    fraction, eta, text = state.run_progress(now=start + 1)
    assert (fraction, eta, text) == (0.0, None, "0/4 done · 2 running · 0 failed · ETA after the first shot")
    state.shot_failed(items[0].key, "boom")
    state.shot_started(items[2].key)
    fraction, eta, text = state.run_progress(now=start + 10)
    assert text == "0/4 done · 2 running · 1 failed · ETA 30 s" and fraction == 0.25 and eta == 30
    state.run_finished(cancelled=True)
    state.close()
