"""What every command shares: the one error path, the registry, output formats.

The error path, in one place: whatever goes wrong reaches the person as one
line on stderr and a documented exit code, never a traceback.

* a postpilot error (bad input, unknown name, a rule of the registry), a file
  that cannot be read or written, a store that refuses the change:
  ``error: <what> (<option, argument or file>); <how to fix it>``, exit 2;
* an option-parser error (unknown option, missing or malformed value):
  ``error: <what> (<the option as typed>); see postpilot ... --help``, exit 2;
* anything else (a bug): ``error: internal error: <type>: <message>; please
  report it at ...``, exit 3; with ``--debug`` or ``POSTPILOT_DEBUG=1`` the
  traceback is printed above that line.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup, TyperOption

from postpilot.errors import ContractError, PostpilotError
from postpilot.registry import to_data

if TYPE_CHECKING:  # the registry (SQLAlchemy) is imported when a command opens it
    from postpilot.registry import Registry

try:  # typer 0.2x vendors click as typer._click; older typer uses click itself
    from typer._click import exceptions as _click_errors
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as _click_errors  # type: ignore[no-redef]

__all__ = [
    "EXIT_FOUND",
    "EXIT_INTERNAL",
    "EXIT_USAGE",
    "REPORT_TO",
    "Format",
    "FormatOption",
    "RootGroup",
    "app_group",
    "command",
    "console",
    "emit",
    "emit_json",
    "plain",
    "registry",
]

EXIT_FOUND = 1
"""The check found problems (violations, drift, a broken audit chain)."""
EXIT_USAGE = 2
"""Usage or input error; one line on stderr naming the option, argument or file."""
EXIT_INTERNAL = 3
"""An internal error (a bug in postpilot): one line on stderr asking for a report;
``--debug`` or ``POSTPILOT_DEBUG=1`` adds the traceback."""

REPORT_TO = "the postpilot developers"
"""Where the internal-error line asks people to report a bug."""
DEBUG_ENV = "POSTPILOT_DEBUG"

_OPENED: ContextVar[list[Registry] | None] = ContextVar("postpilot_registries", default=None)
"""The registries a running command opened, closed when it ends."""
_ARGV: ContextVar[tuple[str, ...]] = ContextVar("postpilot_argv", default=())
"""The command line as typed, so parser errors can name an option as the user spelled it."""


def _width() -> int | None:
    """The terminal's width; when output is piped, a wide page so rows are not folded."""
    if sys.stdout.isatty():
        return None
    return int(os.environ.get("COLUMNS", "") or 200)


# emoji=False: a name such as ``:thumbs_up:`` is printed as typed, like any user text
console = Console(highlight=False, soft_wrap=False, emoji=False, width=_width())
notes = Console(stderr=True, highlight=False, soft_wrap=False, emoji=False, width=_width())
"""For remarks beside a command's output (``stored as run #3``): stderr, so JSON on
stdout stays parseable."""


def plain(text: object) -> str:
    """``text`` made safe to print through Rich: never read as markup.

    Every piece of user text (a name, an email, a column, a file name) goes
    through this before it meets ``console.print`` or a table cell, so a person
    named ``[/]`` or ``[bold red]x[/bold red]`` is printed as typed.

    >>> plain("[bold red]x[/bold red]")
    '\\\\[bold red]x\\\\[/bold red]'
    >>> plain(None)
    ''
    """
    return "" if text is None else escape(str(text))


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
        text += f"; {_sentence_tail(exc.hint)}"
    return _one_line(text)


def _sentence_tail(hint: str) -> str:
    """The hint continuing a sentence: "Pass --x" becomes "pass --x", but a hint that
    opens with a name or an acronym ("POSTPILOT_HOME ...", "NAME@VERSION") stays as is."""
    first = hint.split(" ", 1)[0]
    return hint if first[1:2].isupper() or not first[:1].isalpha() else hint[0].lower() + hint[1:]


