"""The panel, offscreen (pytest-qt): open, characters, lengths, run, cancel, preview, export."""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import opentimelineio as otio
import pytest
from panel_cuts import write_cut
from PyQt6.QtCore import QMimeData, QPointF, QSettings, Qt, QTimer, QUrl
from PyQt6.QtGui import QDropEvent

from lengthen.media.probe import probe
from lengthen.ui.main_window import MainWindow
from lengthen.ui.shot_table import HEAD, TAIL

WAIT = 240_000  # ms: a ceiling for a loaded 2-core machine, never reached in a healthy run


@pytest.fixture
def make_window(qtbot, tmp_path):
    windows = []

    def make(answer: bool = True, size=(1300, 850), **kwargs) -> MainWindow:
        kwargs.setdefault("check_gpu", False)
        w = MainWindow(
            qsettings=QSettings(str(tmp_path / f"panel{len(windows)}.ini"), QSettings.Format.IniFormat), **kwargs
        )
        w.asked = []  # every confirmation the window asked for, answered with ``answer``
        w.confirm = lambda title, text: w.asked.append(title) or answer
        if not kwargs["check_gpu"]:
            w.state.gpu = False  # as on this machine (a test below checks the real probe)
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.shutdown()


def idle(qtbot, window, timeout=WAIT):
    qtbot.waitUntil(lambda: not window.busy(), timeout=timeout)


def open_and_wait(qtbot, window, path):
    window.open_timeline(path)
    idle(qtbot, window)
    assert window.state.timeline_path == Path(path), window.messages
    assert window.state.scan_status == "done", window.messages


def set_cell(window, row: int, col: int, text: str) -> None:
    model = window.table.shots
    assert model.setData(model.index(row, col), text)


