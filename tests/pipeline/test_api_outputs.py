"""The API's output check (write_extended_timeline, extend_timeline) refuses what
guards.check_output_file refuses, in the same words: one check, one wording (review finding)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))

from builders import media_clip, timeline, track, write  # noqa: E402

from lengthen.api import check_output, extend_timeline, open_plan, write_extended_timeline  # noqa: E402
from lengthen.config import ExtendRequest  # noqa: E402
from lengthen.errors import TimelineError, UsageError  # noqa: E402
from lengthen.guards import check_output_file  # noqa: E402
from lengthen.media.synthetic import stamped_clip  # noqa: E402


@pytest.fixture
def cut(tmp_path) -> Path:
    media = stamped_clip(tmp_path / "shot.mp4", 20, rate="24", size=(64, 96))
    return write(timeline("cut", [track("V1", [media_clip("shot", media, 2, 10)])], 24), tmp_path / "cut.otio")


def _guards_words(out, source) -> str:
    with pytest.raises(UsageError) as exc:
        check_output_file(out, "output timeline", protect=[source])
    return str(exc.value)


def test_the_api_refuses_outputs_in_the_guards_words(cut, tmp_path):
    existing = tmp_path / "old.otio"
    existing.write_text("{}")
    folder = tmp_path / "folder.otio"
    folder.mkdir()
    (tmp_path / "afile").write_text("x")
    blocked = tmp_path / "afile" / "out.otio"  # its folder cannot be made: a file is in the way
    for out in (existing, cut, folder, blocked):
        with pytest.raises(UsageError) as exc:
            check_output(out, cut)
        assert str(exc.value) == _guards_words(out, cut), out
    assert "the output timeline exists; refusing to overwrite" in _guards_words(existing, cut)
    assert "would overwrite an input file" in _guards_words(cut, cut)
    with pytest.raises(TimelineError, match="no installed OTIO adapter"):
        check_output(existing.with_suffix(".nosuchformat"), cut)  # the format is still checked first
    assert existing.read_text() == "{}" and folder.is_dir()


def test_write_and_extend_timeline_refuse_before_any_work(cut, tmp_path):
    existing = tmp_path / "old.otio"
    existing.write_text("{}")
    doc, plan = open_plan(cut, tail="4")
    with doc:
        with pytest.raises(UsageError, match="the output timeline exists"):
            write_extended_timeline(doc, plan, [], existing)
        request = ExtendRequest(engine="freeze", scan_faces=False)
        with pytest.raises(UsageError, match="would overwrite an input file"):
            extend_timeline(doc, plan, request, cut)
    assert existing.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.otio", "old.otio", "shot.mp4"]
