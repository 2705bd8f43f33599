"""Every third-party module imported under src/ is declared in pyproject.toml.

A module that is a base dependency may be imported anywhere. A module that comes only with an
extra must be imported lazily (inside a function), in a ``try`` whose ``except ImportError`` raises
``MissingDependency`` naming an extra that really provides it, so the base install runs every
command that needs no extra and the others fail with the exact pip command."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    return _norm(re.split(r"[\s<>=!~;\[(]", req.strip(), maxsplit=1)[0])


def declared(pyproject: Path = REPO / "pyproject.toml") -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads(pyproject.read_text())["project"]
    base = {_requirement_name(r) for r in project["dependencies"]}
    extras = {name: {_requirement_name(r) for r in reqs} for name, reqs in project["optional-dependencies"].items()}
    return base, extras


def _guarding_extra(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str | None:
    """The extra named by ``raise MissingDependency(module, extra)`` in an ``except ImportError``
    of a ``try`` around ``node`` inside a function, or None when the import is not guarded so."""
    child, inside_function, extra = node, False, None
    while child in parents:
        parent = parents[child]
        if isinstance(parent, ast.Try) and child in parent.body and extra is None:
            for handler in parent.handlers:
                caught = ast.unparse(handler.type) if handler.type else ""
                if "ImportError" not in caught and "ModuleNotFoundError" not in caught:
                    continue
                for sub in ast.walk(handler):
                    call = sub.exc if isinstance(sub, ast.Raise) else None
                    if (
                        isinstance(call, ast.Call)
                        and ast.unparse(call.func).endswith("MissingDependency")
                        and len(call.args) == 2
                        and isinstance(call.args[1], ast.Constant)
                    ):
                        extra = call.args[1].value
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside_function = True
        child = parent
    return extra if inside_function else None


def undeclared(files: list[Path], pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """One line per import that the base install or its guard does not cover."""
    base, extras = declared(pyproject)
    dists = packages_distributions()
    problems = []
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in {"lengthen", "__future__"}:
                    continue
                where = f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}:{node.lineno}"
                provided_by = {_norm(d) for d in dists.get(top, [])}
                if not provided_by:
                    problems.append(f"{where}: {top!r} is not installed, so no declared distribution provides it")
                    continue
                if provided_by & base:
                    continue
                extra = _guarding_extra(node, parents)
                if extra is None:
                    problems.append(
                        f"{where}: {top!r} ({', '.join(sorted(provided_by))}) is not a base dependency and its import "
                        "is not inside a function behind `except ImportError: raise MissingDependency(module, extra)`"
                    )
                elif not provided_by & extras.get(extra, set()):
                    problems.append(f"{where}: {top!r} is guarded by extra {extra!r}, which does not declare it")
    return problems


def test_every_import_under_src_is_declared():
    files = sorted((REPO / "src" / "lengthen").rglob("*.py"))
    assert len(files) > 50
    assert undeclared(files) == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import numpy\n", None),  # a base dependency: fine anywhere
        ("import insightface\n", "is not a base dependency"),  # an extra imported eagerly
        (
            "def load():\n    try:\n        import insightface\n    except ImportError:\n"
            "        raise MissingDependency('insightface', 'insightface') from None\n",
            None,
        ),
        (
            "def load():\n    try:\n        import insightface\n    except ImportError:\n"
            "        raise MissingDependency('insightface', 'adapters') from None\n",
            "which does not declare it",
        ),
        ("def f():\n    import insightface\n", "is not a base dependency"),  # lazy but unguarded
        ("import lengthen_no_such_module_xyz\n", "is not installed"),
    ],
)
def test_the_check_catches_an_undeclared_import(tmp_path, source, expected):
    module = tmp_path / "lengthen" / "new_module.py"
    module.parent.mkdir()
    module.write_text(source)
    problems = undeclared([module])
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems
