"""Issue 11's scenario end to end: 30 daily batches, the inputs drift from day 10.

Everything real: the CLI in-process, the SQLite store, a webhook receiver on
127.0.0.1 that verifies the HMAC signature as a receiver would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from postpilot import Registry
from postpilot.cli import app
from postpilot.policies.channels.webhook import verify_signature
from tests.helpers import Run, close_opened_registries
from tests.policies.scenario import (
    DAYS,
    DRIFT_FROM,
    SECRET,
    Receiver,
    day_end,
    setup_product,
    write_day,
    write_policy,
)


@pytest.fixture
def run() -> Run:
    """``postpilot ARGS`` in-process; the test checks the exit code itself."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        try:
            return runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            close_opened_registries()

    return invoke


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPS_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    with Registry() as reg:
        setup_product(reg, tmp_path)
    return tmp_path


def _apply(run: Run, folder: Path, url: str) -> None:
    result = run("policy", "apply", str(write_policy(folder, url)), "--product", "churn")
    assert result.exit_code == 0, result.output


def _pass(run: Run, day: int) -> object:
    return run("monitor", "run", "--product", "churn", "--as-of", day_end(day).isoformat())


def test_daily_passes_open_one_incident_on_day_10_notify_and_escalate(
    run: Run, world: Path, receiver: Receiver
) -> None:
    _apply(run, world, receiver.url)
    codes = {}
    for day in range(1, DAYS + 1):
        write_day(world, day)
        result = _pass(run, day)
        codes[day] = result.exit_code
        assert result.exit_code in (0, 1), result.output
    assert all(codes[d] == 0 for d in range(1, DRIFT_FROM))
    assert codes[DRIFT_FROM] == 1
    with Registry() as reg:
        incidents = reg.incidents(product="churn")
        assert len(incidents) == 1
        incident = incidents[0]
        assert incident.opened_at == day_end(DRIFT_FROM)
        assert incident.first_bad_at.day == DRIFT_FROM  # within day 10's batch
        assert incident.chunks_to_detect == 1
        assert 0 < incident.time_to_detect.total_seconds() <= 30 * 3600
        assert incident.assignee == "maya@example.com"
        assert incident.escalated_to == "lee@example.com"
        assert incident.escalated_at == day_end(DRIFT_FROM + 1)
        evidence = [e for e in incident.events if e.kind == "evidence"]
        assert len(evidence) == DAYS - DRIFT_FROM  # days 11..30 appended, no new incident
    payloads = receiver.payloads()
    assert [p["recipient"]["email"] for p in payloads] == ["maya@example.com", "lee@example.com"]
    for headers, body in receiver.requests:
        assert verify_signature(
            SECRET.encode(), headers["X-Postpilot-Signature"], body, now=None, tolerance=_long()
        )
        assert not verify_signature(
            b"wrong", headers["X-Postpilot-Signature"], body, tolerance=_long()
        )
    shown = run("incident", "show", str(incident.id))
    assert shown.exit_code == 0
    assert "time to detect: 1 chunk(s)" in shown.output
    assert " h" in shown.output.split("time to detect:")[1].splitlines()[0]


def _long():  # the passes are replayed in the past; the signature's own time is now
    from datetime import timedelta

    return timedelta(minutes=5)


def test_one_pass_over_all_30_days_gives_the_same_incident(
    run: Run, world: Path, receiver: Receiver
) -> None:
    _apply(run, world, receiver.url)
    for day in range(1, DAYS + 1):
        write_day(world, day)
    result = _pass(run, DAYS)
    assert result.exit_code == 1, result.output
    with Registry() as reg:
        (incident,) = reg.incidents(product="churn")
    assert incident.first_bad_at.day == DRIFT_FROM
    assert incident.chunks_to_detect == 1
    assert incident.rule == "inputs-drifted"
    assert incident.assignee == "maya@example.com"
    assert [p["recipient"]["email"] for p in receiver.payloads()] == ["maya@example.com"]


def test_a_second_pass_sends_nothing(run: Run, world: Path, receiver: Receiver) -> None:
    _apply(run, world, receiver.url)
    for day in range(1, DRIFT_FROM + 1):
        write_day(world, day)
    assert _pass(run, DRIFT_FROM).exit_code == 1
    sent = len(receiver.requests)
    with Registry() as reg:
        before = (len(reg.notifications()), reg.verify_audit().events)
    again = _pass(run, DRIFT_FROM)
    assert again.exit_code == 0, again.output
    assert "0 new batch(es), 0 firing(s)" in again.output
    assert len(receiver.requests) == sent
    with Registry() as reg:
        assert (len(reg.notifications()), reg.verify_audit().events) == before


def test_an_alert_is_delivered_once_the_receiver_comes_back(run: Run, world: Path) -> None:
    receiver = Receiver(fail_first=2)
    try:
        _apply(run, world, receiver.url)
        for day in range(1, DRIFT_FROM + 1):
            write_day(world, day)
        assert _pass(run, DRIFT_FROM).exit_code == 1
        assert [p["recipient"]["email"] for p in receiver.payloads()] == ["maya@example.com"]
        with Registry() as reg:
            (sent,) = [n for n in reg.notifications() if n.channel == "ops"]
        assert sent.status == "delivered"
        assert [a.ok for a in sent.history] == [False, False, True]
        assert [a.status_code for a in sent.history] == [503, 503, 200]
    finally:
        receiver.close()