def _param_label(field: str | None, ctx: typer.Context | None) -> str | None:
    """The CLI spelling of an API field: ``owner`` becomes ``--owner``, ``email`` ``EMAIL``.

    A field names a parameter when it is the parameter's name, or one of its
    option strings without the dashes (``monthly_budget`` is ``--monthly-budget``), or
    its alias (a product's ``slug`` is ``--product``);
    an option is shown by its longest option string, an argument by its name in
    capitals. A field that names no parameter of the command is shown as it is.
    """
    if not field or ctx is None:
        return field
    params = ctx.command.params
    for param in params:
        if param.name == field:
            return _label(param)
    for alias in _ALIASES.get(field, ()):
        for param in params:
            if param.name == alias:
                return _label(param)
    for param in params:
        opts = [*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())]
        if isinstance(param, TyperOption) and any(
            o.lstrip("-").replace("-", "_") == field for o in opts
        ):
            return _label(param)
    return field


_ALIASES = {"slug": ("product",)}
"""Registry fields that commands take under another name: a product's ``slug`` is
``--product`` in the commands that work on one product's data."""


def _label(param: Any) -> str:
    if isinstance(param, TyperOption) or getattr(param, "param_type_name", "") == "option":
        return str(max(param.opts, key=len))
    return str(param.name or "").upper()


def _typed(param: Any, argv: Sequence[str]) -> str:
    """How the user spelled ``param`` on the command line (its last use), else its label."""
    if getattr(param, "param_type_name", "") != "option":
        return _label(param)
    opts = [*param.opts, *getattr(param, "secondary_opts", ())]
    for arg in reversed(argv):
        if arg == "--":
            continue
        for opt in opts:
            if arg == opt or arg.startswith(opt + "="):
                return str(opt)
            if len(opt) == 2 and not opt.startswith("--") and arg.startswith(opt):
                return str(opt)  # a short option glued to its value: -fjson
    return _label(param)


def _typed_value(opt: str | None, argv: Sequence[str]) -> str | None:
    """The value typed after option ``opt`` (its last use), if it can be found."""
    if not opt or not opt.startswith("-"):
        return None
    for i in range(len(argv) - 1, -1, -1):
        token = argv[i]
        if token == opt:
            return argv[i + 1] if i + 1 < len(argv) else None
        if token.startswith(opt + "="):
            return token[len(opt) + 1 :]
        if len(opt) == 2 and not opt.startswith("--") and token.startswith(opt):
            return token[2:]
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split("\n")).replace("\r", " ")


def _sentence(text: str) -> str:
    """A message as a clause: lower-case first letter, no final period."""
    text = text.strip().removeprefix("Value error, ").rstrip(".")
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def usage_error_line(exc: Any, argv: Sequence[str]) -> str:
    """An option-parser error as ``error: <what> (<option as typed>); see ... --help``."""
    what: str
    where: str | None = None
    hint = ""
    param = getattr(exc, "param", None)
    if isinstance(exc, _click_errors.NoSuchOption):
        what, where = "no such option", exc.option_name
        if exc.possibilities:
            hint = "did you mean " + " or ".join(sorted(exc.possibilities))
    elif isinstance(exc, _click_errors.MissingParameter):
        kind = getattr(param, "param_type_name", None) or "parameter"
        what = f"missing {kind}"
        where = _label(param) if param is not None else _hint_text(exc.param_hint)
        if kind == "option":
            what = "missing option, which is required"
    elif isinstance(exc, _click_errors.BadParameter):
        what = _sentence(exc.message) or "invalid value"
        where = _typed(param, argv) if param is not None else _hint_text(exc.param_hint)
        value = _typed_value(where, argv)
        if value is not None and repr(value) not in what and value not in what:
            what += f", got {value!r}"
    elif isinstance(exc, _click_errors.BadOptionUsage):
        what = (
            "the option needs a value"
            if "requires an argument" in exc.message
            else _sentence(exc.message)
        )
        where = exc.option_name
    else:
        message = exc.format_message()
        unknown = re.match(r"No such command '(.*)'", message)
        if unknown:
            what, where = "no such command", unknown.group(1)
            ctx = exc.ctx
            if ctx is not None and hasattr(ctx.command, "list_commands"):
                hint = "the commands are: " + ", ".join(ctx.command.list_commands(ctx))
        else:
            extra = re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", message)
            if extra:
                what, where = "unexpected extra argument", extra.group(1)
            else:
                what = _sentence(message)
    ctx = getattr(exc, "ctx", None)
    if not hint and ctx is not None:
        hint = f"see: {ctx.command_path} --help"
    text = f"error: {what}"
    if where:
        text += f" ({where})"
    if hint:
        text += f"; {hint}"
    return _one_line(text)