def test_panel_workflow_with_characters_preview_and_export(qtbot, make_window, cut):
    """Engine "freeze": the panel's flow is under test, not the engine's quality."""
    w = make_window()
    st = w.state
    open_and_wait(qtbot, w, cut)
    # filmstrip of the selected (first) shot: first and last 3 shown frames, timecodes under them
    assert st.selected == "V1/1"
    assert [f[1] for f in w.filmstrip.frames] == [50, 51, 52, 87, 88, 89]
    assert w.filmstrip.frames[0][2] == "00:00:01:20" and w.filmstrip.frames[0][3].shape[1] == 160
    # characters: the background scan found faces; each shown with its crops
    assert st.cast.banks and w.characters.crop_buttons
    party_media = os.path.abspath(st.rows[0].spec.media)
    in_party = [b for b in st.cast.banks if any(os.path.abspath(s.media) == party_media for s in b.sources)]
    assert in_party
    keep = in_party[0]
    for b in st.cast.banks:  # use one character only, with one reference face fewer
        if b.id != keep.id:
            w.characters.use_boxes[b.id].setChecked(False)
    if len(keep.references) > 1:
        w.characters.crop_buttons[(keep.id, keep.references[-1])].setChecked(False)
    assert st.cast.used == {keep.id} and len(st.cast.bank(keep.id).references) == max(1, len(keep.references) - 1)
    # lengths: party tail 4 frames; console tail in seconds, no head
    set_cell(w, 0, TAIL, "4")
    w.units_action.setChecked(True)
    set_cell(w, 1, TAIL, "0.25")
    set_cell(w, 1, HEAD, "0")
    assert (st.rows[0].spec.tail_frames, st.rows[1].spec.head_frames, st.rows[1].spec.tail_frames) == (4, 0, 6)
    assert not w.table.shots.setData(w.table.shots.index(0, TAIL), "later")  # bad input: refused, shown
    assert "party" in w.messages[-1]
    st.set_engine("freeze")
    st.context_frames = 4  # few context frames keep the identity scoring cheap
    w.run()
    idle(qtbot, w)
    assert [r.status for r in st.rows] == ["done", "done"], w.messages
    party, console = st.rows
    assert [c["id"] for c in party.outcome.report["characters"]] == [keep.id]
    assert probe(party.outcome.generated[0].path).frames == 4
    # preview of the selected shot: 12 source frames then the 4 generated, scores beside it
    st.select("V1/1")
    qtbot.waitUntil(lambda: w.preview.data is not None, timeout=WAIT)
    assert w.preview.data["generated"] == [False] * 12 + [True] * 4 and w.preview.bar.seam == 12
    assert set(w.preview.data["scores"]) == {keep.id}
    assert w.preview.timer.interval() == round(1000 / (30000 / 1001))
    w.preview.play.setChecked(True)
    start = w.preview.index
    qtbot.waitUntil(lambda: w.preview.index != start, timeout=5000)
    w.preview.accept.click()
    assert party.accepted and not console.accepted
    # export what was accepted (and accept the rest on the way) and read it back with plain OTIO
    out = cut.parent / "out" / "cut_ext.otio"
    w.export_to(out, accept_all=True)
    idle(qtbot, w)
    assert w.last_export is not None, w.messages
    result = otio.adapters.read_from_file(str(out))
    generated = [
        c
        for t in result.tracks
        if t.name.startswith("LENGTHEN") and t.kind == otio.schema.TrackKind.Video  # (audio twins beside them)
        for c in t.find_clips()
    ]
    sound = [c for t in result.tracks if t.kind == otio.schema.TrackKind.Audio for c in t.find_clips()]
    assert [(c.metadata["lengthen"]["source_clip"], c.metadata["lengthen"]["kind"]) for c in sound] == [
        ("party", "audio")
    ]
    assert sorted(
        (c.metadata["lengthen"]["source_clip"], c.metadata["lengthen"]["frames_generated"]) for c in generated
    ) == [("console", 6), ("party", 4)]
    for c in generated:
        media = Path(otio.url_utils.filepath_from_url(c.media_reference.target_url))
        assert media.parent == out.parent / "cut_ext_media" and media.is_file()
    assert [c.name for c in result.tracks[0].find_clips()] == ["party", "console"]  # the cut itself untouched
    # closing the panel and reopening the same timeline restores the choices
    w.close()
    w2 = make_window()
    open_and_wait(qtbot, w2, cut)
    r = w2.state.rows
    assert (r[0].spec.tail_frames, r[1].spec.tail_frames, r[0].accepted, r[1].status) == (4, 6, True, "done")
    assert w2.state.cast.used == {keep.id} and w2.state.engine == "freeze"


def test_builtin_run_cancel_then_complete_keeps_gui_responsive(qtbot, make_window, cut):
    """The built-in engine at its smallest preset ("tiny"), one shot, no characters."""
    w = make_window()
    st = w.state
    open_and_wait(qtbot, w, cut)
    for b in list(st.cast.banks):
        st.edit_cast("set_used", b.id, False)
    st.set_engine("builtin")
    st.set_settings(quality="tiny")
    st.context_frames = 17  # what the tiny preset adapts on
    st.set_length("V1/1", "tail", 4)
    st.set_length("V1/2", "head", 0)
    media_dir = st.project_dir / "media"
    stages = []
    w.run()
    assert st.running and w.run_worker is not None
    w.run_worker.signals.event.connect(lambda kind, key, data: kind == "progress" and stages.append(data[0]))
    qtbot.waitUntil(lambda: "adapt" in stages, timeout=WAIT)
    w.cancel()
    idle(qtbot, w)
    assert st.rows[0].status == "cancelled" and not st.running
    assert not media_dir.exists() or list(media_dir.iterdir()) == []  # nothing partial kept
    # again, to completion, while a GUI-thread timer measures how steadily the event loop runs;
    # more adaptation steps so the run lasts long enough to measure on a fast machine too
    st.set_settings(adapt_steps=400)
    ticks = []
    timer = QTimer(interval=20, timeout=lambda: ticks.append(time.monotonic()))
    timer.start()
    worker = w.run()
    idle(qtbot, w)
    timer.stop()
    assert st.rows[0].status == "done", w.messages
    assert worker.thread_ident is not None and worker.thread_ident != threading.get_ident()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    elapsed = ticks[-1] - ticks[0]
    assert elapsed > 1.0 and max(gaps) < 1.0, (elapsed, max(gaps))
    assert len(ticks) > elapsed / 0.02 * 0.3  # at least a third of the ticks a free loop would give
    gen = st.rows[0].outcome.generated[0]
    assert gen.path.parent == media_dir and probe(gen.path).frames == 4
    assert sorted(p.name for p in media_dir.iterdir()) == [gen.path.name]


