"""`lengthen doctor` checks what the panel needs to start (issue 22): the Qt platform plugins
and their system libraries, and prints the exact install line for what is missing."""

from __future__ import annotations

import json

from lengthen.cli import main
from lengthen.commands.doctor import apt_package, missing_libraries, qt_panel_check

LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PyQt6/Qt6/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
"""


def test_missing_libraries_and_their_packages():
    assert missing_libraries(LDD) == ["libxcb-icccm.so.4", "libxkbcommon-x11.so.0", "libxcb-keysyms.so.1"]
    assert [apt_package(s) for s in missing_libraries(LDD)] == [
        "libxcb-icccm4",
        "libxkbcommon-x11-0",
        "libxcb-keysyms1",
    ]
    assert apt_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert apt_package("libEGL.so.1") == "libegl1" and apt_package("libglib-2.0.so.0") == "libglib2.0-0"


def test_doctor_reports_the_panel_with_the_install_line(capsys):
    qt = qt_panel_check()
    main(["doctor", "--json"])
    (entry,) = [r for r in json.loads(capsys.readouterr().out) if r["check"].startswith("panel")]
    assert entry["ok"] == qt["ok"] and entry["required"] is False
    if qt["ok"]:  # this machine has every library: nothing to install
        assert qt["missing"] == [] and entry["install"] is None
    else:  # the exact line names the package of every missing library
        assert entry["install"] == qt["install"] and qt["install"].startswith("sudo apt-get install -y ")
        assert set(qt["install"].split()[4:]) == {apt_package(m) for m in qt["missing"]}
        main(["doctor"])
        out = capsys.readouterr().out
        assert f"to fix panel (Qt platform plugin and its libraries): {qt['install']}" in out


def test_panel_says_what_to_install_instead_of_aborting(monkeypatch, capsys):
    """Where the xcb plugin lacks libraries, `lengthen panel` names them and the apt-get line
    (Qt itself would abort). An X display cannot run here: DISPLAY is set for the check only, and
    the check's answer is the one `doctor` gives on a machine without libxcb-cursor0."""
    from lengthen.commands import doctor

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(
        doctor,
        "qt_panel_check",
        lambda: {
            "ok": False,
            "detail": "",
            "missing": ["libxcb-cursor.so.0"],
            "install": "sudo apt-get install -y libxcb-cursor0",
        },
    )
    assert main(["panel"]) != 0
    err = capsys.readouterr().err
    assert "libxcb-cursor.so.0" in err and "sudo apt-get install -y libxcb-cursor0" in err
    assert len(err.strip().splitlines()) == 1


def test_panel_refuses_an_impossible_window_size_or_timeout_in_one_line(tmp_path, capsys):
    png = tmp_path / "p.png"
    for argv, says in (
        (["--size", "0x700"], "--size takes WIDTHxHEIGHT in pixels, e.g. 1024x700, not '0x700'"),
        (["--size=-5x10"], "--size takes WIDTHxHEIGHT in pixels, e.g. 1024x700, not '-5x10'"),
        (["--timeout", "-1"], "argument --timeout: must be a positive number, got '-1'"),
        (["--timeout", "nan"], "argument --timeout: must be a positive number, got 'nan'"),
    ):
        assert main(["panel", "--screenshot", str(png), *argv]) == 2
        assert capsys.readouterr().err.strip() == f"lengthen panel: error: {says}"
    assert not png.exists()
