"""A catalogue of hostile inputs across all nine commands (issue 15).

Each case runs the real CLI (in-process through ``lengthen.cli.main`` with captured stdout/stderr,
or as a subprocess with a timeout where a hang, a crash or a FIFO is the risk) in a fresh folder
with its own hostile inputs, and asserts: the exit code; one error line naming the object; no
traceback; nothing left behind (the folder holds exactly what it held before the run); the inputs
unchanged (the shared good inputs too).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from dataclasses import dataclass, field
from typing import Callable

import pytest
from hostile_world import png_header_only, run_in_process, run_subprocess, snapshot, write_cut

FREEZE = ["--engine", "freeze", "--no-faces"]


@dataclass
class Case:
    id: str
    argv: Callable  # (world, dir) -> list of arguments after "lengthen"
    code: int
    names: str | Callable  # text the error line must contain (usually the file, clip or option)
    setup: Callable | None = None  # (world, dir) -> None: makes this case's hostile inputs in dir
    sub: bool = False  # run as a subprocess (FIFOs, devices, deep JSON: a hang or a crash is the risk)
    env: dict = field(default_factory=dict)


CASES: list[Case] = []


def case(*args, **kw):
    CASES.append(Case(*args, **kw))


# ---- hostile input makers (each writes into the case's own folder) ------------------------------


def fifo(name):
    return lambda w, d: os.mkfifo(d / name)


def text(name, content):
    def make(w, d):
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(content if isinstance(content, str) else json.dumps(content))

    return make


def both(*makers):
    def make(w, d):
        for m in makers:
            m(w, d)

    return make


def nested(depth, kind="array"):
    return ("[" * depth + "]" * depth) if kind == "array" else ('{"a":' * depth + "1" + "}" * depth)


def sock(name):
    def make(w, d):
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(d / name))
        s.close()

    return make


def file_at(name, content="x"):
    return text(name, content)


def cut_with(media, name="cut.otio", **kw):
    def make(w, d):
        shutil.copy(w.clip, d / "shot.mp4")
        write_cut(d / name, media, **kw)

    return make


def otio_with_duration(value, name="cut.otio"):
    def make(w, d):
        doc = json.loads(w.cut.read_text())
        clip = doc["tracks"]["children"][0]["children"][0]
        clip["source_range"]["duration"]["value"] = value
        shutil.copy(w.clip, d / "shot.mp4")
        (d / name).write_text(json.dumps(doc, allow_nan=True))

    return make


def cut_in_subfolder(media):
    """cut/cut.otio whose clip points at ``media`` (relative to cut/), the clip itself beside cut/."""

    def make(w, d):
        shutil.copy(w.clip, d / "shot.mp4")
        (d / "cut").mkdir()
        write_cut(d / "cut" / "cut.otio", media)

    return make


def bank_copy(edit_bank=None, edit_set=None, victim=True):
    """A copy of the good bank set, with bank.json / characters.json edited, and a victim folder
    beside it that an escaping id would destroy."""

    def make(w, d):
        shutil.copytree(w.banks, d / "banks")
        if victim:
            (d / "victim").mkdir()
            (d / "victim" / "precious.txt").write_text("do not delete")
        if edit_bank:
            p = d / "banks" / "char_001" / "bank.json"
            doc = json.loads(p.read_text())
            edit_bank(doc, d)
            p.write_text(json.dumps(doc, allow_nan=True))
        if edit_set:
            p = d / "banks" / "characters.json"
            doc = json.loads(p.read_text())
            edit_set(doc, d)
            p.write_text(json.dumps(doc))

    return make


def set_key(key, value):
    def edit(doc, d):
        doc[key] = value(d) if callable(value) else value

    return edit


def set_face(key, value):
    def edit(doc, d):
        doc["faces"][0][key] = value

    return edit


def nan_embeddings(w, d):
    from safetensors.numpy import load_file, save_file

    st = d / "banks" / "char_001" / "embeddings.safetensors"
    emb = load_file(str(st))["embeddings"]
    emb[0, 0] = float("nan")
    save_file({"embeddings": emb}, str(st))


def spec(content):
    return text("spec.json", content)


def spec_clip(**entry):
    return spec({"schema": "lengthen.spec", "version": 1, "clips": [{"clip": "shot0", **entry}]})


# ---- probe -------------------------------------------------------------------------------------
case("probe-missing", lambda w, d: ["probe", "nope.mp4"], 2, "nope.mp4")
case("probe-directory", lambda w, d: ["probe", d], 2, "directory")
case("probe-empty", lambda w, d: ["probe", "empty.mp4"], 2, "empty.mp4", text("empty.mp4", ""))
case("probe-text-as-video", lambda w, d: ["probe", w.text], 2, "notes.mp4")
case("probe-fifo", lambda w, d: ["probe", "f.mp4"], 2, "FIFO", fifo("f.mp4"), sub=True)
case("probe-dev-zero", lambda w, d: ["probe", "/dev/zero"], 2, "/dev/zero", sub=True)
case("probe-dev-urandom", lambda w, d: ["probe", "/dev/urandom"], 2, "/dev/urandom", sub=True)
case("probe-socket", lambda w, d: ["probe", "s.mp4"], 2, "socket", sock("s.mp4"))
case("verify-directory", lambda w, d: ["verify", d], 2, "is a directory")  # not "file not found" (review finding)
case("verify-fifo", lambda w, d: ["verify", "f.mov"], 2, "FIFO", fifo("f.mov"), sub=True)
case("verify-missing", lambda w, d: ["verify", "nope.mov"], 2, "nope.mov: file not found")
case("probe-name-300-chars", lambda w, d: ["probe", "x" * 300 + ".mp4"], 2, "too long")
case("probe-newline-in-name", lambda w, d: ["probe", "bad\nname.mp4"], 2, "bad\\nname.mp4")
case("probe-truncated-faststart", lambda w, d: ["probe", w.truncated], 2, "truncated")
case("probe-one-bad-of-two", lambda w, d: ["probe", w.clip, "nope.mp4"], 1, "nope.mp4")
case(
    "probe-symlink-loop",
    lambda w, d: ["probe", "loop.mp4"],
    2,
    "loop.mp4",
    lambda w, d: os.symlink("loop.mp4", d / "loop.mp4"),
)
case("probe-bad-option", lambda w, d: ["probe", "--frames", w.clip], 2, "--frames")

# ---- extend ------------------------------------------------------------------------------------
case("extend-missing-clip", lambda w, d: ["extend", "nope.mp4", "--tail", "4f", *FREEZE], 2, "nope.mp4")
case(
    "extend-fifo-clip", lambda w, d: ["extend", "f.mov", "--tail", "4f", *FREEZE], 2, "f.mov", fifo("f.mov"), sub=True
)
case("extend-directory-clip", lambda w, d: ["extend", d, "--tail", "4f", *FREEZE], 2, "directory")
case("extend-text-clip", lambda w, d: ["extend", w.text, "--tail", "4f", *FREEZE], 2, "notes.mp4")
case("extend-nothing-to-do", lambda w, d: ["extend", w.clip, *FREEZE], 2, "--tail")
case("extend-tail-zero", lambda w, d: ["extend", w.clip, "--tail", "0", *FREEZE], 2, "--tail")
case("extend-tail-negative", lambda w, d: ["extend", w.clip, "--tail=-5f", *FREEZE], 2, "-5f")
case("extend-tail-words", lambda w, d: ["extend", w.clip, "--tail", "lots", *FREEZE], 2, "lots")
case("extend-tail-fraction-frames", lambda w, d: ["extend", w.clip, "--tail", "1.5f", *FREEZE], 2, "1.5f")
case("extend-tail-nan-seconds", lambda w, d: ["extend", w.clip, "--tail", "nans", *FREEZE], 2, "nans")
case(
    "extend-tail-100000f-memory",
    lambda w, d: ["extend", w.clip, "--tail", "100000f", *FREEZE],
    2,
    "memory",
    env={"LENGTHEN_MEMORY_LIMIT": "1G"},
)
case("extend-tail-1e12s", lambda w, d: ["extend", w.clip, "--tail", "1000000000000s", *FREEZE], 2, "memory")
case("extend-range-reversed", lambda w, d: ["extend", w.clip, "--range", "9:2", "--tail", "4f", *FREEZE], 2, "9:2")
case("extend-range-past-end", lambda w, d: ["extend", w.clip, "--range", "0:999", "--tail", "4f", *FREEZE], 2, "999")
case("extend-range-words", lambda w, d: ["extend", w.clip, "--range", "a:b", "--tail", "4f", *FREEZE], 2, "a:b")
case(
    "extend-context-negative", lambda w, d: ["extend", w.clip, "--context=-5", "--tail", "4f", *FREEZE], 2, "--context"
)
case("extend-context-zero", lambda w, d: ["extend", w.clip, "--context", "0", "--tail", "4f", *FREEZE], 2, "--context")
case(
    "extend-candidates-zero",
    lambda w, d: ["extend", w.clip, "--candidates", "0", "--tail", "4f", *FREEZE],
    2,
    "--candidates",
)
case(
    "extend-identity-nan",
    lambda w, d: ["extend", w.clip, "--identity-strength", "nan", "--tail", "4f", *FREEZE],
    2,
    "--identity-strength",
)
case("extend-steps-negative", lambda w, d: ["extend", w.clip, "--steps=-3", "--tail", "4f", *FREEZE], 2, "--steps")
case(
    "extend-unknown-engine",
    lambda w, d: ["extend", w.clip, "--tail", "4f", "--engine", "nosuch", "--no-faces"],
    2,
    "nosuch",
)
case("extend-unknown-codec", lambda w, d: ["extend", w.clip, "--tail", "4f", "--codec", "gif", *FREEZE], 2, "--codec")
case(
    "extend-output-is-file",
    lambda w, d: ["extend", w.clip, "--tail", "4f", *FREEZE, "-o", "taken"],
    2,
    "taken",
    file_at("taken"),
)
case("extend-output-is-input", lambda w, d: ["extend", w.clip, "--tail", "4f", *FREEZE, "-o", w.clip], 2, "shot.mp4")
case(
    "extend-output-under-file",
    lambda w, d: ["extend", w.clip, "--tail", "4f", *FREEZE, "-o", "taken/out"],
    2,
    "taken",
    file_at("taken"),
)
case(
    "extend-output-in-proc",
    lambda w, d: ["extend", w.clip, "--tail", "4f", *FREEZE, "-o", "/proc/lengthen-out"],
    2,
    "/proc/lengthen-out",
)
case(
    "extend-media-folder-is-file",
    lambda w, d: ["extend", w.clip, "--tail", "4f", *FREEZE, "-o", "out"],
    2,
    "media",
    file_at("out/media"),
)
case(
    "extend-banks-missing",
    lambda w, d: ["extend", w.clip, "--tail", "4f", "--engine", "freeze", "--banks", "nob"],
    2,
    "nob",
)
case(
    "extend-banks-escaping-id",
    lambda w, d: ["extend", w.clip, "--tail", "4f", "--engine", "freeze", "--banks", "banks"],
    2,
    "../victim",
    bank_copy(set_key("id", "../victim")),
)
case(
    "extend-ref-no-equals",
    lambda w, d: ["extend", w.clip, "--tail", "4f", "--engine", "freeze", "--ref", "Ann"],
    2,
    "Ann",
)
case(
    "extend-ref-missing-photo",
    lambda w, d: ["extend", w.clip, "--tail", "4f", "--engine", "freeze", "--ref", "Ann=no.jpg"],
    2,
    "no.jpg",
)
case(
    "extend-ref-fifo-photo",
    lambda w, d: ["extend", w.clip, "--tail", "4f", "--engine", "freeze", "--ref", "Ann=f.png"],
    2,
    "f.png",
    fifo("f.png"),
    sub=True,
)
case("extend-truncated-clip", lambda w, d: ["extend", w.truncated, "--tail", "4f", *FREEZE], 2, "truncated")
case(
    "extend-quality-bogus",
    lambda w, d: ["extend", w.clip, "--tail", "4f", "--quality", "ultra", *FREEZE],
    2,
    "--quality",
)

# ---- timeline ----------------------------------------------------------------------------------
case("timeline-missing", lambda w, d: ["timeline", "nope.otio", "-o", "new.otio", *FREEZE], 2, "nope.otio")
case(
    "timeline-fifo",
    lambda w, d: ["timeline", "f.otio", "-o", "new.otio", *FREEZE],
    2,
    "f.otio",
    fifo("f.otio"),
    sub=True,
)
case("timeline-output-is-input", lambda w, d: ["timeline", w.cut, "-o", w.cut, *FREEZE], 2, "cut.otio")
case(
    "timeline-output-exists",
    lambda w, d: ["timeline", w.cut, "-o", "new.otio", *FREEZE],
    2,
    "new.otio",
    file_at("new.otio"),
)
case(
    "timeline-output-is-folder",
    lambda w, d: ["timeline", w.cut, "-o", "new.otio", *FREEZE],
    2,
    "new.otio",
    file_at("new.otio/x"),
)
case("timeline-output-unknown-format", lambda w, d: ["timeline", w.cut, "-o", "new.foo", *FREEZE], 2, "new.foo")
case("timeline-output-edl-two-tracks", lambda w, d: ["timeline", w.cut2, "-o", "new.edl", *FREEZE], 2, "new.edl")
case(
    "timeline-media-folder-is-file",
    lambda w, d: ["timeline", w.cut, "-o", "new.otio", *FREEZE],
    2,
    "new_media",
    file_at("new_media"),
)
case("timeline-output-in-proc", lambda w, d: ["timeline", w.cut, "-o", "/proc/new.otio", *FREEZE], 2, "/proc")
case(
    "timeline-output-under-file",
    lambda w, d: ["timeline", w.cut, "-o", "taken/new.otio", *FREEZE],
    2,
    "taken",
    file_at("taken"),
)
case(
    "timeline-nested-50000",
    lambda w, d: ["timeline", "deep.otio", "-o", "new.otio", *FREEZE],
    2,
    "deep.otio",
    text("deep.otio", nested(50000)),
    sub=True,
)
case(
    "timeline-nested-objects-20000",
    lambda w, d: ["timeline", "deep.otio", "-o", "new.otio", *FREEZE],
    2,
    "deep.otio",
    text("deep.otio", nested(20000, "object")),
    sub=True,
)
case(
    "timeline-empty-object",
    lambda w, d: ["timeline", "e.otio", "-o", "new.otio", *FREEZE],
    2,
    "e.otio",
    text("e.otio", "{}"),
)
case(
    "timeline-null",
    lambda w, d: ["timeline", "n.otio", "-o", "new.otio", *FREEZE],
    2,
    "n.otio",
    text("n.otio", "null"),
)
case(
    "timeline-nan-duration",
    lambda w, d: ["timeline", "cut.otio", "-o", "new.otio", *FREEZE],
    2,
    "cut.otio",
    otio_with_duration(float("nan")),
)
case(
    "timeline-1e308-duration",
    lambda w, d: ["timeline", "cut.otio", "-o", "new.otio", *FREEZE],
    2,
    "cut.otio",
    otio_with_duration(1e308),
)
case(
    "timeline-otioz-not-zip",
    lambda w, d: ["timeline", "c.otioz", "-o", "new.otio", *FREEZE],
    2,
    "c.otioz",
    text("c.otioz", "not a zip"),
)
case(
    "timeline-spec-skip-string",
    lambda w, d: ["timeline", w.cut, "--spec", "spec.json", "-o", "new.otio", *FREEZE],
    2,
    "skip",
    spec_clip(skip="false"),
)
case("timeline-handles-negative", lambda w, d: ["timeline", w.cut, "--handles=-3", "-o", "new.otio", *FREEZE], 2, "-3")
case("timeline-rate-zero", lambda w, d: ["timeline", w.cut, "--rate", "0", "-o", "new.otio", *FREEZE], 2, "0")
case(
    "timeline-memory",
    lambda w, d: ["timeline", w.cut, "--tail", "100000f", "-o", "new.otio", *FREEZE],
    2,
    "memory",
    env={"LENGTHEN_MEMORY_LIMIT": "1G"},
)

# ---- plan --------------------------------------------------------------------------------------
case("plan-missing", lambda w, d: ["plan", "nope.otio"], 2, "nope.otio")
case("plan-directory-named-otio", lambda w, d: ["plan", "dir.otio"], 2, "dir.otio", file_at("dir.otio/x"))
case("plan-nested-1000", lambda w, d: ["plan", "deep.otio"], 2, "deep.otio", text("deep.otio", nested(1000)))
case(
    "plan-nested-12000-objects",
    lambda w, d: ["plan", "deep.otio"],
    2,
    "deep.otio",
    text("deep.otio", nested(12000, "object")),
)
case("plan-not-json", lambda w, d: ["plan", "bad.otio"], 2, "bad.otio", text("bad.otio", "{not json"))
case(
    "plan-binary",
    lambda w, d: ["plan", "bin.otio"],
    2,
    "bin.otio",
    lambda w, d: (d / "bin.otio").write_bytes(os.urandom(512)),
)
case(
    "plan-tracks-null",
    lambda w, d: ["plan", "t.otio"],
    2,
    "t.otio",
    text("t.otio", {"OTIO_SCHEMA": "Timeline.1", "tracks": None}),
)
case("plan-list", lambda w, d: ["plan", "l.otio"], 2, "l.otio", text("l.otio", "[1, 2]"))
case("plan-media-climbs-out", lambda w, d: ["plan", "cut/cut.otio"], 1, "../shot.mp4", cut_in_subfolder("../shot.mp4"))
case(
    "plan-media-is-fifo",
    lambda w, d: ["plan", "cut.otio"],
    1,
    "f.mp4",
    both(fifo("f.mp4"), lambda w, d: write_cut(d / "cut.otio", "f.mp4")),
    sub=True,
)
case("plan-handles-and-head", lambda w, d: ["plan", w.cut, "--handles", "3", "--head", "2"], 2, "--handles")
case("plan-head-words", lambda w, d: ["plan", w.cut, "--head", "lots"], 2, "lots")
case("plan-spec-missing", lambda w, d: ["plan", w.cut, "--spec", "nope.json"], 2, "nope.json")
case("plan-spec-tail-true", lambda w, d: ["plan", w.cut, "--spec", "spec.json"], 2, "tail", spec_clip(tail=True))
case(
    "plan-spec-nan",
    lambda w, d: ["plan", w.cut, "--spec", "spec.json"],
    2,
    "spec.json",
    text("spec.json", '{"schema": "lengthen.spec", "version": 1, "clips": [{"clip": "shot0", "tail": NaN}]}'),
)
case(
    "plan-spec-deep",
    lambda w, d: ["plan", w.cut, "--spec", "spec.json"],
    2,
    "spec.json",
    text("spec.json", nested(5000)),
)
case(
    "plan-spec-unknown-key",
    lambda w, d: ["plan", w.cut, "--spec", "spec.json"],
    2,
    "frobnicate",
    spec_clip(frobnicate=1),
)
case(
    "plan-spec-fifo", lambda w, d: ["plan", w.cut, "--spec", "spec.json"], 2, "spec.json", fifo("spec.json"), sub=True
)
case("plan-rate-words", lambda w, d: ["plan", w.cut, "--rate", "fast"], 2, "fast")
case("plan-otiod-without-content", lambda w, d: ["plan", "b.otiod"], 2, "b.otiod", file_at("b.otiod/media/x"))
case(
    "plan-otioz-without-content",
    lambda w, d: ["plan", "b.otioz"],
    2,
    "b.otioz",
    lambda w, d: __import__("zipfile").ZipFile(d / "b.otioz", "w").writestr("other.txt", "x"),
)

# ---- faces -------------------------------------------------------------------------------------
case(
    "faces-rename-escaping-id",
    lambda w, d: ["faces", "--rename", "char_002", "Ann", "banks"],
    2,
    "../victim",
    bank_copy(set_key("id", "../victim")),
)
case(
    "faces-rename-absolute-id",
    lambda w, d: ["faces", "--rename", "char_002", "Ann", "banks"],
    2,
    "victim",
    bank_copy(set_key("id", lambda d: str(d / "victim"))),
)
case(
    "faces-escaping-folder",
    lambda w, d: ["faces", "--rename", "char_002", "Ann", "banks"],
    2,
    "../victim",
    bank_copy(edit_set=lambda doc, d: doc["characters"][0].update(folder="../victim")),
)
case(
    "faces-escaping-crop",
    lambda w, d: ["faces", "--drop", "char_002", "banks"],
    2,
    "../../victim/precious.txt",
    bank_copy(set_face("crop", "../../victim/precious.txt")),
)
case(
    "faces-nan-embedding",
    lambda w, d: ["faces", "--drop", "char_002", "banks"],
    2,
    "embeddings",
    both(bank_copy(), nan_embeddings),
)
case(
    "faces-bank-json-deep",
    lambda w, d: ["faces", "--drop", "char_002", "banks"],
    2,
    "bank.json",
    both(bank_copy(), text("banks/char_001/bank.json", nested(100000))),
    sub=True,
)
case(
    "faces-bank-name-control-chars",
    lambda w, d: ["faces", "--drop", "char_002", "banks"],
    2,
    "bank.json",
    bank_copy(set_key("name", "Ann\x1b[2J")),
)
case(
    "faces-bank-nan-box",
    lambda w, d: ["faces", "--drop", "char_002", "banks"],
    2,
    "bank.json",
    bank_copy(set_face("box", [float("nan"), 0, 1, 1])),
)
case(
    "faces-characters-json-missing",
    lambda w, d: ["faces", "--drop", "char_002", "empty"],
    2,
    "characters.json",
    file_at("empty/readme.txt"),
)
case(
    "faces-rename-newline",
    lambda w, d: ["faces", "--rename", "char_001", "A\nB", "banks"],
    2,
    "name",
    bank_copy(victim=False),
)
case(
    "faces-rename-empty",
    lambda w, d: ["faces", "--rename", "char_001", "  ", "banks"],
    2,
    "name",
    bank_copy(victim=False),
)
case(
    "faces-rename-too-long",
    lambda w, d: ["faces", "--rename", "char_001", "A" * 1000, "banks"],
    2,
    "name",
    bank_copy(victim=False),
)
case(
    "faces-rename-unknown",
    lambda w, d: ["faces", "--rename", "char_009", "Ann", "banks"],
    2,
    "char_009",
    bank_copy(victim=False),
)
case(
    "faces-merge-self",
    lambda w, d: ["faces", "--merge", "char_001", "char_001", "banks"],
    2,
    "char_001",
    bank_copy(victim=False),
)
case("faces-scan-output-is-file", lambda w, d: ["faces", w.face, "-o", "taken"], 2, "taken", file_at("taken"))
case("faces-scan-output-in-proc", lambda w, d: ["faces", w.face, "-o", "/proc/banks"], 2, "/proc/banks")
case("faces-scan-missing-input", lambda w, d: ["faces", "nope.mp4", "-o", "out"], 2, "nope.mp4")
case("faces-scan-fifo-input", lambda w, d: ["faces", "f.mp4", "-o", "out"], 2, "f.mp4", fifo("f.mp4"), sub=True)
case("faces-sample-fps-zero", lambda w, d: ["faces", w.clip, "--sample-fps", "0", "-o", "out"], 2, "--sample-fps")
case("faces-sample-fps-negative", lambda w, d: ["faces", w.face, "--sample-fps=-2", "-o", "out"], 2, "--sample-fps")
case("faces-sample-fps-nan", lambda w, d: ["faces", w.clip, "--sample-fps", "nan", "-o", "out"], 2, "--sample-fps")
case(
    "faces-timeline-media-climbs-out",
    lambda w, d: ["faces", "cut/cut.otio", "-o", "out"],
    2,
    "../shot.mp4",
    cut_in_subfolder("../shot.mp4"),
)
case(
    "faces-timeline-deep",
    lambda w, d: ["faces", "deep.otio", "-o", "out"],
    2,
    "deep.otio",
    text("deep.otio", nested(3000)),
)
case("faces-otioz-not-zip", lambda w, d: ["faces", "c.otioz", "-o", "out"], 2, "c.otioz", text("c.otioz", "not a zip"))
case("faces-edit-two-dirs", lambda w, d: ["faces", "--drop", "char_001", "a", "b"], 2, "one bank DIR")
case(
    "faces-add-ref-fifo",
    lambda w, d: ["faces", "--add-ref", "Ann=f.png", "banks"],
    1,
    "f.png",
    both(bank_copy(victim=False), fifo("f.png")),
    sub=True,
)

# ---- embed -------------------------------------------------------------------------------------
case("embed-missing", lambda w, d: ["embed", "nope.png"], 2, "nope.png")
case("embed-1x1", lambda w, d: ["embed", w.tiny], 2, "tiny.png")
case("embed-12000-square", lambda w, d: ["embed", w.big], 2, "big.png")
case("embed-decompression-bomb", lambda w, d: ["embed", w.bomb], 2, "bomb.png")
case("embed-fifo", lambda w, d: ["embed", "f.png"], 2, "f.png", fifo("f.png"), sub=True)
case("embed-dev-zero", lambda w, d: ["embed", "/dev/zero"], 2, "/dev/zero", sub=True)
case("embed-text-as-png", lambda w, d: ["embed", "t.png"], 2, "t.png", text("t.png", "hello"))
case(
    "embed-truncated-png",
    lambda w, d: ["embed", "half.png"],
    2,
    "half.png",
    lambda w, d: (d / "half.png").write_bytes(w.face.read_bytes()[:300]),
)
case("embed-directory", lambda w, d: ["embed", d], 2, "directory")
case(
    "embed-one-bad-of-two",
    lambda w, d: ["embed", "bomb2.png", w.face],
    1,
    "bomb2.png",
    lambda w, d: png_header_only(d / "bomb2.png", 30000, 30000),
)
case("embed-upsample-negative", lambda w, d: ["embed", "--upsample=-1", w.tiny], 2, "--upsample")
case("embed-unknown-backend", lambda w, d: ["embed", "--backend", "nosuch", w.tiny], 2, "nosuch")

# ---- evaluate ----------------------------------------------------------------------------------
case("evaluate-missing", lambda w, d: ["evaluate", "nope.mp4", "--holdout", "4", *FREEZE], 2, "nope.mp4")
case("evaluate-holdout-zero", lambda w, d: ["evaluate", w.clip, "--holdout", "0", *FREEZE], 2, "--holdout")
case("evaluate-holdout-negative", lambda w, d: ["evaluate", w.clip, "--holdout=-3", *FREEZE], 2, "--holdout")
case("evaluate-holdout-too-long", lambda w, d: ["evaluate", w.clip, "--holdout", "10000", *FREEZE], 2, "10000")
case(
    "evaluate-output-is-file",
    lambda w, d: ["evaluate", w.clip, "--holdout", "4", *FREEZE, "-o", "taken"],
    2,
    "taken",
    file_at("taken"),
)
case(
    "evaluate-output-in-proc",
    lambda w, d: ["evaluate", w.clip, "--holdout", "4", *FREEZE, "-o", "/proc/ev"],
    2,
    "/proc/ev",
)
case(
    "evaluate-fifo-clip",
    lambda w, d: ["evaluate", "f.mp4", "--holdout", "4", *FREEZE],
    2,
    "f.mp4",
    fifo("f.mp4"),
    sub=True,
)
case("evaluate-range-words", lambda w, d: ["evaluate", w.clip, "--holdout", "4", "--range", "x", *FREEZE], 2, "x")

case(
    "evaluate-media-folder-is-file",
    lambda w, d: ["evaluate", w.clip, "--holdout", "4", *FREEZE, "-o", "out"],
    2,
    "media",
    file_at("out/media"),
)
case(
    "evaluate-output-is-input",
    lambda w, d: ["evaluate", w.clip, "--holdout", "4", *FREEZE, "-o", w.clip],
    2,
    "shot.mp4",
)
case(
    "faces-output-is-input",
    lambda w, d: ["faces", "shot.mp4", "-o", "shot.mp4"],
    2,
    "shot.mp4",
    lambda w, d: shutil.copy(w.clip, d / "shot.mp4"),
)
case(
    "timeline-banks-escaping-folder",
    lambda w, d: ["timeline", w.cut, "--tail", "4f", "-o", "new.otio", "--engine", "freeze", "--banks", "banks"],
    2,
    "../victim",
    bank_copy(edit_set=lambda doc, d: doc["characters"][1].update(folder="../victim")),
)

# ---- models and doctor -------------------------------------------------------------------------
case("models-unknown-preset", lambda w, d: ["models", "--preset", "nosuch"], 2, "nosuch")
case("models-model-path-fifo", lambda w, d: ["models", "--model-path", "f"], 2, "f", fifo("f"), sub=True)
case(
    "models-cache-is-file", lambda w, d: ["models"], 2, "LENGTHEN_CACHE", file_at("c"), env={"LENGTHEN_CACHE": "c/sub"}
)
case("models-bad-option", lambda w, d: ["models", "--gpu"], 2, "--gpu")
case(
    "doctor-cache-is-file", lambda w, d: ["doctor"], 1, "LENGTHEN_CACHE", file_at("c"), env={"LENGTHEN_CACHE": "c/sub"}
)
case("doctor-bad-option", lambda w, d: ["doctor", "--fix"], 2, "--fix")
case(
    "doctor-memory-limit-words",
    lambda w, d: ["doctor"],
    1,
    "LENGTHEN_MEMORY_LIMIT",
    env={"LENGTHEN_MEMORY_LIMIT": "lots"},
)
case("no-command", lambda w, d: ["frobnicate"], 2, "frobnicate")

COMMANDS = ("probe", "extend", "timeline", "plan", "faces", "embed", "evaluate", "models", "doctor")
ERROR_LINE = re.compile(r"^lengthen( [a-z]+)?: (error|failed|skipped|warning)")


def test_the_catalogue_is_large_and_covers_every_command():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    for command in COMMANDS:
        assert sum(c.id.startswith(command) for c in CASES) >= 3, command


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_hostile_case(c: Case, world, tmp_path):
    before_world = snapshot(world.root)
    d = tmp_path / "case"
    d.mkdir()
    if c.setup:
        c.setup(world, d)
    before = snapshot(d)
    argv = c.argv(world, d)
    env = {k: (str(d / v) if k == "LENGTHEN_CACHE" else v) for k, v in c.env.items()}
    result = (run_subprocess if c.sub else run_in_process)(argv, d, env)
    shown = result.out + result.err
    assert "Traceback" not in shown, shown
    assert result.code == c.code, shown
    errors = [line for line in result.err.splitlines() if ERROR_LINE.match(line) and "warning" not in line]
    names = c.names(world, d) if callable(c.names) else c.names
    if c.code == 2:
        assert len(errors) == 1, result.err
    assert errors and any(names in line for line in errors), result.err
    assert snapshot(d) == before, "files left behind or inputs changed"
    assert snapshot(world.root) == before_world
