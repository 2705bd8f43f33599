"""One module per sub-command: ``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations

import sys

from ..errors import printable


def say(line: str) -> None:
    """The one way the CLI prints an error, warning or note (on stderr): one line, control characters
    escaped (a newline or an ANSI escape in a file name can neither split the line nor drive the
    terminal). A closed stderr or a reader that left is not an error of its own."""
    try:
        print(printable(str(line)), file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed or a broken pipe: nothing more to do
        pass