def _hint_text(hint: Any) -> str | None:
    if hint is None or isinstance(hint, str):
        return hint
    return " / ".join(str(h) for h in hint)


def debug_enabled(ctx: Any = None) -> bool:
    """True when ``--debug`` was given or ``POSTPILOT_DEBUG`` is set to a true value."""
    if os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    while ctx is not None:
        if ctx.params.get("debug"):
            return True
        ctx = ctx.parent
    return False


def fail_internal(exc: BaseException, ctx: Any = None) -> NoReturn:
    """A bug reached the CLI: one line asking for a report, exit 3 (traceback with --debug)."""
    debug = debug_enabled(ctx)
    if debug:
        typer.echo("".join(traceback.format_exception(exc)).rstrip("\n"), err=True)
    detail = _one_line(str(exc)) or "(no message)"
    how = (
        "with the traceback above"
        if debug
        else "with the output of the same command run with --debug"
    )
    typer.echo(
        f"error: internal error: {type(exc).__name__}: {detail}; please report it to "
        f"{REPORT_TO} {how}",
        err=True,
    )
    raise typer.Exit(EXIT_INTERNAL) from None


def foreign_error_line(exc: BaseException) -> str | None:
    """The one line for a foreign exception we can explain, else None.

    The store refusing an operation (SQLAlchemy's OperationalError, DataError,
    IntegrityError, ...) and a file that cannot be used (PermissionError,
    IsADirectoryError, ...) are the user's to fix, not bugs.
    """
    # SQLAlchemy is imported by the commands that use the store; if it is not loaded,
    # nothing raised a DBAPIError, and --help need not import it to find out
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        return _one_line(
            f"error: the metadata store refused the operation: {reason}; check "
            "POSTPILOT_DATABASE_URL and that the store is writable"
        )
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        reason = _sentence(reason)
        name = exc.filename
        where = f" ({os.fsdecode(name)})" if name is not None else ""
        if exc.filename2 is not None:
            where = f" ({os.fsdecode(name)} -> {os.fsdecode(exc.filename2)})"
        return _one_line(f"error: {reason}{where}")
    return None


_PASS_THROUGH: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    _click_errors.ClickException,
    *(
        getattr(_click_errors, name)
        for name in ("Exit", "Abort")
        if isinstance(getattr(_click_errors, name, None), type)
    ),
)
"""Exceptions that are click's own signalling: never an error of the command."""


def _light_help(option: Any) -> Any:
    """The help flag, spared typer's pydantic coercion.

    typer (0.2x) coerces each parameter it processes through a pydantic TypeAdapter,
    built on first use even for a flag that was left out (value None). The help flag
    is processed on every run, so ``postpilot version`` would import pydantic
    (0.15-0.2 s on a 2-core machine) to coerce nothing. Its value is None or True,
    which need no coercion: it gets typer's pass-through coercion instead (None stays
    None, a bool is accepted as it is). With another typer, its own coercion is kept.
    """
    if option is None or getattr(option, "_runtime_param", False) is not None:
        return option
    try:
        from typer._coercion import PassThroughRuntimeParam
    except ImportError:  # pragma: no cover - depends on the installed typer
        return option
    descriptor = option.type_descriptor
    option._runtime_param = PassThroughRuntimeParam(
        parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
    )
    return option


