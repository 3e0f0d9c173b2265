"""Registry options that no other test used, each checked by its effect (the stored
value, the printed text, the JSON field), on both stores: deleting the line that
passes the option on makes the test fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CliStore, Run, as_json


@pytest.fixture
def people(cli: Run, cli_store: CliStore) -> Run:
    cli("team", "add", "ml-platform")
    cli("person", "add", "maya@example.com", "--name", "Maya Chen", "--team", "ml-platform")
    cli("person", "add", "dev@example.com", "--name", "Dev Patel")
    return cli


def test_person_add_team_is_stored(people: Run) -> None:
    listed = {p["email"]: p for p in as_json(people("person", "list", "-f", "json"))}
    assert listed["maya@example.com"]["team"] == "ml-platform"
    assert listed["dev@example.com"]["team"] is None


def test_person_deactivate_reason_is_in_the_audit_log(people: Run) -> None:
    people("person", "deactivate", "dev@example.com", "--reason", "moved to payments")
    events = as_json(people("audit", "log", "-f", "json"))
    assert "moved to payments" in str([e for e in events if e["action"].startswith("person.")])


def test_person_activate_format_json(people: Run) -> None:
    people("person", "deactivate", "dev@example.com")
    person = as_json(people("person", "activate", "dev@example.com", "--format", "json"))
    assert (person["email"], person["active"]) == ("dev@example.com", True)


def test_person_list_active_only_hides_the_inactive(people: Run) -> None:
    people("person", "deactivate", "dev@example.com")
    everyone = {p["email"] for p in as_json(people("person", "list", "-f", "json"))}
    active = {p["email"] for p in as_json(people("person", "list", "--active-only", "-f", "json"))}
    assert everyone == {"maya@example.com", "dev@example.com"}
    assert active == {"maya@example.com"}


def test_product_create_purpose_team_availability_and_budget_are_stored(people: Run) -> None:
    people(
        "product",
        "create",
        "churn",
        "--purpose",
        "keep customers",
        "--team",
        "ml-platform",
        "--sla-availability",
        "99.5",
        "--monthly-budget",
        "1200.5",
    )
    shown = as_json(people("product", "show", "churn", "-f", "json"))
    assert shown["purpose"] == "keep customers"
    assert shown["team"] == "ml-platform"
    assert shown["sla"]["availability_pct"] == 99.5
    assert shown["monthly_budget"] == 1200.5
    table = people("product", "show", "churn").stdout
    assert "availability 99.5%" in table
    assert "monthly budget: 1,200.50" in table


def test_model_register_training_end_and_no_profile(people: Run, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,0\n2,1\n3,0\n")
    people("product", "create", "churn", "--owner", "maya@example.com")
    base = ["model", "register", "churn", "--artifact", "a", "--flavor", "sklearn"]
    profiled = as_json(people(*base, "--training-data", str(data), "-f", "json"))
    assert profiled["contract"]
    version = as_json(
        people(
            *base,
            "--training-data",
            str(data),
            "--training-end",
            "2026-06-30",
            "--no-profile",
            "-f",
            "json",
        )
    )
    assert version["training_data"]["end"].startswith("2026-06-30T00:00:00+00:00")
    assert version["contract"] is None
