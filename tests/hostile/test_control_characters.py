"""File names holding control characters or ANSI escapes are printed escaped by every per-file line
(errors on stderr through ``commands.say``, and the paths of the human tables on stdout), so a
hostile name can neither split a line nor drive the terminal (review finding)."""

from __future__ import annotations

import shutil

from hostile_world import run_in_process

from lengthen.errors import MediaError, printable

# ESC [ 31 m (colour), ESC ] 0 ; ... BEL (window title), 0x9b (the one-byte CSI of C1), a newline
HOSTILE = "a\x1b[31mb\x1b]0;pwned\x07c\x9b2Jd\ne"
FREEZE = ["--engine", "freeze", "--no-faces"]
RAW = ("\x1b", "\x07", "\x9b")


def _assert_escaped(result, *names):
    shown = result.out + result.err
    for raw in RAW:
        assert raw not in shown, repr(shown)
    for name in names:
        assert printable(name) in shown, shown


def test_printable_escapes_c0_del_and_c1_controls_and_keeps_other_scripts():
    assert printable("é\x1b[2Jü\x7f\x9bß") == "é\\x1b[2Jü\\x7f\\x9bß"
    assert printable("Zoë 北京") == "Zoë 北京"
    assert "\x9b" not in str(MediaError("x", path="clip\x9b.mp4"))


def test_probe_prints_a_hostile_name_escaped(world, tmp_path):
    shutil.copy(world.clip, tmp_path / f"{HOSTILE}.mp4")
    r = run_in_process(["probe", f"{HOSTILE}.mp4", f"missing{HOSTILE}.mp4"], tmp_path)
    assert r.code == 1, r.err  # one probed (its path is the first line of the table), one not found
    _assert_escaped(r, f"{HOSTILE}.mp4", f"missing{HOSTILE}.mp4")
    assert len(r.err.splitlines()) == 1


def test_verify_prints_a_hostile_name_escaped(world, tmp_path):
    shutil.copy(world.clip, tmp_path / f"{HOSTILE}.mp4")
    r = run_in_process(["verify", f"{HOSTILE}.mp4", f"missing{HOSTILE}.mp4"], tmp_path)
    assert r.code == 2, r.err  # one without credentials (1), one missing (2)
    _assert_escaped(r, f"{HOSTILE}.mp4", f"missing{HOSTILE}.mp4")
    assert "no Content Credentials" in r.out


def test_embed_prints_a_hostile_name_escaped(world, tmp_path):
    shutil.copy(world.face, tmp_path / f"{HOSTILE}.png")
    r = run_in_process(["embed", f"{HOSTILE}.png", f"missing{HOSTILE}.png"], tmp_path)
    assert r.code == 1, r.err
    _assert_escaped(r, f"missing{HOSTILE}.png")
    assert printable(f"{HOSTILE}.png")[-40:] in r.out  # the table's image column (its last 40 characters)


def test_faces_prints_hostile_names_escaped(world, tmp_path):
    shutil.copy(world.clip, tmp_path / f"{HOSTILE}.mp4")
    out = f"cast{HOSTILE}"
    r = run_in_process(["faces", f"{HOSTILE}.mp4", f"missing{HOSTILE}.mp4", "-o", out, "--sample-fps", "2"], tmp_path)
    assert r.code == 1, r.err  # one input not found, the other scanned and written
    _assert_escaped(r, f"missing{HOSTILE}.mp4", out)  # the error line and the summary line naming DIR
    assert (tmp_path / out / "characters.json").is_file()


def test_extend_and_timeline_lines_name_a_hostile_file_escaped(world, tmp_path):
    shutil.copy(world.clip, tmp_path / f"{HOSTILE}.mp4")  # 30 frames: with --range 5:20 the tail exists
    r = run_in_process(["extend", f"{HOSTILE}.mp4", "--range", "5:20", "--tail", "4f", *FREEZE, "-o", "out"], tmp_path)
    assert r.code == 0, r.err
    assert "used as they are" in r.err and "nothing to generate" in r.out
    _assert_escaped(r, f"{HOSTILE}.mp4")
    assert not (tmp_path / "out").exists()