def test_a_receiver_down_for_a_whole_pass_gets_the_alert_on_the_next(run: Run, world: Path) -> None:
    receiver = Receiver()
    url = receiver.url
    port = receiver.server.server_port
    receiver.close()  # down: connection refused
    _apply(run, world, url)
    for day in range(1, DRIFT_FROM + 1):
        write_day(world, day)
    assert _pass(run, DRIFT_FROM).exit_code == 1
    with Registry() as reg:
        (pending,) = [n for n in reg.notifications() if n.channel == "ops"]
    assert pending.status == "pending"
    assert pending.attempts >= 2
    assert all(not a.ok for a in pending.history)
    listed = run("notify", "list", "--status", "pending")
    assert "ops" in listed.output
    back = _receiver_on(port)
    try:
        later = run(
            "monitor",
            "run",
            "--product",
            "churn",
            "--as-of",
            (day_end(DRIFT_FROM) + _hours(2)).isoformat(),
        )
        assert later.exit_code == 0, later.output
        assert [p["recipient"]["email"] for p in back.payloads()] == ["maya@example.com"]
        with Registry() as reg:
            (done,) = [n for n in reg.notifications() if n.channel == "ops"]
        assert done.status == "delivered"
        assert done.history[-1].ok
        assert not any(a.ok for a in done.history[:-1])
    finally:
        back.close()


def _hours(n: int):
    from datetime import timedelta

    return timedelta(hours=n)


def _receiver_on(port: int) -> Receiver:
    import socketserver

    socketserver.TCPServer.allow_reuse_address = True
    r = Receiver()
    r.close()
    from http.server import ThreadingHTTPServer

    r.server = ThreadingHTTPServer(("127.0.0.1", port), r.server.RequestHandlerClass)
    import threading

    threading.Thread(target=r.server.serve_forever, daemon=True).start()
    return r


def test_after_the_owner_is_replaced_the_alert_goes_to_the_new_owner(
    run: Run, world: Path, receiver: Receiver
) -> None:
    _apply(run, world, receiver.url)
    for day in range(1, DRIFT_FROM):
        write_day(world, day)
    assert _pass(run, DRIFT_FROM - 1).exit_code == 0
    assert run("role", "assign", "churn", "owner", "ana@example.com").exit_code == 0
    write_day(world, DRIFT_FROM)
    assert _pass(run, DRIFT_FROM).exit_code == 1
    assert [p["recipient"]["email"] for p in receiver.payloads()] == ["ana@example.com"]
    with Registry() as reg:
        assert reg.incidents()[0].assignee == "ana@example.com"
        assert len(reg.policy_versions("churn")) == 1


def test_a_malformed_policy_is_refused_with_its_line_and_nothing_changes(
    run: Run, world: Path
) -> None:
    bad = world / "bad.yaml"
    bad.write_text(
        "schema_version: 1\nrules:\n  - name: drifted\n    when: {metric: drift.share, "
        "threshold: 0.3}\n    then:\n      - notify: {to: owner, via: [pager]}\n"
        "      - open_incident: {severity: urgent}\n",
        encoding="utf-8",
    )
    with Registry() as reg:
        before = reg.verify_audit().events
    result = run("policy", "apply", str(bad), "--product", "churn")
    assert result.exit_code == 2
    assert f"{bad}:7: rules.0.then.1.open_incident.severity" in result.stderr
    with Registry() as reg:
        assert reg.policy_versions("churn") == []
        assert reg.verify_audit().events == before


def test_policy_test_prints_the_day_10_incident_and_sends_nothing(
    run: Run, world: Path, receiver: Receiver
) -> None:
    text = write_policy(world, receiver.url).read_text()
    quiet = text.replace("threshold: 0.5", "threshold: 1.0") + "defaults: false\n"
    (world / "quiet.yaml").write_text(quiet, encoding="utf-8")
    applied = run("policy", "apply", "quiet.yaml", "--product", "churn", "--format", "json")
    assert json.loads(applied.stdout) == {"product": "churn", "version": 1, "new": True}
    for day in range(1, 13):
        write_day(world, day)
    assert _pass(run, 12).exit_code == 0
    with Registry() as reg:
        before = (len(reg.notifications()), len(reg.incidents()), reg.verify_audit().events)
    result = run("policy", "test", str(write_policy(world, receiver.url)), "--product", "churn")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "inputs-drifted" in line]
    assert "2026-03-10" in lines[0]  # the first firing: day 10
    assert "open a high incident for maya@example.com" in result.output
    assert "notify maya@example.com" in result.output
    policy = str(write_policy(world, receiver.url))
    listed = run("policy", "test", policy, "--product", "churn", "--format", "json")
    assert listed.exit_code == 1, listed.output
    firings = json.loads(listed.stdout)
    first = next(f for f in firings if f["rule"] == "inputs-drifted")
    assert first["at"].startswith("2026-03-10")
    assert "open a high incident for maya@example.com" in first["actions"]
    assert receiver.requests == []
    with Registry() as reg:
        assert (len(reg.notifications()), len(reg.incidents()), reg.verify_audit().events) == before


def test_every_firing_is_in_the_audit_log(run: Run, world: Path, receiver: Receiver) -> None:
    _apply(run, world, receiver.url)
    for day in range(1, DRIFT_FROM + 2):
        write_day(world, day)
        _pass(run, day)
    with Registry() as reg:
        events = reg.audit_log(product="churn")
    fired = [
        e for e in events if e.action == "policy.fired" and e.subject.endswith("/inputs-drifted")
    ]
    assert len(fired) == 2  # day 10: notified, opened, scheduled; day 11: evidence appended
    assert fired[0].after["policy_version"] == 1
    assert any("opened incident #1" in a for a in fired[0].after["actions"])
    assert [e.action for e in events].count("incident.escalated") == 1
