"""Every option of every command is used by some test.

The click tree of ``postpilot.cli.app`` lists each command and its options. The tests
are read with ``ast``: a test function "uses" ``(command, option)`` when the string
constants it holds (with those of the module-level helpers it calls) include every
word of the command's path (``contract``, ``infer``) and one spelling of the option
(``--output`` or ``-o``; either side of ``--store/--no-store``). This finds options no
test passes at all; whether the test asserts the option's effect is for review (and
for breaking the wiring, as tests/cli/test_registry_options.py's docstring describes).

The property tests of tests/fuzz (other than test_regressions.py) pass every option
with random values and assert the promise, not the option's effect, so they do not
count here. Positional arguments are required, so every invocation of a command uses them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
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


@cache
def units() -> list[frozenset[str]]:
    """One set of strings per test function (with the helpers it calls)."""
    units = []
    for path in TESTS.rglob("*.py"):
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
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                strings = set(_strings(node)) | module_strings
                for name in _called_names(node) & helpers.keys():
                    strings |= helpers[name]
                # fixtures the test takes, defined in the same module, count as helpers
                for arg in node.args.args:
                    strings |= helpers.get(arg.arg, set())
                units.append(frozenset(_split(strings)))
    return units


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
            if not any(set(path) <= unit and names & unit for unit in units()):
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
