"""The panel's state model, without Qt: lengths, handles, seeds, characters, project file."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lengthen.errors import FaceError, UsageError
from lengthen.faces.bank import FaceSource, IdentityBank
from lengthen.faces.quality import FaceQuality
from lengthen.progress import SilentProgress
from lengthen.ui import jobs
from lengthen.ui.cast import Cast
from lengthen.ui.state import PanelState


def _open(path) -> PanelState:
    state = PanelState()
    state.adopt(PanelState.read(path))
    return state


def _drive(state: PanelState, items) -> dict:
    """Run like the panel does, with the state updated from the job's events."""
    handlers = {
        "started": state.shot_started,
        "progress": state.shot_progress,
        "done": state.shot_done,
        "failed": state.shot_failed,
    }
    counts = jobs.run_shots(items, SilentProgress(), lambda kind, clip_id, *data: handlers[kind](clip_id, *data))
    state.run_finished()
    return counts


def test_state_model_imports_no_qt():
    code = (
        "import sys, lengthen.ui.state, lengthen.ui.jobs, lengthen.ui.project; "
        "print(any(m.startswith('PyQt6') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_rows_lengths_and_handles(cut):
    state = _open(cut)
    party, console = state.rows
    assert (party.clip.name, console.clip.name) == ("party", "console")
    # party shows media frames 50..89 of 0..89: 50 frames before, none after; handles mode (12) asks a 12-frame tail
    assert (party.available_head, party.available_tail, party.spec.head_frames, party.spec.tail_frames) == (
        50,
        0,
        0,
        12,
    )
    # console shows 100..147 of the console shot 65..184 (cuts inside the media at 65 and 185):
    # the handles stop at the cuts, not at the media's ends
    assert (console.available_head, console.available_tail, console.spec.tail_frames) == (35, 37, 0)
    assert console.cut_note == "head stops at a cut (media frame 65); tail stops at a cut (media frame 185)"
    assert party.cut_note == ""
    assert party.source_in == "00:00:01:20" and console.source_out == "00:00:06:03"  # 147 at 24 fps
    state.set_length("V1/2", "tail", "0.5s")
    assert console.spec.tail_frames == 12 and console.mode == "lengths"
    state.set_unit("seconds")
    state.set_length("V1/2", "head", "0.25")  # a bare number is in the current unit
    assert console.spec.head_frames == 6 and state.format_length(console, 6) == "0.25s"
    state.set_length("V1/2", "head", "3f")
    assert console.spec.head_frames == 3
    with pytest.raises(UsageError, match="console"):
        state.set_length("V1/2", "tail", "soon")
    state.fill_handles(30)
    assert (party.spec.tail_frames, console.spec.head_frames, console.spec.tail_frames) == (30, 0, 0)
    assert all(r.mode == "handles" for r in state.rows)


def test_reroll_memory_estimate_and_project_round_trip(cut):
    state = _open(cut)
    state.set_engine("freeze")  # engine quality is irrelevant here: the bookkeeping is under test
    state.set_settings(seed=5)
    state.set_length("V1/1", "tail", 3)
    state.set_length("V1/2", "head", 2)
    counts = _drive(state, state.run_items())
    assert counts == {"done": 2, "failed": 0}
    party, console = state.rows
    assert party.outcome.generated[0].frames == 3 and console.outcome.generated[0].direction == "head"
    state.accept("V1/1")
    assert state.outcomes_for_export() == [party.outcome]
    with pytest.raises(UsageError, match="ignores the seed"):  # freeze: a re-roll would write the same frames
        state.reroll("V1/2")
    state.gpu = False  # what the panel finds on a machine without CUDA
    with pytest.raises(UsageError, match="CUDA"):
        state.set_engine("wan-vace")
    assert "GB" in state.memory_estimate("wan-vace") and state.memory_estimate() is None  # a CPU engine
    state.set_engine("builtin")
    assert state.reroll("V1/2") == 6 and console.outcome is None and console.status == "planned"
    assert len(console.takes) == 1  # the first take is kept (a take list to choose from)
    assert state.request_for(console, None).settings.seed == 6
    state.set_engine("freeze")
    state.select("V1/2")
    state.set_prompt("V1/2", "a man at a console, night")
    state.save_project()
    again = _open(cut)
    p2, c2 = again.rows
    assert (p2.spec.tail_frames, p2.mode, p2.status, p2.accepted) == (3, "lengths", "done", True)
    assert p2.outcome.generated[0].path == party.outcome.generated[0].path
    assert (c2.spec.head_frames, c2.seed, c2.outcome, len(c2.takes)) == (2, 6, None, 1)
    assert (again.engine, again.settings.seed, again.selected) == ("freeze", 5, "V1/2")
    assert c2.spec.prompt == "a man at a console, night"


def test_reopening_restores_handles_and_acceptances_exactly(cut):
    """Bug 1 of issue 22: 8 f handles, Fill handles, run, Accept, close, reopen twice."""
    state = _open(cut)
    state.set_engine("freeze")
    state.fill_handles(8)
    party, console = state.rows
    assert (party.spec.tail_frames, console.spec.head_frames, console.spec.tail_frames) == (8, 0, 0)
    _drive(state, state.run_items())
    state.accept("V1/1")
    state.save_project()
    before = state.project_data()
    for _ in range(2):  # reopen twice: the autosave of the first reopening must not lose anything
        state.close()
        state = _open(cut)
        assert state.handles == 8
        party = state.rows[0]
        assert (party.spec.tail_frames, party.mode, party.status, party.accepted) == (8, "handles", "done", True)
        assert state.project_data() == before
        state.save_project()


def test_undo_snapshots_and_timecode_entry(cut):
    state = _open(cut)
    steps = []
    state.on_undoable = lambda label, before, after: steps.append((label, before, after))
    state.set_length("V1/2", "tail", "00:00:01:00")  # a timecode duration: one second at 24 fps
    assert state.rows[1].spec.tail_frames == 24 and steps[-1][0] == "tail of console = 24"
    state.fill_handles(30)
    assert state.rows[1].spec.tail_frames == 0 and len(steps) == 2
    state.restore_snapshot(steps[-1][1])  # undo the fill
    assert (state.rows[1].spec.tail_frames, state.rows[1].mode, state.handles) == (24, "lengths", 12)
    state.restore_snapshot(steps[0][1])
    assert state.rows[1].spec.tail_frames == 0
    state.fill_handles(30)
    n = len(steps)
    state.fill_handles(30)  # no change: nothing to undo
    assert len(steps) == n
    with pytest.raises(UsageError, match="console"):
        state.set_length("V1/2", "head", "00:00:01:99")
    # party, before it, is 40 media frames at 30000/1001: 32 frames of the 24 fps timeline
    assert state.record_timecode(state.rows[1]) == "00:00:01:08"


def _bank(bank_id: str, media: str, n: int, seed: int) -> IdentityBank:
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return IdentityBank(
        id=bank_id,
        name=bank_id,
        backend="dlib",
        embedding_dim=8,
        chip_size=4,
        embeddings=emb,
        crops=rng.integers(0, 255, (n, 4, 4, 3), dtype=np.uint8),
        sources=[FaceSource(media, i, (0, 0, 4, 4), ((1, 1),) * 5) for i in range(n)],
        quality=[FaceQuality(*(1.0,) * len(FaceQuality.__dataclass_fields__)) for _ in range(n)],
        references=list(range(n)),
    )


def test_cast_edits_and_banks_per_media(tmp_path):
    a, b = str(tmp_path / "a.mov"), str(tmp_path / "b.mov")
    cast = Cast([_bank("char_001", a, 3, 0), _bank("char_002", b, 2, 1)])
    assert [x.id for x in cast.banks_for(a)] == ["char_001"]
    cast.set_reference("char_001", 1, False)
    assert cast.bank("char_001").references == [0, 2]
    for f in (0, 2):
        cast.set_reference("char_001", f, False)
    assert cast.banks_for(a) == []  # no reference left: not used
    cast.set_reference("char_001", 2, True)
    cast.set_used("char_002", False)
    assert cast.banks_for(b) == []
    cast.merge("char_001", "char_002")
    merged = cast.bank("char_001")
    assert len(merged) == 5 and [x.id for x in cast.banks] == ["char_001"] and cast.banks_for(b) == [merged]
    cast.drop_face("char_001", 0)
    assert len(cast.bank("char_001")) == 4
    cast.rename("char_001", "Ada")
    assert cast.bank("char_001").name == "Ada"
    with pytest.raises(FaceError):
        cast.rename("char_001", "  ")
    cast.drop("char_001")
    assert cast.banks == [] and cast.used == set()


def test_handles_beyond_the_planned_cut_window_look_further(testdata, tmp_path):
    """Planning looks max(2 s, handles) = 48 frames out for cuts; a clip 55 frames after a cut
    shows 120 head frames until Fill handles with 60 looks further and finds the cut at 65."""
    from panel_cuts import write_one_clip

    path = write_one_clip(testdata / "video" / "tears_of_steel_clip01.mp4", 120, 48, tmp_path / "late.otio")
    state = _open(path)
    (row,) = state.rows
    assert (row.available_head, row.spec.metadata["cut_window"]) == (120, 48)  # no cut within 48 frames
    assert state.needs_cut_scan(40) == [] and state.needs_cut_scan(60) == [row]
    bounds = PanelState.find_bounds([row.clip], 60)
    state.fill_handles(60, bounds=bounds)
    assert (row.spec.first, row.available_head, row.spec.head_frames) == (65, 55, 5)  # 60 - 55 missing
    assert row.cut_note.startswith("head stops at a cut (media frame 65)")


def test_takes_made_for_other_shot_ends_are_not_restored(cut):
    """A take saved before planning knew of a cut (its head continues another shot) is dropped."""
    import json

    state = _open(cut)
    state.set_engine("freeze")
    state.set_length("V1/2", "head", 3)
    _drive(state, state.run_items(["V1/2"]))
    state.save_project()
    assert len(_open(cut).rows[1].takes) == 1
    project = state.project_dir / "project.json"
    data = json.loads(project.read_text())
    data["shots"]["V1/2"]["takes"][0]["generated"][0]["source_first_frame"] = -3  # as planned from frame 0
    project.write_text(json.dumps(data))
    console = _open(cut).rows[1]
    assert (console.takes, console.outcome, console.status, console.spec.head_frames) == ([], None, "planned", 3)
