"""The command line: a thin skin over the same request objects and pipeline the panel uses.

Each sub-command lives in ``lengthen.commands.<name>`` with two functions:
``add_parser(subparsers)`` (argparse only: no heavy imports at module level, so ``--help`` stays
fast) and ``run(args) -> int``. Exit codes: 0 ok, 1 one or more items failed, 2 bad usage/input.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import LengthenError

# Order here is the order in --help.
COMMANDS = (
    "demo",
    "extend",
    "timeline",
    "plan",
    "faces",
    "embed",
    "evaluate",
    "probe",
    "models",
    "panel",
    "doctor",
)


def _available_commands():
    for name in COMMANDS:
        try:
            yield name, importlib.import_module(f"lengthen.commands.{name}")
        except ModuleNotFoundError as exc:  # a command not written yet
            if exc.name != f"lengthen.commands.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lengthen",
        description=(
            "Extend film and TV shots: generate frames before the head or after the tail of a "
            "clip, keeping each character's face, and hand them back as OTIO clips and ProRes media."
        ),
        epilog="Exit codes: 0 ok, 1 an item failed, 2 bad usage or bad input.",
    )
    parser.add_argument("--version", action="version", version=f"lengthen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _available_commands():
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    module = importlib.import_module(f"lengthen.commands.{args.command}")
    try:
        return int(module.run(args) or 0)
    except LengthenError as exc:
        print(f"lengthen {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"lengthen {args.command}: interrupted; nothing partial was kept", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
