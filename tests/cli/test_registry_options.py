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


# Options whose wiring could be removed without a test failing (scripts/mutate_options.py
# found them): each is now checked by its effect.


def test_person_add_and_deactivate_format_json(cli: Run, cli_store: CliStore) -> None:
    added = as_json(cli("person", "add", "maya@example.com", "--name", "Maya", "--format", "json"))
    assert (added["email"], added["name"], added["active"]) == ("maya@example.com", "Maya", True)
    cli("product", "create", "churn", "--owner", "maya@example.com")
    gone = as_json(cli("person", "deactivate", "maya@example.com", "--format", "json"))
    assert (gone["person"]["active"], gone["changed"]) == (False, True)
    assert gone["orphaned"] == [{"product": "churn", "role": "owner", "source": None}]


def test_team_add_description_and_format_json(cli: Run, cli_store: CliStore) -> None:
    team = as_json(cli("team", "add", "ml", "--description", "the ML folks", "--format", "json"))
    assert (team["name"], team["description"]) == ("ml", "the ML folks")
    assert [t["description"] for t in as_json(cli("team", "list", "-f", "json"))] == [
        "the ML folks"
    ]


def test_product_create_kpi_and_format_json(people: Run) -> None:
    created = as_json(
        people("product", "create", "churn", "--kpi", "retention", "--format", "json")
    )
    assert (created["slug"], created["kpi"], created["stage"]) == ("churn", "retention", "proposed")
    assert as_json(people("product", "show", "churn", "-f", "json"))["kpi"] == "retention"
    assert "retention" in people("product", "show", "churn").stdout


def test_product_list_stage_and_product_stage_reason(people: Run) -> None:
    people("product", "create", "churn", "--owner", "maya@example.com")
    people("product", "create", "fraud", "--owner", "maya@example.com")
    moved = as_json(
        people("product", "stage", "churn", "pilot", "--reason", "board said go", "-f", "json")
    )
    assert (moved["slug"], moved["stage"]) == ("churn", "pilot")
    pilots = as_json(people("product", "list", "--stage", "pilot", "-f", "json"))
    assert [p["slug"] for p in pilots] == ["churn"]
    events = as_json(people("audit", "log", "-f", "json"))
    changed = [e for e in events if e["action"] == "product.stage_changed"]
    assert [e["after"] for e in changed] == [{"reason": "board said go", "stage": "pilot"}]


def test_role_assign_and_source_add_description_and_format_json(people: Run) -> None:
    people("product", "create", "churn", "--owner", "maya@example.com")
    source = as_json(
        people("source", "add", "churn", "crm", "--description", "the CRM", "--format", "json")
    )
    assert (source["name"], source["description"]) == ("crm", "the CRM")
    assert "the CRM" in str(as_json(people("product", "show", "churn", "-f", "json"))["sources"])
    held = as_json(
        people(
            "role",
            "assign",
            "churn",
            "data_steward",
            "dev@example.com",
            "--source",
            "crm",
            "--format",
            "json",
        )
    )
    assert (held["role"], held["email"], held["source"]) == (
        "data_steward",
        "dev@example.com",
        "crm",
    )


def test_model_card_version_model_format_and_output(people: Run, tmp_path: Path) -> None:
    people("product", "create", "churn", "--owner", "maya@example.com")
    base = ["model", "register", "churn", "--artifact", "a", "--flavor", "sklearn"]
    people(*base, "--limitations", "first try")
    people(*base, "--limitations", "second try")
    people(*base, "--model", "beta", "--limitations", "the beta")
    newest = people("model", "card", "churn", "--model", "churn").stdout
    assert newest.startswith("# Model card: churn, churn v2")
    assert "second try" in newest
    first = people("model", "card", "churn", "--model", "churn", "--version", "1").stdout
    assert first.startswith("# Model card: churn, churn v1")
    assert "first try" in first
    beta = people("model", "card", "churn", "--model", "beta").stdout
    assert beta.startswith("# Model card: churn, beta v1")
    page = tmp_path / "card.html"
    people("model", "card", "churn", "--model", "beta", "--format", "html", "--output", str(page))
    assert page.read_text().startswith("<!doctype html>")
    assert "the beta" in page.read_text()


def test_audit_log_product_shows_that_products_events_only(people: Run) -> None:
    people("product", "create", "churn", "--owner", "maya@example.com")
    people("product", "create", "fraud", "--owner", "dev@example.com")
    churn = as_json(people("audit", "log", "--product", "churn", "-f", "json"))
    assert {e["product"] for e in churn} == {"churn"}
    assert {"product.created", "role.assigned"} <= {e["action"] for e in churn}
    everything = as_json(people("audit", "log", "-f", "json"))
    assert {"churn", "fraud", None} <= {e["product"] for e in everything}
