"""fsutil's atomic folder swap names its temporary folder like every other partial output."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lengthen.errors import Interrupted
from lengthen.fsutil import atomic_dir, partial_name

# partial_name("take.v2"): '.{stem}.xxxxxxxx.partial{suffix}'
PARTIAL = re.compile(r"^\.take\.[0-9a-f]{8}\.partial\.v2$")


def test_partial_name_is_the_one_temporary_form(tmp_path):
    assert PARTIAL.match(partial_name(tmp_path / "take.v2").name)
    assert partial_name(tmp_path / "a.mov").name.endswith(".partial.mov")


def test_a_killed_atomic_dir_leaves_a_partial_name_and_the_old_folder(tmp_path):
    """Review finding: atomic_dir built its temporary name by hand ('.{name}.xxxxxxxx.partial').
    A process killed inside it (no clean-up runs) leaves the same hidden '.partial' form the media
    writer and atomic_path leave, and the folder it was replacing untouched."""
    target = tmp_path / "take.v2"
    target.mkdir()
    (target / "bank.json").write_text("old")
    code = (
        "import sys, time\n"
        "from lengthen.fsutil import atomic_dir\n"
        "with atomic_dir(sys.argv[1]) as tmp:\n"
        "    (tmp / 'bank.json').write_text('new')\n"
        "    print(tmp.name, flush=True)\n"
        "    time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        name = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert PARTIAL.match(name), name
    (left,) = tmp_path.glob(".*partial*")  # what the project's leftover checks look for
    assert left.name == name and (target / "bank.json").read_text() == "old"


@pytest.mark.parametrize("stop", [Interrupted, RuntimeError])
def test_an_interrupted_atomic_dir_removes_its_temporary_folder(tmp_path, stop):
    target = tmp_path / "take.v2"
    target.mkdir()
    (target / "bank.json").write_text("old")
    seen = []
    with pytest.raises(stop):
        with atomic_dir(target) as tmp:
            seen.append(tmp)
            (tmp / "bank.json").write_text("new")
            raise Interrupted(signal.SIGINT, "SIGINT") if stop is Interrupted else stop("failed half-way")
    assert PARTIAL.match(seen[0].name) and sorted(tmp_path.iterdir()) == [target]
    assert (target / "bank.json").read_text() == "old"
    with atomic_dir(target) as tmp:
        (tmp / "bank.json").write_text("new")
    assert (target / "bank.json").read_text() == "new" and sorted(tmp_path.iterdir()) == [target]
