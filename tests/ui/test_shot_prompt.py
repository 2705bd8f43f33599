"""The panel's state model carries a shot's own prompt (for the GPU engines) into the run's jobs."""

from __future__ import annotations

from lengthen.ui.state import PanelState


def test_a_shot_prompt_travels_with_the_shot_into_the_run(cut):
    state = PanelState()
    state.adopt(PanelState.read(cut))
    party, console = state.rows
    state.set_prompt(party.clip_id, "  Two friends laugh at a party, handheld ")
    assert party.spec.prompt == "Two friends laugh at a party, handheld" and console.spec.prompt is None
    items = {job.key: job for job in state.run_items()}
    assert items[party.clip_id].spec.prompt == "Two friends laugh at a party, handheld"
    assert all(job.spec.prompt is None for key, job in items.items() if key != party.clip_id)
    state.run_finished()
    state.set_prompt(party.clip_id, "")
    assert party.spec.prompt is None  # empty: back to the run's --prompt or the default description
