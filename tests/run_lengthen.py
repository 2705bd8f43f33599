"""``python tests/run_lengthen.py ARGS``: the lengthen command line with the test-only presets
(tests/tiny_presets.py) registered, for tests that run the CLI in a subprocess."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tiny_presets import register  # noqa: E402

register()

from lengthen.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
