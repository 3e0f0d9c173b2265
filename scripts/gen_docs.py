"""Regenerate the docs that are derived from code: docs/cli.md and docs/settings.md."""

from __future__ import annotations

from pathlib import Path

from postpilot.cli import app
from postpilot.cli._docs import render_cli_reference
from postpilot.settings import render_settings_doc

DOCS = Path(__file__).resolve().parent.parent / "docs"


def main() -> None:
    (DOCS / "cli.md").write_text(render_cli_reference(app), encoding="utf-8")
    (DOCS / "settings.md").write_text(render_settings_doc(), encoding="utf-8")
    print(f"wrote {DOCS / 'cli.md'} and {DOCS / 'settings.md'}")


if __name__ == "__main__":
    main()
