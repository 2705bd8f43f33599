"""lengthen panel [TIMELINE] [--screenshot PNG] [--size WxH] [--select CLIP_ID] [--timeout S] [--handoff JSON]"""

from __future__ import annotations

from .argtypes import positive_float


def add_parser(sub) -> None:
    p = sub.add_parser(
        "panel",
        help="open the desktop panel (PyQt6) beside your editor",
        description="The panel: open a timeline (.otio/.otioz/.otiod; FCP7 XML and EDL through adapters), "
        "set head/tail lengths per shot, check the characters found in the footage, run, "
        "preview each seam, accept or re-roll, and export a new timeline with its media. "
        "Choices are kept in TIMELINE.lengthen/ beside the timeline.",
    )
    p.add_argument("timeline", nargs="?", metavar="TIMELINE", help="timeline to open")
    p.add_argument(
        "--screenshot",
        metavar="PNG",
        help="render the panel (offscreen without a display), wait for the "
        "background work (reading, face scan, thumbnails), save a screenshot and exit",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=300.0,
        metavar="S",
        help="--screenshot: give up waiting after S seconds in all, --select included (default 300)",
    )
    p.add_argument(
        "--size",
        default="1500x940",
        metavar="WxH",
        help="--screenshot: window size in pixels (default 1500x940; the panel works from 1024x700)",
    )
    p.add_argument(
        "--select",
        metavar="CLIP_ID",
        help="--screenshot: select this shot (e.g. V1/2) once the timeline is read, to show its review",
    )
    p.add_argument(
        "--handoff",
        metavar="JSON",
        help="after each export write the result's paths here (used by the host "
        "scripts, e.g. the DaVinci Resolve script)",
    )


def run(args) -> int:
    from pathlib import Path

    from ..errors import LengthenError, UsageError

    if args.timeline is not None and not Path(args.timeline).exists():
        raise UsageError("timeline file not found", path=args.timeline)
    try:
        import PyQt6.QtWidgets  # noqa: F401
    except ImportError:
        raise LengthenError("the panel needs PyQt6, which is not installed here: pip install 'pyqt6>=6.6'") from None
    from ..ui.app import run_panel

    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
        if w < 1 or h < 1:
            raise ValueError(args.size)
    except ValueError:
        raise UsageError(f"--size takes WIDTHxHEIGHT in pixels, e.g. 1024x700, not {args.size!r}") from None
    if args.screenshot is None and _opens_on_xcb():
        from . import doctor

        qt = doctor.qt_panel_check()
        if not qt["ok"] and qt["missing"]:  # Qt would abort with a long message; say what to install
            raise LengthenError(
                f"the panel cannot start: Qt's xcb platform plugin needs {', '.join(qt['missing'])}; "
                f"install them with: {qt['install']}"
            )
    return run_panel(args.timeline, args.screenshot, args.timeout, args.handoff, size=(w, h), select=args.select)


def _opens_on_xcb() -> bool:
    """True when Qt will use its xcb (X11) platform plugin here."""
    import os
    import sys

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb"):
        return False
    return bool(os.environ.get("DISPLAY")) and (platform == "xcb" or not os.environ.get("WAYLAND_DISPLAY"))
