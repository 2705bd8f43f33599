"""The command line: a thin skin over the same request objects and pipeline the panel uses.

Each sub-command lives in ``lengthen.commands.<name>`` with two functions:
``add_parser(subparsers)`` (argparse only: no heavy imports at module level, so ``--help`` stays
fast) and ``run(args) -> int``. Exit codes: 0 ok, 1 one or more items failed, 2 bad usage/input,
70 a bug (one line and a crash log), 128+N stopped by signal N.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading

from . import __version__
from .commands import say as _say
from .errors import Interrupted, LengthenError, UsageError, from_os_error
from .fsutil import output_transaction
from .paths import write_crash_log

# Order here is the order in --help.
COMMANDS = (
    "demo",
    "extend",
    "timeline",
    "render-job",
    "plan",
    "faces",
    "embed",
    "evaluate",
    "probe",
    "verify",
    "models",
    "panel",
    "doctor",
)


def _available_commands():
    for name in COMMANDS:
        try:
            yield name, importlib.import_module(f"lengthen.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:  # a command not written yet
            if exc.name != f"lengthen.commands.{name.replace('-', '_')}":
                raise


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one error line (exit 2), like every other user error."""

    def error(self, message: str):
        exc = UsageError(message)
        exc.prog = self.prog  # "lengthen extend": the error line names the command
        raise exc


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lengthen",
        description=(
            "Extend film and TV shots: generate frames before the head or after the tail of a "
            "clip, keeping each character's face, and hand them back as OTIO clips and ProRes media."
        ),
        epilog="Exit codes: 0 ok, 1 an item failed, 2 bad usage or bad input (nothing written), "
        f"{EXIT_BUG} a bug (see the crash log it names), 128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM).",
    )
    parser.add_argument("--version", action="version", version=f"lengthen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module in _available_commands():
        module.add_parser(sub)
    return parser


EXIT_BUG = 70  # EX_SOFTWARE: an internal error, not the user's
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@contextlib.contextmanager
def _signal_handlers(handlers: dict):
    """Install ``{signal name: handler}`` for the body, the old handlers back after. Only in the main
    thread (signal handlers cannot be set elsewhere); a signal this platform lacks or refuses is left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {}
    for name, handler in handlers.items():
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                old[sig] = signal.signal(sig, handler)
            except (OSError, ValueError):
                continue
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _raise_interrupted(signum, frame):
    raise Interrupted(signum, signal.Signals(signum).name)


def _stop_signals_raise():
    """SIGTERM and SIGHUP raise :class:`Interrupted` like Ctrl-C does, so cleanup code runs for all three."""
    return _signal_handlers(dict.fromkeys(STOP_SIGNALS, _raise_interrupted))


# Commands that are a session, not a run: the panel writes many outputs over hours and runs a Qt
# event loop; a stop must not remove what it made, and Python-level signal exceptions must not be
# raised inside Qt slots. Its errors still get the policy below (one line, crash log).
INTERACTIVE = ("panel",)


def _default_stop_signals():
    """Python's own handlers (Ctrl-C raises KeyboardInterrupt, SIGTERM/SIGHUP end the process)."""
    return _signal_handlers(
        {"SIGTERM": signal.SIG_DFL, "SIGHUP": signal.SIG_DFL, "SIGINT": signal.default_int_handler}
    )


def main(argv: list[str] | None = None) -> int:
    """Run one command. The error policy lives here (see README "What lengthen promises"):
    a LengthenError is one line and its exit code; an unexpected exception is a bug: one line and a
    crash log; a stop signal removes what the run created and exits 128+N. What the run created is
    removed on every failure, so exit 2 means nothing was written."""
    command = "lengthen"
    try:
        with _stop_signals_raise():
            parser = build_parser()
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:  # --help / --version
                return int(exc.code or 0) if not isinstance(exc.code, str) else 2
            if not getattr(args, "command", None):
                parser.print_help()
                return 2
            command = f"lengthen {args.command}"
            module = importlib.import_module(f"lengthen.commands.{args.command.replace('-', '_')}")
            if args.command in INTERACTIVE:  # the panel's session: Qt owns the signals; its outputs stay
                with _default_stop_signals():
                    return int(module.run(args) or 0)
            with output_transaction():
                return int(module.run(args) or 0)
    except LengthenError as exc:
        _say(f"{getattr(exc, 'prog', command)}: error: {exc}")
        return exc.exit_code
    except Interrupted as exc:
        _say(f"{command}: stopped by {exc.name}; nothing partial was kept")
        return 128 + exc.signum
    except KeyboardInterrupt:
        _say(f"{command}: stopped by SIGINT; nothing partial was kept")
        return 128 + 2
    except BrokenPipeError:  # `lengthen probe x | head`: the reader left; nothing to say
        return 128 + 13
    except OSError as exc:  # the file system said no: disk full, permission, a name too long
        _say(f"{command}: error: {from_os_error(exc)}")
        return 2
    except MemoryError:
        _say(f"{command}: error: not enough memory for this request (ask for fewer or smaller frames)")
        return 2
    except RecursionError as exc:
        log = write_crash_log(command, argv, exc)
        _say(f"{command}: error: an input is nested too deeply to read (details: {log})")
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback goes to a file
        log = write_crash_log(command, argv, exc)
        where = f"the traceback is in {log}" if log else "no crash log could be written"
        _say(f"{command}: internal error (a bug in lengthen: {exc.__class__.__name__}); {where}; please report it")
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
