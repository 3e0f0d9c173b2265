"""Every option of every command is used by some test.

The click tree of ``postpilot.cli.app`` lists each command and its options. The tests
are read with ``ast``: a test function "uses" ``(command, option)`` when the string
constants it holds (with those of the module-level helpers it calls) include every
word of the command's path (``contract``, ``infer``) and one spelling of the option
(``--output`` or ``-o``; either side of ``--store/--no-store``). This finds options no
test passes at all; whether the tests assert the option's effect is checked by hand
with scripts/mutate_options.py, which breaks each option's wiring and runs the tests
this mapping names (:func:`users`): one of them must fail.

The property tests of tests/fuzz (other than test_regressions.py) pass every option
with random values and assert the promise, not the option's effect, so they do not
count here. Positional arguments are required, so every invocation of a command uses them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import typer

from postpilot.cli import app

TESTS = Path(__file__).resolve().parent.parent

ALLOWED: dict[tuple[str, str], str] = {
    # (command path, option): why no in-process test can use it. Keep this empty
    # unless an option truly cannot run in-process; --help is implicit everywhere.
}


def commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[Any]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, command

    yield from walk(typer.main.get_command(app), ())


def _strings(node: ast.AST) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _called_names(node: ast.AST) -> set[str]:
    return {
        n.func.id
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }


@dataclass(frozen=True)
class Unit:
    """A test function: its pytest node id and the strings it holds (with its helpers')."""

    nodeid: str
    strings: frozenset[str]


@cache
def named_units() -> list[Unit]:
    """One unit per test function, named by its node id (scripts/mutate_options.py runs
    the tests that use an option with the option's wiring broken)."""
    units = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.resolve() == Path(__file__).resolve() or (
            path.parent.name == "fuzz" and (path.name != "test_regressions.py")
        ):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        helpers = {
            node.name: _strings(node)
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        module_strings = {
            s
            for node in tree.body
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            for s in _strings(node)
        }
        module = path.relative_to(TESTS.parent).as_posix()
        for name, node in _test_functions(tree.body, ()):
            strings = set(_strings(node)) | module_strings
            for called in _called_names(node) & helpers.keys():
                strings |= helpers[called]
            # fixtures the test takes, defined in the same module, count as helpers
            for arg in node.args.args:
                strings |= helpers.get(arg.arg, set())
            units.append(Unit(f"{module}::{name}", frozenset(_split(strings))))
    return units


def _test_functions(
    body: list[ast.stmt], outer: tuple[str, ...]
) -> Iterator[tuple[str, ast.FunctionDef]]:
    """Every ``test_*`` function, with the node id of the test it belongs to: its own,
    or (for one nested in a function) that of the top-level function holding it."""
    for node in body:
        if isinstance(node, ast.ClassDef):
            yield from _test_functions(node.body, (*outer, node.name))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = "::".join((*outer, node.name))
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                yield name, node
            for inner in ast.walk(node):
                if (
                    inner is not node
                    and isinstance(inner, ast.FunctionDef)
                    and inner.name.startswith("test_")
                ):
                    yield name, inner


def units() -> list[frozenset[str]]:
    """One set of strings per test function (with the helpers it calls)."""
    return [unit.strings for unit in named_units()]


def users(path: tuple[str, ...], param: Any) -> list[str]:
    """The node ids of the tests that use option ``param`` of command ``path``."""
    names = spellings(param)
    return [u.nodeid for u in named_units() if set(path) <= u.strings and names & u.strings]


def _split(strings: set[str]) -> set[str]:
    """Strings as given, and split on blanks (``"model card"``, ``"--a x"``)."""
    out = set(strings)
    for s in strings:
        out.update(s.split())
        if s.startswith("--") and "=" in s:
            out.add(s.split("=", 1)[0])
    return out


def spellings(param: Any) -> set[str]:
    return set(param.opts) | set(getattr(param, "secondary_opts", []))


def uncovered() -> list[str]:
    missing = []
    for path, command in commands():
        for param in command.params:
            if param.param_type_name != "option" or param.name == "help":
                continue
            names = spellings(param)
            if any((" ".join(path), n) in ALLOWED for n in names):
                continue
            if not users(path, param):
                missing.append(f"{' '.join(path)} {max(names, key=len)}")
    return missing


def test_every_option_of_every_command_is_used_by_a_test() -> None:
    missing = uncovered()
    assert not missing, "options no test uses:\n  " + "\n  ".join(missing)


def test_the_coverage_check_sees_commands_and_options() -> None:
    """The check itself works: it knows the commands, and a made-up option is missing."""
    paths = {" ".join(p) for p, _ in commands()}
    assert {"drift", "estimate", "contract infer", "person add", "model card"} <= paths
    assert any({"drift", "--chunk-size"} <= unit for unit in units())
    assert not any({"drift", "--no-such-option"} <= unit for unit in units())
    chunk_size = next(p for p in dict(commands())[("drift",)].params if p.name == "chunk_size")
    assert (
        "tests/cli/test_drift_command.py::test_chunk_size_period_and_timestamp_reach_the_run"
        in users(("drift",), chunk_size)
    )
