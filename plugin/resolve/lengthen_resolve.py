"""lengthen for DaVinci Resolve Studio (Workspace > Scripts > lengthen_resolve).

Exports the current timeline as OTIO, opens the lengthen panel on it, and when you export from
the panel, imports the generated media into a "lengthen" bin of the media pool and the result
timeline (your cut plus a LENGTHEN track) as a new timeline. Your timeline is never changed. An
``.otioz`` export is unbundled beside itself first (Resolve imports ``.otio``).

Install: copy this file to Resolve's script folder (Fusion/Scripts/Edit; see the README), and
make sure the ``lengthen`` command is on PATH or set LENGTHEN_EXE to its full path. Work files go
to LENGTHEN_RESOLVE_DIR (default ~/lengthen/resolve).

A thin shim: every step takes the Resolve object as an argument (``main(resolve)``), so it runs
against any object with Resolve's scripting API. It needs only the Python standard library.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

BIN_NAME = "lengthen"


class ResolveError(RuntimeError):
    """A Resolve call that failed; the message says which and what to check."""


def work_dir() -> Path:
    folder = Path(os.environ.get("LENGTHEN_RESOLVE_DIR") or Path.home() / "lengthen" / "resolve")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name or "timeline").strip("_")[:60] or "timeline"


def current_project(resolve):
    manager = resolve.GetProjectManager()
    project = manager.GetCurrentProject() if manager else None
    if project is None:
        raise ResolveError("no project is open in Resolve")
    return project


def export_current_timeline(resolve, folder: Path) -> Path:
    """Write the current timeline as ``<folder>/<name>_<time>.otio``; returns the path."""
    project = current_project(resolve)
    timeline = project.GetCurrentTimeline()
    if timeline is None:
        raise ResolveError("no timeline is open: open the timeline to extend in the Edit page")
    path = Path(folder) / f"{_safe(timeline.GetName())}_{time.strftime('%Y%m%d-%H%M%S')}.otio"
    if not timeline.Export(str(path), resolve.EXPORT_OTIO, resolve.EXPORT_NONE) or not path.is_file():
        raise ResolveError(
            f"Resolve could not export the timeline as OTIO to {path} (Resolve 18.5 or later is needed)"
        )
    return path


def lengthen_command() -> list[str]:
    exe = os.environ.get("LENGTHEN_EXE") or shutil.which("lengthen")
    if not exe:
        raise ResolveError("the lengthen command was not found: put it on PATH or set LENGTHEN_EXE to its full path")
    return [exe]


def launch_panel(timeline: Path, handoff: Path) -> int:
    """Run the panel on ``timeline`` until it is closed; it writes ``handoff`` on each export."""
    return subprocess.call(lengthen_command() + ["panel", str(timeline), "--handoff", str(handoff)])


def read_handoff(handoff: Path) -> dict | None:
    if not Path(handoff).is_file():
        return None
    data = json.loads(Path(handoff).read_text(encoding="utf-8"))
    if data.get("schema") != "lengthen.handoff":
        raise ResolveError(f"{handoff} is not a lengthen hand-off file")
    return data


def _absolute_urls(node, folder: Path) -> None:
    """Every relative ``target_url`` in an OTIO JSON tree -> an absolute file URL under ``folder``."""
    if isinstance(node, dict):
        url = node.get("target_url")
        if isinstance(url, str) and url and "://" not in url and not os.path.isabs(url):
            node["target_url"] = (folder / url).resolve().as_uri()
        for value in node.values():
            _absolute_urls(value, folder)
    elif isinstance(node, list):
        for value in node:
            _absolute_urls(value, folder)


def unbundle(bundle: Path) -> tuple[Path, list[str]]:
    """An ``.otioz`` for Resolve (which imports ``.otio``): extract it beside itself into
    ``<name>_otioz/``, write its ``content.otio`` there as ``<name>.otio`` with absolute media
    paths, and return that file and the media files it holds."""
    import zipfile

    bundle = Path(bundle)
    folder = bundle.with_name(f"{bundle.stem}_otioz")
    try:
        with zipfile.ZipFile(bundle) as z:
            for member in z.namelist():
                target = (folder / member).resolve()
                if member.startswith("/") or ".." in Path(member).parts or folder.resolve() not in target.parents:
                    raise ResolveError(f"{bundle} holds a file outside the bundle ({member}); not extracted")
            z.extractall(folder)
    except zipfile.BadZipFile:
        raise ResolveError(f"{bundle} is not an .otioz bundle (not a zip file)") from None
    content = folder / "content.otio"
    if not content.is_file():
        raise ResolveError(f"{bundle} has no content.otio; is it an .otioz bundle?")
    tree = json.loads(content.read_text(encoding="utf-8"))
    _absolute_urls(tree, folder)
    out = folder / f"{bundle.stem}.otio"
    out.write_text(json.dumps(tree, indent=4), encoding="utf-8")
    media = sorted(str(p.resolve()) for p in (folder / "media").rglob("*") if p.is_file())
    return out, media


def import_result(resolve, data: dict, name: str):
    """Import the generated media into the "lengthen" bin and the result timeline; make it current.
    An ``.otioz`` result is unbundled first (Resolve imports ``.otio``)."""
    data = dict(data)
    if str(data["timeline"]).lower().endswith(".otioz"):
        timeline, bundled = unbundle(Path(data["timeline"]))
        data["timeline"] = str(timeline)
        names = {Path(m).name for m in data.get("media", [])}
        data["media"] = [m for m in bundled if Path(m).name in names] or bundled
    project = current_project(resolve)
    pool = project.GetMediaPool()
    root = pool.GetRootFolder()
    folder = next((f for f in (root.GetSubFolderList() or []) if f.GetName() == BIN_NAME), None) or pool.AddSubFolder(
        root, BIN_NAME
    )
    if folder is not None:
        pool.SetCurrentFolder(folder)
    media = [m for m in data.get("media", []) if Path(m).is_file()]
    if media and not pool.ImportMedia(media):
        raise ResolveError(f"Resolve could not import the generated media ({len(media)} files, first {media[0]})")
    timeline = pool.ImportTimelineFromFile(data["timeline"], {"timelineName": name, "importSourceClips": True})
    if timeline is None:
        raise ResolveError(f"Resolve could not import {data['timeline']} (File > Import > Timeline shows why)")
    project.SetCurrentTimeline(timeline)
    return timeline


def main(resolve, launch=launch_panel, folder: Path | None = None) -> int:
    """Export, open the panel, import what it exported. 0: imported, 1: nothing exported, 2: error."""
    try:
        folder = Path(folder) if folder is not None else work_dir()
        folder.mkdir(parents=True, exist_ok=True)
        source = export_current_timeline(resolve, folder)
        handoff = source.with_suffix(".handoff.json")
        launch(source, handoff)
        data = read_handoff(handoff)
        if data is None:
            print("lengthen: the panel was closed without an export; nothing imported")
            return 1
        name = f"{source.stem.rsplit('_', 1)[0]} lengthen {time.strftime('%H%M%S')}"
        import_result(resolve, data, name)
        print(f"lengthen: imported timeline {name!r} and {len(data.get('media', []))} media files")
        return 0
    except (ResolveError, OSError, ValueError) as exc:
        print(f"lengthen: {exc}", file=sys.stderr)
        return 2


def _resolve_object():
    """The Resolve object inside Resolve (``resolve`` or ``app`` globals), else through the
    external scripting module (DaVinciResolveScript)."""
    g = globals()
    if g.get("resolve") is not None:
        return g["resolve"]
    if g.get("app") is not None:
        return g["app"].GetResolve()
    import DaVinciResolveScript as dvr  # noqa: N813 (Resolve's module name)

    return dvr.scriptapp("Resolve")


if __name__ == "__main__":
    sys.exit(main(_resolve_object()))
