"""The CLI as a new user meets it (each test has its own POSTPILOT_HOME)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.helpers import Run, as_json


@pytest.fixture
def people(cli: Run) -> Run:
    cli("init")
    for email, name in [
        ("maya@example.com", "Maya Chen"),
        ("dev@example.com", "Dev Patel"),
        ("ines@example.com", "Ines Duarte"),
    ]:
        cli("person", "add", email, "--name", name)
    cli("team", "add", "ml-platform")
    return cli


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_pilot_without_owner_names_the_missing_option(people: Run) -> None:
    result = people("product", "create", "churn", "--stage", "pilot", expect=2)
    line = one_error_line(result.stderr)
    assert "(--owner)" in line
    assert "without the person who will own it" in line
    assert as_json(people("product", "list", "--format", "json")) == []


def test_team_or_two_people_as_owner_are_refused(people: Run) -> None:
    people("product", "create", "churn")
    line = one_error_line(
        people("role", "assign", "churn", "owner", "ml-platform", expect=2).stderr
    )
    assert "is a team" in line
    assert "(EMAIL)" in line
    line = one_error_line(
        people(
            "role", "assign", "churn", "owner", "maya@example.com,dev@example.com", expect=2
        ).stderr
    )
    assert "exactly one person, got 2" in line
    line = one_error_line(
        people(
            "role", "assign", "churn", "owner", "maya@example.com", "dev@example.com", expect=2
        ).stderr
    )
    assert "exactly one person, got 2: maya@example.com, dev@example.com" in line
    assert as_json(people("product", "show", "churn", "-f", "json"))["roles"] == {}


def test_second_owner_replaces_and_the_audit_log_shows_both(people: Run) -> None:
    people("product", "create", "churn", "--stage", "pilot", "--owner", "maya@example.com")
    people("role", "assign", "churn", "owner", "dev@example.com", "--reason", "handover")
    shown = as_json(people("product", "show", "churn", "--format", "json"))
    assert shown["roles"]["owner"]["email"] == "dev@example.com"
    events = as_json(people("audit", "log", "--product", "churn", "--format", "json"))
    owner_events = [
        (e["action"], e["after"]["person"]) for e in events if e["subject"] == "churn/owner"
    ]
    assert owner_events == [
        ("role.assigned", "maya@example.com"),
        ("role.replaced", "dev@example.com"),
    ]
    table = people("audit", "log", "--product", "churn").stdout
    assert "maya@example.com" in table
    assert "dev@example.com" in table


def test_deactivation_orphans_are_listed_and_shown_loudly(people: Run) -> None:
    people("product", "create", "churn", "--stage", "pilot", "--owner", "maya@example.com")
    people("source", "add", "churn", "crm", "--steward", "maya@example.com")
    out = people("person", "deactivate", "maya@example.com").stdout
    assert "2 role(s) orphaned" in out
    assert "churn: owner" in out
    assert "churn: data_steward (source crm)" in out
    shown = people("product", "show", "churn").stdout
    assert "2 ORPHANED ROLE(S)" in shown
    assert shown.count("ORPHANED: person inactive") == 2
    data = as_json(people("product", "show", "churn", "-f", "json"))
    assert [a["role"] for a in data["orphaned"]] == ["owner", "data_steward"]
    listed = as_json(people("person", "list", "-f", "json"))
    assert {p["email"]: p["active"] for p in listed}["maya@example.com"] is False


def test_assigning_an_inactive_person_fails_clearly(people: Run) -> None:
    people("product", "create", "churn")
    people("person", "deactivate", "ines@example.com")
    line = one_error_line(
        people("role", "assign", "churn", "training_lead", "ines@example.com", expect=2).stderr
    )
    assert "ines@example.com is inactive" in line


def test_data_steward_needs_source(people: Run) -> None:
    people("product", "create", "churn")
    line = one_error_line(
        people("role", "assign", "churn", "data_steward", "ines@example.com", expect=2).stderr
    )
    assert "(--source)" in line
    people("source", "add", "churn", "crm", "--description", "CRM export")
    people("role", "assign", "churn", "data_steward", "ines@example.com", "--source", "crm")
    sources = as_json(people("product", "show", "churn", "-f", "json"))["sources"]
    assert sources[0]["steward"]["email"] == "ines@example.com"


def test_model_register(people: Run, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,0\n")
    people("product", "create", "churn", "--owner", "maya@example.com")
    result = people(
        "model",
        "register",
        "churn",
        "--artifact",
        "s3://m/v1",
        "--flavor",
        "sklearn",
        "--training-data",
        str(data),
        "--training-rows",
        "1",
        "--training-start",
        "2026-07-01",
        "--metric",
        "auc=0.91",
        "--metric",
        "f1=0.8",
        "-f",
        "json",
    )
    version = as_json(result)
    assert version["version"] == 1
    assert version["metrics"] == {"auc": 0.91, "f1": 0.8}
    assert version["training_data"]["fingerprint"].startswith("sha256:")
    assert version["training_data"]["start"].startswith("2026-07-01T00:00:00+00:00")
    line = one_error_line(
        people(
            "model",
            "register",
            "churn",
            "--artifact",
            "a",
            "--flavor",
            "sklearn",
            "--metric",
            "auc",
            expect=2,
        ).stderr
    )
    assert "(--metric)" in line
    line = one_error_line(
        people(
            "model",
            "register",
            "churn",
            "--artifact",
            "a",
            "--flavor",
            "sklearn",
            "--training-data",
            str(tmp_path / "nope.csv"),
            expect=2,
        ).stderr
    )
    assert "nope.csv)" in line


def test_stage_changes_and_errors(people: Run) -> None:
    people("product", "create", "churn", "--name", "Churn", "--kpi", "retention")
    line = one_error_line(people("product", "stage", "churn", "production", expect=2).stderr)
    assert "cannot move from proposed to production" in line
    line = one_error_line(people("product", "stage", "churn", "pilot", expect=2).stderr)
    assert "role assign churn owner" in line
    people("role", "assign", "churn", "owner", "maya@example.com")
    assert "now in pilot" in people("product", "stage", "churn", "pilot", "--reason", "go").stdout
    shown = as_json(people("product", "show", "churn", "-f", "json"))
    assert [t["to_stage"] for t in shown["transitions"]] == ["proposed", "pilot"]


def test_unknown_things_are_one_line_errors(people: Run) -> None:
    line = one_error_line(people("product", "show", "nope", expect=2).stderr)
    assert line.startswith("error: no product 'nope' (SLUG)")
    one_error_line(people("role", "assign", "nope", "owner", "maya@example.com", expect=2).stderr)
    line = one_error_line(people("product", "create", "Bad Slug", expect=2).stderr)
    assert "not a valid product slug" in line
    people("product", "create", "churn")
    line = one_error_line(
        people("role", "assign", "churn", "boss", "maya@example.com", expect=2).stderr
    )
    assert "use one of: owner, data_steward" in line


def test_audit_verify_names_an_edited_event(people: Run, tmp_path: Path) -> None:
    people("product", "create", "churn", "--stage", "pilot", "--owner", "maya@example.com")
    assert "audit chain ok" in people("audit", "verify").stdout
    db = sqlite3.connect(tmp_path / "home" / "postpilot.db")
    with db:
        db.execute(
            "UPDATE audit_events SET after = json_set(after, '$.person', 'mallory')"
            " WHERE action = 'role.assigned'"
        )
    db.close()
    result = people("audit", "verify", expect=1)
    assert "BROKEN at event #6" in result.stdout
    assert "role.assigned churn/owner" in result.stdout
    data = as_json(people("audit", "verify", "-f", "json", expect=1))
    assert (data["ok"], data["first_bad_seq"]) == (False, 6)


def test_audit_verify_detects_a_deleted_last_event(people: Run, tmp_path: Path) -> None:
    people("product", "create", "churn")
    db = sqlite3.connect(tmp_path / "home" / "postpilot.db")
    with db:
        db.execute("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)")
    db.close()
    result = people("audit", "verify", expect=1)
    assert "were deleted" in result.stdout


def test_listings_have_json_and_tables(people: Run) -> None:
    people("product", "create", "churn", "--owner", "maya@example.com")
    for group in (["person"], ["team"], ["product"]):
        assert isinstance(as_json(people(*group, "list", "--format", "json")), list)
        assert people(*group, "list").stdout.strip()
    products = as_json(people("product", "list", "-f", "json"))
    assert products[0]["owner"] == "maya@example.com"
    assert "churn" in people("product", "list", "--stage", "proposed").stdout


def test_usage_errors_exit_2(cli: Run) -> None:
    cli("product", "create", expect=2)
    cli("product", "list", "--format", "xml", expect=2)
    cli("person", "add", "x@example.com", expect=2)
