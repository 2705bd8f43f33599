"""The error policy at the top of the CLI (README "What lengthen promises"): one line per error,
exit codes, crash logs for bugs, and every stop signal cleaning up what the run created."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from lengthen.cli import EXIT_BUG, main
from lengthen.media.synthetic import stamped_clip


def _cli(*args, cwd=None, env=None, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "lengthen", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_stop_signals_clean_up_everything_the_run_created(tmp_path, signame):
    # A run long enough (ProRes encode of 120 frames, about 2 s) that the signal lands while the media
    # file is being written: the partial file, the folders and everything else the run made must go.
    clip = stamped_clip(tmp_path / "big.mp4", 12, rate="24", size=(192, 320))
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = _cli("extend", str(clip), "--tail", "120f", "--engine", "freeze", "--no-faces", "-o", "out", cwd=tmp_path)
    deadline = time.monotonic() + 60
    partial = []
    while time.monotonic() < deadline and not partial:  # wait until the media file is being written
        partial = list((tmp_path / "out" / "media").glob(".*partial*")) if (tmp_path / "out").exists() else []
        time.sleep(0.02)
    assert partial, f"the run never started writing media (exit {proc.poll()})"
    sig = getattr(signal, signame)
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - a hang is the failure we test for
        proc.kill()
        raise
    assert proc.returncode == 128 + sig
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("lengthen")]
    assert lines == [f"lengthen extend: stopped by {signame}; nothing partial was kept"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # out/ and everything in it removed


def test_a_bug_is_one_line_and_a_crash_log(tmp_path, monkeypatch, capsys):
    # A bug cannot be produced on purpose in correct code, so this replaces one command's run with
    # one that divides by zero; everything around it (parsing, policy, crash log) is the real CLI.
    import lengthen.commands.probe as probe_cmd

    monkeypatch.setenv("LENGTHEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(probe_cmd, "run", lambda args: 1 // 0)
    assert main(["probe", "whatever.mp4"]) == EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "internal error (a bug in lengthen: ZeroDivisionError)" in err
    logs = list((tmp_path / "cache" / "crash").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    text = logs[0].read_text()
    assert "Traceback" in text and "ZeroDivisionError" in text and "'probe'" in text


def test_a_bug_in_a_subprocess_logs_even_with_an_unusable_cache(tmp_path):
    code = (
        "import lengthen.commands.probe as p, sys\n"
        "p.run = lambda a: [][1]\n"
        "from lengthen.cli import main\n"
        "sys.exit(main(['probe', 'x.mp4']))\n"
    )
    blocker = tmp_path / "file"
    blocker.write_text("x")
    env = {**os.environ, "LENGTHEN_CACHE": str(blocker / "cache"), "TMPDIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == EXIT_BUG
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    logs = list(tmp_path.glob("crash-*.log"))
    assert len(logs) == 1 and "IndexError" in logs[0].read_text()


def test_bad_command_line_is_one_line_naming_the_command(capsys):
    assert main(["extend", "--context", "x", "clip.mp4"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "lengthen extend: error: argument --context: not a whole number: 'x'"


def test_help_and_version_still_exit_zero(capsys):
    assert main(["--version"]) == 0
    assert main(["probe", "--help"]) == 0
    assert "usage: lengthen probe" in capsys.readouterr().out


def test_signal_handlers_are_restored_after_a_run(tmp_path):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    main(["probe", str(tmp_path / "missing.mp4")])
    assert {s: signal.getsignal(s) for s in before} == before


def test_the_panel_session_keeps_its_outputs_and_default_signals(tmp_path, monkeypatch, capsys):
    # The panel (a Qt session of hours) cannot be driven to an error here without a screen session,
    # so its run() is replaced by one that writes an output through the shared writer and fails;
    # the CLI around it is real: its outputs are not rolled back, SIGTERM is the default.
    import lengthen.commands.panel as panel_cmd
    from lengthen.errors import UsageError
    from lengthen.fsutil import atomic_write_text

    seen = {}

    def run(args):
        seen["sigterm"] = signal.getsignal(signal.SIGTERM)
        atomic_write_text(tmp_path / "made" / "export.otio", "{}")
        raise UsageError("closed with an error")

    monkeypatch.setattr(panel_cmd, "run", run)
    assert main(["panel"]) == 2
    assert seen["sigterm"] == signal.SIG_DFL
    assert (tmp_path / "made" / "export.otio").read_text() == "{}"
    assert capsys.readouterr().err.strip() == "lengthen panel: error: closed with an error"
