"""Docs derived from code must be current: run `python scripts/gen_docs.py` to refresh."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

import postpilot
from postpilot.cli import app
from postpilot.cli._docs import render_cli_reference
from postpilot.settings import SETTINGS, render_settings_doc

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = Path(__file__).resolve().parent.parent / "README.md"


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render_cli_reference(app), (
        "docs/cli.md is stale: run python scripts/gen_docs.py"
    )


def test_settings_reference_is_current() -> None:
    assert (DOCS / "settings.md").read_text(encoding="utf-8") == render_settings_doc()
    for setting in SETTINGS:
        assert setting.help
        assert setting.env.startswith("POSTPILOT_")


SRC = Path(postpilot.__file__).resolve().parent
EXAMPLE = re.compile(r"^\s*>>> ", re.MULTILINE)


def _modules_with_examples() -> list[tuple[str, int]]:
    """Every module of src/postpilot whose source holds a ``>>>`` example, with how many."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        count = len(EXAMPLE.findall(path.read_text(encoding="utf-8")))
        if count:
            parts = path.relative_to(SRC.parent).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, count))
    return found


EXAMPLE_MODULES = _modules_with_examples()


def test_examples_are_discovered() -> None:
    """The discovery itself works: it finds the modules known to carry examples."""
    names = {name for name, _ in EXAMPLE_MODULES}
    assert {"postpilot.registry.registry", "postpilot.store.store", "postpilot.profiles"} <= names
    assert len(EXAMPLE_MODULES) >= 20


@pytest.mark.parametrize(("name", "examples"), EXAMPLE_MODULES, ids=[n for n, _ in EXAMPLE_MODULES])
def test_docstring_examples_run(
    name: str, examples: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ``>>>`` line written in a module is an example doctest runs, and passes: a
    module whose examples execute nothing (outside a docstring doctest finds, or in a
    module no runner imports) fails here."""
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, raise_on_error=False)
    assert result.attempted == examples, (
        f"{name} has {examples} '>>>' example line(s) but doctest ran {result.attempted}"
    )
    assert result.failed == 0


def test_readme_opens_with_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    head = text[: text.index("\n## ")]
    assert "postpilot demo" in head
    assert "pytest" in head