def test_one_failing_shot_does_not_stop_the_others(qtbot, make_window, testdata, tmp_path):
    """Engine "freeze": the error handling is under test."""
    video = tmp_path / "video"
    video.mkdir()
    for name in ("openmpf__video_01.mp4", "tears_of_steel_clip01.mp4"):
        shutil.copyfile(testdata / "video" / name, video / name)
    cut = write_cut(tmp_path, tmp_path / "edit")  # over the copies (same layout as the shared folder)
    w = make_window()
    # new media, so a new scan: one look per clip, at the frame's own size
    w.state.scan_settings = replace(w.state.scan_settings, sample_fps=0.1, min_face_px=80)
    open_and_wait(qtbot, w, cut)
    st = w.state
    st.set_engine("freeze")
    st.set_length("V1/2", "tail", 2)
    (video / "openmpf__video_01.mp4").write_bytes(b"not a movie any more")
    w.run()
    idle(qtbot, w)
    party, console = st.rows
    assert party.status == "failed" and "party" in party.error
    assert console.status == "done" and console.outcome.generated[0].frames == 2


def test_drop_recent_files_and_screenshot_command(qtbot, make_window, cut, tmp_path, temporary_panel_settings):
    w = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(cut))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    w.dropEvent(event)
    idle(qtbot, w)
    assert w.state.timeline_path == cut
    assert w.qsettings.value("recent") == [str(cut)] and [a.text() for a in w.recent.actions()] == [str(cut)]

    from lengthen.cli import main

    png = tmp_path / "panel.png"
    assert main(["panel", str(cut), "--screenshot", str(png), "--timeout", "240"]) == 0
    # the command kept its recent files in the test's temporary settings, not the user's
    assert QSettings(str(temporary_panel_settings), QSettings.Format.IniFormat).value("recent") == [str(cut)]
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        grey = np.asarray(im.convert("L"))
    assert grey.shape[1] >= 1000 and len(np.unique(grey)) > 50  # a real, non-blank picture


def test_screenshot_with_select_waits_one_timeout_in_all(qtbot, tmp_path, monkeypatch, capsys):
    """Review finding: `panel --screenshot --select` waited up to --timeout before selecting and
    again before the screenshot (twice --timeout). Background work that never ends (stood in for
    by a window that always says it is busy) now gets one --timeout for the whole run."""
    from lengthen.ui import app

    monkeypatch.setattr(MainWindow, "busy", lambda self: True)  # a stuck worker, without leaving one running
    waited = []
    real_wait = app.wait_idle

    def timed_wait(window, timeout):
        start = time.monotonic()
        try:
            return real_wait(window, timeout)
        finally:
            waited.append(time.monotonic() - start)

    monkeypatch.setattr(app, "wait_idle", timed_wait)
    png = tmp_path / "panel.png"
    assert app.run_panel(None, png, timeout=1.0, select="shot") == 1
    assert len(waited) == 2 and sum(waited) < 1.5, waited  # was 2 x 1.0 s
    assert png.is_file() and "background work still running after 1 s" in capsys.readouterr().err
