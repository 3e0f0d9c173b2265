"""The policy, incident, notify and monitor commands: every option reaches the code."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from postpilot import Registry
from tests.helpers import Run
from tests.policies.scenario import (
    DRIFT_FROM,
    SECRET,
    Receiver,
    day_end,
    setup_product,
    write_day,
    write_policy,
)


@pytest.fixture
def incident(cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A product whose day-10 pass opened incident #1 (the receiver stays up)."""
    monkeypatch.setenv("OPS_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    receiver = Receiver()
    with Registry() as reg:
        setup_product(reg, tmp_path)
    cli("policy", "apply", str(write_policy(tmp_path, receiver.url)), "--product", "churn")
    for day in range(1, DRIFT_FROM + 1):
        write_day(tmp_path, day)
    out = cli(
        "monitor",
        "run",
        "--product",
        "churn",
        "--as-of",
        day_end(DRIFT_FROM).isoformat(),
        "--format",
        "json",
        expect=1,
    )
    (result,) = json.loads(out.stdout)
    assert result["batches"] == DRIFT_FROM
    assert any("inputs-drifted: opened incident #1" in line for line in result["done"])
    # the drifted batch also breaks the contract's ranges: the default schema-errors rule
    assert any("schema-errors: notified maya@example.com" in line for line in result["done"])
    yield receiver
    receiver.close()


def test_policy_show_prints_the_applied_policy_without_secrets(
    cli: Run, incident: Receiver
) -> None:
    shown = cli("policy", "show", "churn")
    assert "inputs-drifted" in shown.stdout
    assert "OPS_SECRET" in shown.stdout
    assert SECRET not in shown.stdout
    data = json.loads(cli("policy", "show", "churn", "--format", "json").stdout)
    assert data["version"] == 1
    assert data["default"] is False
    assert data["policy"]["rules"][0]["name"] == "inputs-drifted"


def test_policy_show_without_a_policy_is_the_default(cli: Run, tmp_path: Path) -> None:
    cli("product", "create", "fresh")
    data = json.loads(cli("policy", "show", "fresh", "-f", "json").stdout)
    assert data["default"] is True
    assert {r["name"] for r in data["policy"]["rules"]} >= {"schema-errors", "no-data"}


def test_policy_schema_to_a_file(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "policy.schema.json"
    cli("policy", "schema", "--output", str(out))
    schema = json.loads(out.read_text())
    assert "rules" in schema["properties"]
    assert json.loads(cli("policy", "schema").stdout) == schema


def test_incident_list_ack_and_resolve(cli: Run, incident: Receiver) -> None:
    listed = json.loads(
        cli("incident", "list", "--product", "churn", "--status", "open", "-f", "json").stdout
    )
    assert [i["id"] for i in listed] == [1]
    assert json.loads(cli("incident", "list", "--status", "resolved", "-f", "json").stdout) == []
    cli("product", "create", "fraud")
    assert json.loads(cli("incident", "list", "--product", "fraud", "-f", "json").stdout) == []
    shown = json.loads(cli("incident", "show", "1", "-f", "json").stdout)
    assert shown["events"][0]["kind"] == "opened"
    cli("incident", "ack", "1", "--note", "looking at the CRM export")
    with Registry() as reg:
        acked = reg.incident(1)
    assert acked.status == "acknowledged"
    assert acked.events[-1].detail == {"note": "looking at the CRM export"}
    cli("incident", "ack", "1", expect=2)  # only an open incident can be acknowledged
    cli("incident", "resolve", "1", "--note", "schema fixed upstream")
    with Registry() as reg:
        assert reg.incident(1).resolution == "schema fixed upstream"


def test_an_acknowledged_incident_does_not_escalate(cli: Run, incident: Receiver) -> None:
    cli("incident", "ack", "1")
    later = cli("monitor", "run", "--as-of", day_end(DRIFT_FROM + 3).isoformat(), expect=1)
    assert [p["recipient"]["email"] for p in incident.payloads()] == ["maya@example.com"]
    # what did fire: three days without data, the default no-data rule (store channel)
    assert "no-data: notified lee@example.com (monitoring_lead)" in later.stdout
    assert "escalated" not in later.stdout


def test_notify_test_and_list(cli: Run, incident: Receiver) -> None:
    sent = len(incident.requests)
    cli("notify", "test", "ops", "--product", "churn", "--to", "lee@example.com")
    assert len(incident.requests) == sent + 1
    assert incident.payloads()[-1]["recipient"]["email"] == "lee@example.com"
    cli("notify", "test", "ops", expect=2)  # a product's channel needs its product
    listed = json.loads(cli("notify", "list", "--product", "churn", "-f", "json").stdout)
    assert any(n["channel"] == "ops" and n["status"] == "delivered" for n in listed)
    cli("product", "create", "fraud")
    assert json.loads(cli("notify", "list", "--product", "fraud", "-f", "json").stdout) == []


def test_monitor_run_product_passes_that_product_only(cli: Run, incident: Receiver) -> None:
    cli("product", "create", "fraud")
    (fraud,) = json.loads(cli("monitor", "run", "--product", "fraud", "-f", "json").stdout)
    assert fraud["product"] == "fraud"


class _Clock:
    """``monitor serve``'s clock: sleeping moves it on at once, and a loop that runs
    past an hour (one that ignores --passes) is stopped with an error."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.now > 3600:
            raise RuntimeError("monitor serve did not stop after its passes")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    import postpilot.cli.policies as policies

    fake = _Clock()
    monkeypatch.setattr(policies, "time", fake)
    return fake


def test_monitor_serve_runs_the_given_number_of_passes_every_interval(
    cli: Run, incident: Receiver, clock: _Clock
) -> None:
    out = cli("monitor", "serve", "--every", "90s", "--passes", "3", "--product", "churn")
    assert out.stdout.count("churn: 0 new batch(es)") == 3
    assert clock.now == 180  # two waits of 90 s (the default is 5m)
    cli("product", "create", "fraud")
    fraud = cli("monitor", "serve", "--passes", "1", "--product", "fraud").stdout
    assert "fraud: " in fraud
    assert "churn" not in fraud


def test_monitor_serve_reports_a_failing_pass_and_goes_on(
    cli: Run, incident: Receiver, tmp_path: Path, clock: _Clock
) -> None:
    (tmp_path / "batches" / "day11.parquet").write_bytes(b"not parquet")
    out = cli("monitor", "serve", "--every", "1s", "--passes", "2", "--product", "churn")
    assert out.stderr.count("error: ") == 2
    assert "day11.parquet" in out.stderr


def test_a_global_channel_serves_every_product(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Channels in $POSTPILOT_HOME/channels.yaml may be named by any policy's `via`."""
    monkeypatch.setenv("OPS_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    receiver = Receiver()
    try:
        with Registry() as reg:
            setup_product(reg, tmp_path)
        home = Path(os.environ["POSTPILOT_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        (home / "channels.yaml").write_text(
            "channels:\n  pager:\n    type: webhook\n"
            f"    url: {receiver.url}\n    secret_env: OPS_SECRET\n    allow_private: true\n",
            encoding="utf-8",
        )
        policy = write_policy(tmp_path, receiver.url)
        policy.write_text(policy.read_text().replace("via: [ops]", "via: [pager]"))
        cli("policy", "apply", str(policy), "--product", "churn")
        for day in range(1, DRIFT_FROM + 1):
            write_day(tmp_path, day)
        cli("monitor", "run", "--as-of", day_end(DRIFT_FROM).isoformat(), expect=1)
        assert [p["recipient"]["email"] for p in receiver.payloads()] == ["maya@example.com"]
        cli("notify", "test", "pager", "--to", "lee@example.com")  # no --product needed
        (home / "channels.yaml").write_text("channels:\n  pager: {type: pager}\n")
        broken = cli("monitor", "run", expect=2)
        assert "channels.yaml:2" in broken.stderr
    finally:
        receiver.close()


def test_monitor_serve_names_a_bad_interval(cli: Run) -> None:
    assert "(--every)" in cli("monitor", "serve", "--every", "5x", expect=2).stderr
