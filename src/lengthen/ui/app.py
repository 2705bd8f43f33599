"""Start the panel: a QApplication, the main window, and the offscreen screenshot mode."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

STYLE = """
QGroupBox { font-weight: bold; border: 1px solid #3a3a3a; border-radius: 4px; margin-top: 14px; padding-top: 4px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; }
QTableView { gridline-color: #3a3a3a; }
QTableView:focus, QListWidget:focus, QScrollArea:focus, PreviewPane:focus { border: 1px solid #e040fb; }
QPushButton:focus, QToolButton:focus, QComboBox:focus, QSpinBox:focus, QLineEdit:focus, QCheckBox:focus,
QSlider:focus { border: 1px solid #e040fb; }
"""


def _palette(app) -> None:
    from PyQt6.QtGui import QColor, QPalette

    pal = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#1f1f1f"),
        (QPalette.ColorRole.AlternateBase, "#262626"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#353535"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.Highlight, "#7b1fa2"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, "#333333"),
        (QPalette.ColorRole.ToolTipText, "#e6e6e6"),
        (QPalette.ColorRole.PlaceholderText, "#888888"),
    ):
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)


def application(argv=None):
    """The QApplication (made once), styled like an editing suite (Fusion, dark)."""
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv or ["lengthen"]))
        app.setApplicationName("lengthen panel")
        app.setOrganizationName("lengthen")
        app.setStyle("Fusion")
        _palette(app)
        app.setStyleSheet(STYLE)
    return app


def wait_idle(window, timeout: float) -> bool:
    """Process events until no worker is active (reading, scan, thumbnails); False after
    ``timeout`` seconds (it looks at least once, so 0 means "idle now?")."""
    from PyQt6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout
    while True:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if not window.busy():
            QCoreApplication.processEvents()
            if not window.busy():
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def save_screenshot(window, path: Path) -> Path:
    """Grab the window into ``path`` (PNG), written atomically."""
    from ..fsutil import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        if not window.grab().save(str(tmp), "PNG"):
            from ..errors import UsageError

            raise UsageError("could not write the screenshot", path=path)
    return path


def _report_slot_errors(window) -> None:
    """An exception escaping a Qt slot aborts the process under PyQt6 unless ``sys.excepthook`` is
    replaced: print it and show it in the panel instead (the session goes on)."""
    import traceback

    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        try:
            window.show_error(f"{kind.__name__}: {value}")
        except Exception:
            pass

    sys.excepthook = hook


def run_panel(
    timeline=None, screenshot=None, timeout: float = 300.0, handoff=None, size=(1500, 940), select=None
) -> int:
    from .main_window import MainWindow

    deadline = time.monotonic() + timeout  # one deadline for the whole --screenshot run (--select included)

    def left() -> float:
        return max(0.0, deadline - time.monotonic())

    if screenshot is not None and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = application(sys.argv[:1])
    window = MainWindow(handoff=handoff)
    window.resize(*size)
    window.show()
    if timeline is not None:
        window.open_timeline(Path(timeline))
    if screenshot is not None and select is not None:
        wait_idle(window, left())
        window._try(lambda: window.state.select(select))
    if screenshot is None:
        _report_slot_errors(window)
        code = app.exec()
        return int(code)
    idle = wait_idle(window, left())
    path = save_screenshot(window, Path(screenshot))
    errors = [m for m in window.messages if m.startswith("⚠")]
    for m in errors:
        print(f"lengthen panel: {m[2:]}", file=sys.stderr)
    if not idle:
        print(
            f"lengthen panel: background work still running after {timeout:g} s; screenshot taken anyway",
            file=sys.stderr,
        )
    print(f"wrote {path}")
    ok = idle and (timeline is None or window.state.timeline_path is not None)
    window.shutdown(wait_ms=60000)
    window.close()
    return 0 if ok else 1
