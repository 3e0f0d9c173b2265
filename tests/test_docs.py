"""Docs derived from code must be current: run `python scripts/gen_docs.py` to refresh."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import postpilot.registry.registry
import postpilot.store.store
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


@pytest.mark.parametrize("module", [postpilot.registry.registry, postpilot.store.store])
def test_docstring_examples_run(
    module: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(module, raise_on_error=False)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


def test_readme_opens_with_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    head = text[: text.index("\n## ")]
    assert "postpilot demo" in head
    assert "pytest" in head
