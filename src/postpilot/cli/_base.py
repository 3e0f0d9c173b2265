"""What every command shares: error mapping, the registry, output formats."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup, TyperOption

from postpilot.errors import ContractError, PostpilotError
from postpilot.registry import Registry, to_data

__all__ = [
    "EXIT_FOUND",
    "EXIT_USAGE",
    "Format",
    "FormatOption",
    "app_group",
    "command",
    "console",
    "emit",
    "emit_json",
    "registry",
]

EXIT_FOUND = 1
"""The check found problems (violations, drift, a broken audit chain)."""
EXIT_USAGE = 2
"""Usage or input error; one line on stderr."""


def _width() -> int | None:
    """The terminal's width; when output is piped, a wide page so rows are not folded."""
    if sys.stdout.isatty():
        return None
    return int(os.environ.get("COLUMNS", "") or 200)


console = Console(highlight=False, soft_wrap=False, width=_width())
notes = Console(stderr=True, highlight=False, soft_wrap=False, width=_width())
"""For remarks beside a command's output (``stored as run #3``): stderr, so JSON on
stdout stays parseable."""


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOption = typer.Option(
    Format.table, "--format", "-f", help="table for people, json for machines (stable fields)."
)


def error_line(exc: PostpilotError, ctx: typer.Context | None) -> str:
    """``error: <what> (<option or file>)`` and the fix, on one line."""
    where = exc.file or _param_label(exc.field, ctx)
    text = f"error: {exc.message}"
    if where:
        text += f" ({where})"
    if exc.hint:
        text += f"; {exc.hint[0].lower()}{exc.hint[1:]}"
    return text.replace("\n", " ")


def _param_label(field: str | None, ctx: typer.Context | None) -> str | None:
    """The CLI spelling of an API field: ``owner`` becomes ``--owner``, ``email`` ``EMAIL``."""
    if not field or ctx is None:
        return field
    for param in ctx.command.params:
        if param.name == field:
            if isinstance(param, TyperOption):
                return max(param.opts, key=len)
            return (param.name or field).upper()
    return field


class Command(TyperCommand):
    """A command whose postpilot errors become one line on stderr and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ContractError as exc:
            for problem in exc.problems:  # one line per mistake, each with its file:line
                typer.echo(f"error: {problem}", err=True)
            sys.exit(EXIT_USAGE)
        except PostpilotError as exc:
            typer.echo(error_line(exc, ctx), err=True)
            sys.exit(EXIT_USAGE)


def app_group(name: str | None, help: str) -> typer.Typer:
    """A command group; register its commands with :func:`command`."""
    return typer.Typer(
        name=name,
        help=help,
        cls=TyperGroup,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )


def command(app: typer.Typer, name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """``app.command(name)`` with postpilot's error handling."""
    return app.command(name, cls=Command, **kwargs)


def registry() -> Registry:
    """The registry the CLI works on: settings from the environment."""
    return Registry()


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def emit(value: Any, fmt: Format, table: Callable[[Any], None]) -> None:
    """Print ``value`` as JSON, or hand it to ``table`` to render for people."""
    if fmt is Format.json:
        emit_json(to_data(value))
    else:
        table(value)