class Command(TyperCommand):
    """A command whose errors follow the one error path (see the module's docstring)."""

    def get_help_option(self, ctx: Any) -> Any:
        return _light_help(super().get_help_option(ctx))

    def invoke(self, ctx: Any) -> Any:
        opened: list[Registry] = []
        token = _OPENED.set(opened)
        try:
            return self._invoke(ctx)
        finally:
            _OPENED.reset(token)
            for reg in opened:
                reg.close()

    def _invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except ContractError as exc:
            for problem in exc.problems:  # one line per mistake, each with its file:line
                typer.echo(_one_line(f"error: {problem}"), err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except PostpilotError as exc:
            typer.echo(error_line(exc, ctx), err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except Exception as exc:
            line = foreign_error_line(exc)
            if line is None:
                fail_internal(exc, ctx)
            if debug_enabled(ctx):
                typer.echo("".join(traceback.format_exception(exc)).rstrip("\n"), err=True)
            typer.echo(line, err=True)
            raise typer.Exit(EXIT_USAGE) from None


_NO_ARGS_IS_HELP: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(_click_errors, "NoArgsIsHelpError", None),) if isinstance(cls, type)
)


class Group(TyperGroup):
    """A command group (``postpilot person``, ...)."""

    def get_help_option(self, ctx: Any) -> Any:
        return _light_help(super().get_help_option(ctx))


class RootGroup(Group):
    """The ``postpilot`` group: parser errors of every command become one ``error:`` line.

    Click prints a parser error as a ``Usage:``/``Try``/``Error:`` block; here it
    is one line naming the option as the user typed it, exit 2. ``--help`` and
    a group called without a command (which shows its help) are left as they are.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        argv = tuple(args)
        _ARGV.set(argv)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _NO_ARGS_IS_HELP:
            raise
        except _click_errors.UsageError as exc:
            typer.echo(usage_error_line(exc, argv), err=True)
            raise typer.Exit(EXIT_USAGE) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _NO_ARGS_IS_HELP:
            raise
        except _click_errors.UsageError as exc:
            typer.echo(usage_error_line(exc, _ARGV.get()), err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except _click_errors.ClickException as exc:  # e.g. a file click could not open
            typer.echo(_one_line(f"error: {_sentence(exc.format_message())}"), err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except _PASS_THROUGH:
            raise
        except Exception as exc:  # raised outside any command, e.g. by a parameter type
            line = foreign_error_line(exc)
            if line is None:
                fail_internal(exc, ctx)
            typer.echo(line, err=True)
            raise typer.Exit(EXIT_USAGE) from None


def app_group(name: str | None, help: str, *, root: bool = False) -> typer.Typer:
    """A command group; register its commands with :func:`command`.

    ``root`` makes the top-level ``postpilot`` group, which owns the parser-error path.
    """
    return typer.Typer(
        name=name,
        help=help,
        cls=RootGroup if root else Group,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )


def command(app: typer.Typer, name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """``app.command(name)`` with postpilot's error handling."""
    return app.command(name, cls=Command, **kwargs)


def registry() -> Registry:
    """The registry the CLI works on: settings from the environment.

    Closed (its connections returned to the server) when the command ends.
    """
    from postpilot.registry import Registry

    reg = Registry()
    opened = _OPENED.get()
    if opened is not None:
        opened.append(reg)
    return reg


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def emit(value: Any, fmt: Format, table: Callable[[Any], None]) -> None:
    """Print ``value`` as JSON, or hand it to ``table`` to render for people."""
    if fmt is Format.json:
        emit_json(to_data(value))
    else:
        table(value)
