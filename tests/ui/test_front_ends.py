"""The panel and the CLI are skins over the same library calls: for the same footage they find the
same characters, and for the same plan they write the same timeline (track and splice modes)."""

from __future__ import annotations

import json

import opentimelineio as otio
import pytest

from lengthen.cli import main
from lengthen.commands.faces import characters_json
from lengthen.progress import SilentProgress
from lengthen.ui import jobs
from lengthen.ui.project import media_set_key
from lengthen.ui.scanning import scan_ranges
from lengthen.ui.state import PanelState


def _open(path) -> PanelState:
    state = PanelState()
    state.adopt(PanelState.read(path))
    return state


def test_panel_and_faces_command_find_the_same_characters(cut, tmp_path, capsys, monkeypatch):
    # a private cache: another test may already have scanned these clips into the session's cache
    monkeypatch.setenv("LENGTHEN_CACHE", str(tmp_path / "cache"))
    state = _open(cut)
    ranges = scan_ranges(state.doc.clips)
    key = media_set_key(ranges, state.scan_settings)
    banks, warnings, scanned = jobs.load_characters(
        ranges, state.scan_settings, key, tmp_path / "panel_banks", SilentProgress()
    )
    state.close()
    assert scanned and not warnings and banks  # a fresh scan that found people

    capsys.readouterr()
    assert main(["faces", str(cut), "-o", str(tmp_path / "cli_banks"), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli == json.loads(json.dumps(characters_json(banks)))
    # and both looked only at the frames the clips show (party shows media frames 50..89)
    party = [a for c in cli["characters"] for a in c["appearances"] if "video_01" in a["media"]]
    assert party and all(50 <= a["first_frame"] <= a["last_frame"] <= 89 for a in party)


def _normalised(path, media_dir) -> dict:
    """The written timeline as JSON, with its media folder's name taken out."""
    text = otio.adapters.read_from_file(str(path)).to_json_string()
    return json.loads(text.replace(str(media_dir), "<media>").replace(media_dir.name, "<media>"))


@pytest.mark.parametrize("splice", [False, True], ids=["track", "splice"])
def test_panel_export_writes_what_the_timeline_command_writes(cut, tmp_path, splice):
    cli_out = tmp_path / "cli.otio"
    argv = ["timeline", str(cut), "-o", str(cli_out), "--engine", "freeze", "--no-faces", "--codec", "h264"]
    assert main(argv + (["--splice"] if splice else [])) == 0

    state = _open(cut)  # the panel's defaults: handles 12, as the command's
    state.set_engine("freeze")
    state.codec = "h264"
    items = state.run_items()
    assert [i.spec for i in items] == [s for s in state.plan.to_render]
    events = []
    counts = jobs.run_shots(items, SilentProgress(), lambda kind, clip_id, *data: events.append((kind, clip_id, data)))
    assert counts == {"done": len(items), "failed": 0}
    for kind, clip_id, data in events:
        if kind == "done":
            state.shot_done(clip_id, data[0])
            state.accept(clip_id)
    panel_out = tmp_path / "panel.otio"
    result = jobs.export_result(
        state.doc, state.plan, state.outcomes_for_export(), panel_out, splice=splice, codec=state.codec
    )
    state.close()
    assert result["timeline"] == str(panel_out) and result["media"]

    cli = _normalised(cli_out, tmp_path / "cli_media")
    panel = _normalised(panel_out, tmp_path / "panel_media")
    assert panel == cli
    assert ("lengthen" in json.dumps(cli)) and (cli != _normalised(cut, tmp_path / "none"))
