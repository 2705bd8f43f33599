"""The hostile-input world: tiny real inputs (a 30-frame clip, an OTIO cut, a bank set, images) built
once per session, and a runner that runs the real CLI and collects what a user would see."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest


def snapshot(root: Path) -> dict:
    """Every path under ``root`` -> its kind and (for files) content hash: proves nothing was
    added, removed or changed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir",)
            elif p.is_file():
                out[rel] = ("file", hashlib.sha1(p.read_bytes()).hexdigest())
            else:
                out[rel] = ("special",)
    return out


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_in_process(argv, cwd: Path, env: dict | None = None) -> Result:
    from lengthen.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd = os.getcwd()
    old_env = {k: os.environ.get(k) for k in (env or {})}
    try:
        os.chdir(cwd)
        os.environ.update(env or {})
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in argv])
    finally:
        os.chdir(old_cwd)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Result(code, out.getvalue(), err.getvalue())


def run_subprocess(argv, cwd: Path, env: dict | None = None, timeout: float = 60) -> Result:
    src = str(Path(__file__).resolve().parents[2] / "src")
    full_env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    try:
        run = subprocess.run(
            [sys.executable, "-m", "lengthen", *[str(a) for a in argv]],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"lengthen {' '.join(map(str, argv))} hung for more than {timeout} s")
    return Result(run.returncode, run.stdout, run.stderr)


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` with (almost) no pixel data: a decompression
    bomb's signature without spending the memory to make one."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    path.write_bytes(data)
    return path


def faststart_clip(path: Path, frames: int = 40) -> Path:
    """An H.264 MP4 with its index (moov) at the front, as cameras and web exports write them."""
    import av

    from lengthen.media.synthetic import stamp_frame

    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        s.options = {"preset": "veryfast", "g": "12", "crf": "30"}
        for i in range(frames):
            for p in s.encode(av.VideoFrame.from_ndarray(stamp_frame(i, 64, 96), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def write_cut(path: Path, media: str, *, first: int = 5, length: int = 20, tracks: int = 1, rate: float = 24) -> Path:
    import opentimelineio as otio

    tl = otio.schema.Timeline(name="cut")
    for t in range(tracks):
        track = otio.schema.Track(name=f"V{t + 1}", kind=otio.schema.TrackKind.Video)
        track.append(
            otio.schema.Clip(
                name=f"shot{t}",
                media_reference=otio.schema.ExternalReference(target_url=media),
                source_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(first, rate), otio.opentime.RationalTime(length, rate)
                ),
            )
        )
        tl.tracks.append(track)
    otio.adapters.write_to_file(tl, str(path))
    return path


def make_banks(folder: Path) -> Path:
    from lengthen.faces.bank import FaceSource, IdentityBank, save_banks
    from lengthen.faces.quality import FaceQuality

    rng = np.random.default_rng(0)
    banks = []
    for k, name in enumerate(("Anna", "Ben")):
        n, d, s = 3, 8, 16
        emb = rng.normal(size=(n, d)).astype(np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        crops = rng.integers(0, 256, size=(n, s, s, 3), dtype=np.uint8)
        sources = [FaceSource("/m/a.mov", i, (1.0, 2.0, 30.0, 40.0), ((1.0, 2.0),) * 5) for i in range(n)]
        quality = [FaceQuality(40.0, 10.0, 0.9, 0.9, 0.5 + i / 10) for i in range(n)]
        banks.append(IdentityBank(f"char_00{k + 1}", name, "dlib", d, s, emb, crops, sources, quality, [0, 1]))
    return save_banks(banks, folder)


@pytest.fixture(scope="session")
def world(tmp_path_factory, testdata):
    """Good inputs every case may read (never write): the catalogue checks they stay unchanged."""
    from PIL import Image

    from lengthen.media.synthetic import stamped_clip

    root = tmp_path_factory.mktemp("hostile-world")
    w = SimpleNamespace(root=root)
    w.clip = stamped_clip(root / "shot.mp4", 30, rate="24", size=(64, 96))
    w.cut = write_cut(root / "cut.otio", "shot.mp4")
    w.cut2 = write_cut(root / "cut2.otio", "shot.mp4", tracks=2)
    w.banks = make_banks(root / "banks")
    w.face = root / "face.png"
    Image.open(testdata / "images" / "skimage__astronaut.png").convert("RGB").resize((160, 160)).save(w.face)
    w.tiny = root / "tiny.png"
    Image.new("RGB", (1, 1)).save(w.tiny)
    w.big = png_header_only(root / "big.png", 12000, 12000)
    w.bomb = png_header_only(root / "bomb.png", 20000, 20000)
    w.text = root / "notes.mp4"
    w.text.write_text("this is not a video\n" * 20)
    w.spec_ok = root / "spec.json"
    w.spec_ok.write_text(json.dumps({"schema": "lengthen.spec", "version": 1, "clips": []}))
    fast = faststart_clip(root / "fast.mp4")
    w.truncated = root / "truncated.mp4"
    data = fast.read_bytes()
    w.truncated.write_bytes(data[: int(len(data) * 0.6)])
    fast.unlink()
    return w
