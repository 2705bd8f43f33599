"""Helpers of the farm tests: processes under this one, their listening sockets (from /proc), and a
timeline's JSON with its media folder taken out."""

from __future__ import annotations

import os
from pathlib import Path


def descendants(pid: int | None = None) -> set[int]:
    """Every live process below ``pid`` (default: this one), read from /proc."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parent[int(entry)] = int(fields[1])
    out, frontier = set(), {pid or os.getpid()}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - out
        out |= frontier
    return out


def _decode(hex_addr: str) -> str:
    ip = hex_addr.split(":")[0]
    if len(ip) == 8:
        return ".".join(str(int(ip[i : i + 2], 16)) for i in (6, 4, 2, 0))
    words = [ip[i : i + 8] for i in range(0, 32, 8)]
    raw = b"".join(bytes.fromhex(w)[::-1] for w in words)
    if raw[:12] == b"\0" * 10 + b"\xff\xff":
        return "::ffff:" + ".".join(str(b) for b in raw[12:])
    return "::1" if raw == b"\0" * 15 + b"\1" else raw.hex()


def listening_addresses(pids: set[int]) -> set[str]:
    """The addresses on which ``pids`` hold listening TCP sockets."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                out.add(_decode(cols[1]))
    return out


def normalized(out: Path, media_dir: Path) -> str:
    """The timeline as OTIO JSON with every path or URL into ``media_dir`` written as MEDIA/name (to
    compare two runs that wrote their media to different folders)."""
    import re

    import opentimelineio as otio

    text = otio.adapters.read_from_file(str(out)).to_json_string()
    names = "|".join(re.escape(p.name) for p in media_dir.iterdir() if p.is_file())
    assert names, media_dir
    return re.sub(rf'"[^"]*/({names})"', r'"MEDIA/\1"', text)
