"""The DaVinci Resolve script, driven with a STAND-IN Resolve object (plain Python classes that
implement the few scripting calls the script makes, recording them); the panel it opens is the
real one, offscreen, and the OTIO files are real."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import opentimelineio as otio
import pytest
from PyQt6.QtCore import QSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
from panel_cuts import write_cut  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "plugin" / "resolve" / "lengthen_resolve.py"


def load_script():
    spec = importlib.util.spec_from_file_location("lengthen_resolve", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class StandInFolder:
    def __init__(self, name):
        self.name, self.subfolders = name, []

    def GetName(self):  # noqa: N802 (Resolve's API names)
        return self.name

    def GetSubFolderList(self):  # noqa: N802
        return self.subfolders


class StandInMediaPool:
    def __init__(self):
        self.root, self.current, self.imported_media, self.imported_timelines = StandInFolder("Master"), None, [], []

    def GetRootFolder(self):  # noqa: N802
        return self.root

    def AddSubFolder(self, parent, name):  # noqa: N802
        folder = StandInFolder(name)
        parent.subfolders.append(folder)
        return folder

    def SetCurrentFolder(self, folder):  # noqa: N802
        self.current = folder
        return True

    def ImportMedia(self, paths):  # noqa: N802
        self.imported_media.append((self.current.GetName(), list(paths)))
        return [object() for _ in paths]

    def ImportTimelineFromFile(self, path, options):  # noqa: N802
        tl = otio.adapters.read_from_file(path)  # what Resolve would read
        self.imported_timelines.append((path, dict(options), tl))
        return StandInTimeline(options["timelineName"], None)


class StandInTimeline:
    def __init__(self, name, source: Path | None):
        self.name, self.source = name, source

    def GetName(self):  # noqa: N802
        return self.name

    def Export(self, path, kind, subtype):  # noqa: N802
        assert (kind, subtype) == (StandInResolve.EXPORT_OTIO, StandInResolve.EXPORT_NONE)
        shutil.copyfile(self.source, path)  # the editor's cut, as Resolve writes it
        return True


class StandInProject:
    def __init__(self, timeline):
        self.timeline, self.pool = timeline, StandInMediaPool()

    def GetCurrentTimeline(self):  # noqa: N802
        return self.timeline

    def SetCurrentTimeline(self, timeline):  # noqa: N802
        self.timeline = timeline
        return True

    def GetMediaPool(self):  # noqa: N802
        return self.pool


class StandInResolve:
    EXPORT_OTIO, EXPORT_NONE = 14, 0  # integer constants, like Resolve's

    def __init__(self, project):
        self.project = project

    def GetProjectManager(self):  # noqa: N802
        resolve = self

        class Manager:
            def GetCurrentProject(self):  # noqa: N802
                return resolve.project

        return Manager()


def test_resolve_round_trip_through_the_panel(qtbot, testdata, tmp_path):
    """Engine "freeze": the hand-off is under test."""
    from lengthen.ui.main_window import MainWindow

    script = load_script()
    cut = write_cut(testdata, tmp_path / "resolve_side")
    resolve = StandInResolve(StandInProject(StandInTimeline("Reel 1 / cut", cut)))
    launched = []

    def panel(timeline: Path, handoff: Path) -> int:  # what `lengthen panel TIMELINE --handoff H` does, in-process
        launched.append(timeline)
        w = MainWindow(qsettings=QSettings(str(tmp_path / "p.ini"), QSettings.Format.IniFormat), handoff=handoff)
        qtbot.addWidget(w)
        w.open_timeline(timeline)
        qtbot.waitUntil(lambda: not w.busy(), timeout=240_000)
        w.state.set_engine("freeze")
        for b in list(w.state.cast.banks):
            w.state.edit_cast("set_used", b.id, False)  # no identity scoring: not under test here
        w.state.set_length("V1/2", "head", 0)  # party keeps its handles-mode tail (12)
        w.run()
        qtbot.waitUntil(lambda: not w.busy(), timeout=240_000)
        w.export_to(timeline.with_name("result.otio"), accept_all=True)
        qtbot.waitUntil(lambda: not w.busy(), timeout=240_000)
        w.close()
        return 0

    assert script.main(resolve, launch=panel, folder=tmp_path / "work") == 0
    assert launched[0].parent == tmp_path / "work" and launched[0].name.startswith("Reel_1_cut_")
    pool = resolve.project.pool
    ((bin_name, media),) = pool.imported_media
    assert (
        bin_name == "lengthen"
        and [Path(m).name for m in media] == ["party_tail_v001.mov"]
        and Path(media[0]).is_file()
    )
    ((path, options, tl),) = pool.imported_timelines
    assert Path(path).name == "result.otio" and options["importSourceClips"] is True
    assert resolve.project.timeline.GetName() == options["timelineName"]
    lengthen_track = [t for t in tl.tracks if t.name == "LENGTHEN"][0]
    assert [c.metadata["lengthen"]["frames_generated"] for c in lengthen_track.find_clips()] == [12]
    handoff = json.loads(launched[0].with_suffix(".handoff.json").read_text())
    assert handoff["source_timeline"] == str(launched[0])


def test_resolve_script_reports_problems(tmp_path, capsys):
    script = load_script()
    resolve = StandInResolve(StandInProject(None))  # no timeline open
    assert script.main(resolve, launch=lambda *_: pytest.fail("must not launch"), folder=tmp_path) == 2
    assert "no timeline is open" in capsys.readouterr().err
    cut = tmp_path / "c.otio"
    otio.adapters.write_to_file(otio.schema.Timeline(name="c"), str(cut))
    resolve = StandInResolve(StandInProject(StandInTimeline("c", cut)))
    assert script.main(resolve, launch=lambda *_: 0, folder=tmp_path) == 1  # panel closed without export
    assert resolve.project.pool.imported_timelines == []


def test_resolve_script_unbundles_an_otioz_result(testdata, tmp_path):
    """Resolve imports .otio, not .otioz: the script extracts the bundle beside itself, rewrites its
    media paths to absolute ones and imports that .otio and the bundled copies of the generated media."""
    script = load_script()
    source = testdata / "video" / "openmpf__video_01_h265_aac.mp4"
    generated = tmp_path / "project" / "party_tail_v001.mov"
    generated.parent.mkdir()
    shutil.copyfile(source, generated)  # stands for a generated file (any real movie will do)
    tl = otio.schema.Timeline(name="result")
    track = otio.schema.Track(name="LENGTHEN")
    for name, path in (("party", source), ("party [lengthen tail]", generated)):
        ref = otio.schema.ExternalReference(target_url=path.resolve().as_uri())
        track.append(otio.schema.Clip(name=name, media_reference=ref, source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(4, 24))))  # fmt: skip
    tl.tracks.append(track)
    bundle = tmp_path / "out" / "result.otioz"
    bundle.parent.mkdir()
    otio.adapters.write_to_file(tl, str(bundle))
    resolve = StandInResolve(StandInProject(StandInTimeline("cut", None)))
    script.import_result(resolve, {"timeline": str(bundle), "media": [str(generated)]}, "cut lengthen")
    ((path, _, imported),) = resolve.project.pool.imported_timelines
    assert Path(path) == tmp_path / "out" / "result_otioz" / "result.otio"
    urls = [c.media_reference.target_url for c in imported.find_clips()]
    files = [Path(otio.url_utils.filepath_from_url(u)) for u in urls]
    assert all(u.startswith("file://") for u in urls) and all(f.is_file() for f in files)
    assert all((tmp_path / "out" / "result_otioz" / "media") in f.parents for f in files)  # the bundled copies
    ((_, media),) = resolve.project.pool.imported_media
    assert [Path(m).name for m in media] == ["party_tail_v001.mov"] and str(files[1]) == media[0]
    # a bundle that would write outside its folder is refused, not extracted
    import zipfile

    evil = tmp_path / "evil.otioz"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../escape.txt", "x")
        z.writestr("content.otio", "{}")
    with pytest.raises(script.ResolveError, match="outside the bundle"):
        script.unbundle(evil)
    assert not (tmp_path / "escape.txt").exists()
