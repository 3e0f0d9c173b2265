"""The one error path: every failure is one ``error:`` line and a documented exit code.

0 ok, 1 found problems, 2 usage or input error (one line naming the option, argument
or file), 3 internal error (one line; the traceback only with --debug or
POSTPILOT_DEBUG=1). User text is printed as typed, never read as Rich markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc
import typer
from typer.testing import CliRunner, Result

from postpilot import Registry
from postpilot.cli import app
from postpilot.cli._base import EXIT_INTERNAL, EXIT_USAGE
from tests.conftest import ACTOR
from tests.helpers import Run, as_json


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def one_error_line(result: Result, code: int = EXIT_USAGE) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# -- internal errors ---------------------------------------------------------------


def _boom(*_: Any, **__: Any) -> Any:
    raise RuntimeError("boom in the registry")


def test_an_unexpected_error_is_one_line_and_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Registry, "people", _boom)
    line = one_error_line(invoke("person", "list"), EXIT_INTERNAL)
    assert line.startswith("error: internal error: RuntimeError: boom in the registry; ")
    assert "please report it" in line
    assert "--debug" in line


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--debug", "person", "list"], {}), (["person", "list"], {"POSTPILOT_DEBUG": "1"})],
    ids=["--debug", "POSTPILOT_DEBUG=1"],
)
def test_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]
) -> None:
    monkeypatch.setattr(Registry, "people", _boom)
    result = invoke(*args, env=env)
    assert result.exit_code == EXIT_INTERNAL
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "_boom" in result.stderr  # the frame that raised
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: internal error: RuntimeError: boom in the registry; ")


def test_debug_off_by_default_even_when_the_variable_is_set_false(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Registry, "people", _boom)
    one_error_line(invoke("person", "list", env={"POSTPILOT_DEBUG": "0"}), EXIT_INTERNAL)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")),
            "error: the metadata store refused the operation: database is locked; ",
        ),
        (
            sqlalchemy.exc.DataError("INSERT", {}, Exception("value too long\nDETAIL: x")),
            "error: the metadata store refused the operation: value too long; ",
        ),
        (
            sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
            "error: the metadata store refused the operation: UNIQUE constraint failed; ",
        ),
        (
            PermissionError(13, "Permission denied", "/srv/report.html"),
            "error: permission denied (/srv/report.html)",
        ),
        (
            IsADirectoryError(21, "Is a directory", "/srv/out"),
            "error: is a directory (/srv/out)",
        ),
    ],
    ids=["operational", "data", "integrity", "permission", "is-a-directory"],
)
def test_foreign_errors_at_the_boundary_are_input_errors(
    monkeypatch: pytest.MonkeyPatch, error: Exception, expected: str
) -> None:
    def fail(*_: Any, **__: Any) -> Any:
        raise error

    monkeypatch.setattr(Registry, "people", fail)
    line = one_error_line(invoke("person", "list"))
    assert line.startswith(expected), line


def test_keyboard_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*_: Any, **__: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(Registry, "people", interrupt)
    assert invoke("person", "list").exit_code == 130


def test_model_card_to_a_folder_is_refused_before_any_work(cli: Run, tmp_path: Path) -> None:
    cli("product", "create", "churn")
    cli("model", "register", "churn", "--artifact", "s3://m/1", "--flavor", "sklearn")
    line = one_error_line(invoke("model", "card", "churn", "-o", str(tmp_path)))
    assert f"{tmp_path} is a folder (--output)" in line
    assert [p.name for p in tmp_path.iterdir()] == ["home"]  # no stray file


# -- option-parser errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bogus"], "error: no such option (--bogus)"),
        (["person", "add", "a@example.com", "--nmae", "A"], "error: no such option (--nmae)"),
        (["person", "add"], "error: missing argument (EMAIL)"),
        (["person", "add", "a@example.com"], "error: missing option, which is required (--name)"),
        (["person", "add", "a@example.com", "--name"], "error: the option needs a value (--name)"),
        (["product", "list", "-f", "xml"], "is not one of 'table', 'json' (-f)"),
        (["product", "list", "--format=xml"], "is not one of 'table', 'json' (--format)"),
        (["product", "list", "-fxml"], "is not one of 'table', 'json' (-f)"),
        (
            ["product", "create", "churn", "--sla-latency-ms", "fast"],
            "got 'fast' (--sla-latency-ms)",
        ),
        (
            ["model", "register", "churn", "--artifact", "a", "--flavor", "f", "--training-rows=x"],
            "got 'x' (--training-rows)",
        ),
        (["nosuch"], "error: no such command (nosuch); the commands are: init, "),
        (["person", "add", "a@example.com", "--name", "A", "extra"], "(extra)"),
    ],
)
def test_parser_errors_are_one_line_naming_the_option_as_typed(
    args: list[str], expected: str
) -> None:
    line = one_error_line(invoke(*args))
    assert expected in line, line
    assert "Usage:" not in line
    assert "Try " not in line


def test_help_is_unchanged() -> None:
    result = invoke("person", "add", "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    assert "--name" in result.stdout
    assert "--help" in result.stdout
    root = invoke("--help")
    assert root.exit_code == 0
    assert "--debug" in root.stdout
    assert "POSTPILOT_DEBUG" in root.stdout
    assert "Exit codes: 0 ok" in root.stdout


def _leaf_commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subs = getattr(command, "commands", None)
        if subs is None:
            yield path, command
            return
        for name, sub in sorted(subs.items()):
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


LEAVES = list(_leaf_commands())


def test_the_command_tree_is_walked() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"person add", "drift", "estimate", "contract infer", "labels ingest"} <= names
    assert len(LEAVES) >= 25


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_answers_an_unknown_option_with_one_line(path: tuple[str, ...]) -> None:
    line = one_error_line(invoke(*path, "--no-such-option"))
    assert line.startswith("error: no such option (--no-such-option)")


def _takes_a_typed_value(param: Any) -> bool:
    """An option whose value is parsed: a number, a date or one of a set of choices."""
    if getattr(param, "param_type_name", "") != "option" or getattr(param, "is_flag", False):
        return False
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if annotation is None:  # click-style parameters carry their type
        return getattr(getattr(param, "type", None), "name", "") in {"integer", "float", "choice"}
    return annotation in (int, float, datetime) or (
        isinstance(annotation, type) and issubclass(annotation, Enum)
    )


BAD_VALUES = [
    (path, opt)
    for path, command in LEAVES
    for param in command.params
    if _takes_a_typed_value(param)
    for opt in param.opts
]


@pytest.mark.parametrize(
    ("path", "opt"), BAD_VALUES, ids=[" ".join((*p, o)) for p, o in BAD_VALUES]
)
def test_every_typed_option_answers_a_bad_value_with_one_line_naming_it(
    path: tuple[str, ...], opt: str
) -> None:
    line = one_error_line(invoke(*path, opt, "not-a-value"))
    assert f"({opt})" in line, line


def test_typed_options_are_found() -> None:
    opts = {(" ".join(p), o) for p, o in BAD_VALUES}
    assert ("model register", "--training-rows") in opts
    assert ("product list", "-f") in opts
    assert len(opts) >= 20


# -- user text is never markup -------------------------------------------------------

MARKUP_NAMES = ["[/]", "[bold red]x[/bold red]", "Zoë 李 🚀 ‮", ":thumbs_up: [link=x]y"]


@pytest.mark.parametrize("name", MARKUP_NAMES)
def test_names_are_printed_as_typed_by_every_list_and_show(cli: Run, name: str) -> None:
    email = "[b]x[/b]@example.com"
    cli("team", "add", name, "--description", name)
    assert name in cli("team", "list").stdout
    added = cli("person", "add", email, "--name", name, "--team", name).stdout
    assert name in added
    assert email in added
    cli("product", "create", "churn", "--name", name, "--purpose", name, "--kpi", name)
    cli("product", "create", "fraud", "--owner", email, "--team", name)
    cli("source", "add", "churn", name, "--description", name, "--steward", email)
    cli("role", "assign", "churn", "owner", email, "--reason", name)
    registered = cli(
        "model", "register", "churn", "--model", name, "--artifact", name, "--flavor", "sklearn"
    ).stdout
    assert f"churn/{name} version 1" in registered
    people = cli("person", "list").stdout
    assert name in people
    assert email in people
    products = cli("product", "list").stdout
    assert name in products
    assert email in products
    shown = cli("product", "show", "churn").stdout
    assert shown.count(name) >= 5, shown  # title, purpose, kpi, source, model
    assert email in shown
    assert name in cli("audit", "log").stdout
    card = cli("card", "churn").stdout
    assert name in card
    orphaned = cli("person", "deactivate", email).stdout
    assert name in orphaned
    assert email in orphaned
    assert "INACTIVE" in cli("product", "list").stdout
    assert json.loads(cli("person", "list", "-f", "json").stdout)[0]["name"] == name.strip()


def test_long_names_round_trip_through_every_listing(cli: Run) -> None:
    name = "N" * 199 + "]"
    team = "[t]" + "T" * 97
    cli("team", "add", team)
    cli("person", "add", "a@example.com", "--name", name, "--team", team)
    cli("product", "create", "churn", "--name", name, "--owner", "a@example.com")
    cli("source", "add", "churn", "S" * 100, "--steward", "a@example.com")
    cli("model", "register", "churn", "--model", "M" * 100, "--artifact", "a", "--flavor", "f")
    for args in (["person", "list"], ["team", "list"], ["product", "list"]):
        cli(*args)  # the tables print, exit 0
    people = as_json(cli("person", "list", "-f", "json"))
    assert (people[0]["name"], people[0]["team"]) == (name, team)
    shown = as_json(cli("product", "show", "churn", "-f", "json"))
    assert shown["name"] == name
    assert shown["sources"][0]["name"] == "S" * 100
    assert shown["versions"][0]["model"] == "M" * 100
    cli("product", "show", "churn")
    assert name in "".join(cli("card", "churn").stdout.split())


# -- limits and rules, on both stores ----------------------------------------------


@pytest.fixture
def store_cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``cli`` on the SQLite and the PostgreSQL store."""
    monkeypatch.setenv("POSTPILOT_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> Result:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == expect, (result.stdout, result.stderr)
        return result

    run("init")
    return run


def _audit_head(database_url: str) -> int:
    with Registry(database_url, actor=ACTOR) as reg:
        return reg.verify_audit().events


@pytest.mark.parametrize(
    ("args", "where", "limit"),
    [
        (["person", "add", "a" * 243 + "@example.com", "--name", "A"], "(EMAIL)", 254),
        (["person", "add", "a@example.com", "--name", "N" * 201], "(--name)", 200),
        (["team", "add", "T" * 101], "(NAME)", 100),
        (["product", "create", "churn", "--name", "N" * 201], "(--name)", 200),
        (["product", "create", "churn", "--sla-metric", "m" * 65], "(--sla-metric)", 64),
        (["source", "add", "base", "S" * 101], "(NAME)", 100),
        (
            ["model", "register", "base", "--model", "M" * 101, "--artifact", "a", "--flavor", "f"],
            "(--model)",
            100,
        ),
        (
            ["role", "assign", "base", "owner", "a@example.com", "--reason", "r" * 201],
            "(--reason)",
            200,
        ),
    ],
    ids=["email", "person-name", "team", "product-name", "sla-metric", "source", "model", "reason"],
)
def test_too_long_is_one_line_on_both_stores_and_stores_nothing(
    store_cli: Run, database_url: str, args: list[str], where: str, limit: int
) -> None:
    store_cli("person", "add", "a@example.com", "--name", "A")
    store_cli("product", "create", "base")
    before = _audit_head(database_url)
    line = one_error_line(store_cli(*args, expect=2))
    assert f"at most {limit} fit {where}" in line, line
    assert _audit_head(database_url) == before


def test_the_limits_themselves_are_accepted_on_both_stores(store_cli: Run) -> None:
    email = "a" * 242 + "@example.com"
    assert len(email) == 254
    store_cli("team", "add", "T" * 100)
    store_cli("person", "add", email, "--name", "N" * 200, "--team", "T" * 100)
    store_cli("product", "create", "churn", "--name", "N" * 200, "--owner", email)
    store_cli("source", "add", "churn", "S" * 100, "--steward", email)
    store_cli("role", "assign", "churn", "owner", "b@example.com", expect=2)  # unknown person
    store_cli("person", "add", "b@example.com", "--name", "B")
    store_cli("role", "assign", "churn", "owner", "b@example.com", "--reason", "r" * 200)
    # the default end reason, "replaced by <254-character email>", is cut to fit
    store_cli("role", "assign", "churn", "owner", email)
    store_cli("role", "assign", "churn", "owner", "b@example.com")
    shown = as_json(store_cli("product", "show", "churn", "-f", "json"))
    assert shown["roles"]["owner"]["email"] == "b@example.com"


def test_card_version_of_two_models_is_ambiguous(store_cli: Run) -> None:
    store_cli("product", "create", "churn")
    for model in ("gbm", "logreg"):
        store_cli(
            "model", "register", "churn", "--model", model, "--artifact", "a", "--flavor", "f"
        )
    line = one_error_line(store_cli("card", "churn", "--version", "1", expect=2))
    assert "has a version 1 of 2 models (gbm, logreg)" in line
    assert "(--model); name the model: --model gbm --version 1" in line
    assert "logreg v1" in store_cli("card", "churn", "--version", "1", "--model", "logreg").stdout
    line = one_error_line(store_cli("model", "card", "churn", "--model", "xgb", expect=2))
    assert "has no model 'xgb' (it has: gbm, logreg) (--model)" in line
    assert "logreg v1" in store_cli("card", "churn").stdout  # the newest, when nothing is named


@pytest.mark.parametrize("rows", ["-5", "0"])
def test_non_positive_training_rows_are_refused(store_cli: Run, rows: str) -> None:
    store_cli("product", "create", "churn")
    line = one_error_line(
        store_cli(
            "model", "register", "churn", "--artifact", "a", "--flavor", "f",
            "--training-data", "s3://bucket/train.parquet", "--training-rows", rows,
            expect=2,
        )
    )  # fmt: skip
    assert f"must be a positive whole number, got {rows} (--training-rows)" in line
    assert as_json(store_cli("product", "show", "churn", "-f", "json"))["versions"] == []


def test_training_rows_without_training_data_are_refused(cli: Run) -> None:
    cli("product", "create", "churn")
    line = one_error_line(
        invoke(
            "model", "register", "churn", "--artifact", "a", "--flavor", "f",
            "--training-rows", "5",
        )
    )  # fmt: skip
    assert "no training data was named (--training-rows)" in line


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--sla-latency-ms", "-1", "the p99 latency SLA must be a positive number of ms, got -1"),
        ("--sla-latency-ms", "inf", "the p99 latency SLA must be a positive number of ms, got inf"),
        ("--sla-availability", "101", "availability SLA must be a percentage in (0, 100], got 101"),
        ("--monthly-budget", "nan", "the monthly budget must be zero or more, got nan"),
    ],
)
def test_sla_errors_name_the_option_not_the_python_field(
    cli: Run, option: str, value: str, message: str
) -> None:
    line = one_error_line(invoke("product", "create", "churn", option, value))
    assert f"{message} ({option})" in line, line
    assert "sla_" not in line
    assert "monthly_budget" not in line


def test_sla_threshold_nan_is_refused(cli: Run) -> None:
    line = one_error_line(
        invoke("product", "create", "churn", "--sla-metric", "auc", "--sla-threshold", "nan")
    )
    assert "must be a finite number, got nan (--sla-threshold)" in line


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["product", "create", "churn", "--owner", "nobody@example.com"], "(--owner)"),
        (["source", "add", "base", "crm", "--steward", "nobody@example.com"], "(--steward)"),
        (["source", "add", "base", "crm", "--steward", "not-an-email"], "(--steward)"),
        (["role", "assign", "base", "owner", "nobody@example.com"], "(EMAIL)"),
        (["labels", "count", "--product", "nope"], "(--product)"),
        (["product", "show", "nope"], "(SLUG)"),
        (["product", "create", "churn", "--team", "nope"], "(--team)"),
    ],
)
def test_errors_name_the_option_that_gave_the_value(cli: Run, args: list[str], where: str) -> None:
    cli("product", "create", "base")
    line = one_error_line(invoke(*args))
    assert where in line, line
