"""Monitor passes end to end on real components: both store backends, an SQL source,
a real SMTP server, a pass that dies half-way, a channel that keeps failing, and the
``block_promotion`` and ``retire`` actions.

The CLI runs in-process; the store is SQLite or PostgreSQL; the webhook receiver and
the SMTP server listen on 127.0.0.1. Assertions are on what a user sees (output,
exit codes, ``--format json``) and on the store through :class:`postpilot.Registry`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from postpilot import Registry
from postpilot.registry import monitoring
from tests.helpers import CliStore, Run, as_json
from tests.policies.channels.peers import Mailbox
from tests.policies.channels.peers import Receiver as Peer
from tests.policies.scenario import (
    DRIFT_FROM,
    SECRET,
    Receiver,
    batch,
    day_end,
    setup_product,
    write_day,
    write_policy,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _world(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPS_SECRET", SECRET)
    monkeypatch.chdir(folder)
    with Registry() as reg:
        setup_product(reg, folder)
    return folder


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """scenario.py's product on the default SQLite store, in the working directory."""
    return _world(tmp_path, monkeypatch)


def _pass(cli: Run, day: int, *, expect: int = 0, after: timedelta = timedelta()) -> str:
    at = (day_end(day) + after).isoformat()
    return str(cli("monitor", "run", "--product", "churn", "--as-of", at, expect=expect).stdout)


def _write_days(folder: Path, days: range) -> None:
    for day in days:
        write_day(folder, day)


def _processed(reg: Registry) -> monitoring.ProcessedBatches:
    return reg.atomic(lambda tx: monitoring.processed_batches(tx, tx.product("churn")))


# -- 1. the monitor path on SQLite and PostgreSQL -----------------------------


def test_the_monitor_path_on_each_store_backend(
    cli: Run, cli_store: CliStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = _world(tmp_path, monkeypatch)
    receiver = Receiver()
    try:
        cli("policy", "apply", str(write_policy(world, receiver.url)), "--product", "churn")
        _write_days(world, range(1, DRIFT_FROM - 1))
        assert "8 new batch(es), 0 firing(s)" in _pass(cli, DRIFT_FROM - 2)
        write_day(world, DRIFT_FROM - 1)
        assert "1 new batch(es), 0 firing(s)" in _pass(cli, DRIFT_FROM - 1)
        write_day(world, DRIFT_FROM)
        drifted = _pass(cli, DRIFT_FROM, expect=1)
        # the drifted batch also breaks the training contract: the default schema-errors
        # rule fires beside the policy's own
        assert "1 new batch(es), 2 firing(s)" in drifted
        assert "opened incident #1 (high) for maya@example.com" in drifted
        assert "to maya@example.com via ops" in drifted
        write_day(world, DRIFT_FROM + 1)
        escalated = _pass(cli, DRIFT_FROM + 1, expect=1)  # the breach goes on: rules hold
        assert "appended evidence to incident #1" in escalated
        assert "incident #1 escalated to lee@example.com" in escalated
        assert [p["recipient"]["email"] for p in receiver.payloads()] == [
            "maya@example.com",
            "lee@example.com",
        ]

        before, sent = cli_store.snapshot(), len(receiver.requests)
        again = _pass(cli, DRIFT_FROM + 1)
        assert "0 new batch(es), 0 firing(s)" in again
        assert cli_store.snapshot() == before
        assert len(receiver.requests) == sent
    finally:
        receiver.close()

    listed = as_json(cli("notify", "list", "--product", "churn", "--format", "json"))
    ops = [n for n in listed if n["channel"] == "ops"]
    assert [(n["recipient"], n["status"], n["attempts"]) for n in ops] == [
        ("maya@example.com", "delivered", 1),
        ("lee@example.com", "delivered", 1),
    ]
    assert all(len(n["history"]) == 1 and n["history"][0]["ok"] for n in ops)
    with Registry() as reg:
        (incident,) = reg.incidents(product="churn")
        assert (incident.opened_at, incident.escalated_to) == (
            day_end(DRIFT_FROM),
            "lee@example.com",
        )
        assert len(reg.monitoring_runs("churn", kind="drift")) == DRIFT_FROM + 1
        assert len(_processed(reg).keys) == DRIFT_FROM + 1
        assert reg.verify_audit().ok


# -- 2. an SQL source with a watermark ------------------------------------------

SQL_POLICY = """\
schema_version: 1
product: churn
source:
  sql: {{url_env: SCORED_DB_URL, query: "select * from scored", watermark: id}}
  timestamp: scored_at
channels:
  ops: {{type: webhook, url: "{url}", secret_env: OPS_SECRET, allow_private: true}}
rules:
  - name: inputs-drifted
    when: {{metric: drift.share, threshold: 0.5}}
    then:
      - notify: {{to: owner, via: [ops]}}
      - open_incident: {{severity: high}}
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def scored_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database the scored rows land in: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scored.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


_SCORED = sa.Table(
    "scored",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("tenure", sa.Float, nullable=False),
    sa.Column("visits", sa.BigInteger, nullable=False),
    sa.Column("region", sa.String(16), nullable=False),
)


def _insert(url: str, frame: pl.DataFrame) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            _SCORED.create(conn, checkfirst=True)
            conn.execute(_SCORED.insert(), frame.to_dicts())
    finally:
        engine.dispose()


def test_an_sql_source_reads_new_rows_once_and_opens_the_incident_on_drift(
    cli: Run, world: Path, receiver: Receiver, scored_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORED_DB_URL", scored_db)
    policy = world / "sql-policy.yaml"
    policy.write_text(SQL_POLICY.format(url=receiver.url), encoding="utf-8")
    cli("policy", "apply", str(policy), "--product", "churn")
    _insert(scored_db, pl.concat([batch(day) for day in (1, 2, 3)]))

    quiet = as_json(_pass_json(cli, 3))
    assert (quiet[0]["batches"], quiet[0]["firings"]) == (1, 0)
    assert receiver.requests == []

    _insert(scored_db, batch(4, drifted=True))
    drifted = as_json(_pass_json(cli, 4, expect=1))
    assert drifted[0]["batches"] == 1
    opened = "churn: inputs-drifted: opened incident #1 (high) for maya@example.com"
    assert opened in drifted[0]["done"]
    assert [p["recipient"]["email"] for p in receiver.payloads()] == ["maya@example.com"]

    nothing = as_json(_pass_json(cli, 5))
    assert (nothing[0]["batches"], nothing[0]["firings"], nothing[0]["deliveries"]) == (0, 0, [])
    assert len(receiver.requests) == 1
    with Registry() as reg:
        (incident,) = reg.incidents(product="churn")
        assert incident.first_bad_at.day == 4  # the drifted rows' own time
        drift = reg.monitoring_runs("churn", kind="drift")
        assert [run.result["chunks"][0]["rows"] for run in drift] == [1200, 400]
        assert _processed(reg).watermark is not None


def _pass_json(cli: Run, day: int, *, expect: int = 0) -> object:
    at = day_end(day).isoformat()
    return cli("monitor", "run", "--product", "churn", "--as-of", at, "-f", "json", expect=expect)


# -- shared by 3-6: a policy on the Parquet batches, with its own channels and rules ----

FILES_POLICY = """\
schema_version: 1
product: churn
source: {{path: batches/*.parquet, timestamp: scored_at}}
channels:
{channels}
rules:
{rules}
"""


def _policy(cli: Run, folder: Path, channels: str, rules: str) -> None:
    path = folder / "policy.yaml"
    path.write_text(FILES_POLICY.format(channels=channels, rules=rules), encoding="utf-8")
    cli("policy", "apply", str(path), "--product", "churn")


def _day(folder: Path, day: int, *, drifted: bool) -> Path:
    path = folder / "batches" / f"day{day}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    batch(day, drifted=drifted).write_parquet(path)
    return path


# -- 3. the email channel, through a real SMTP server -----------------------------


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()


def test_an_email_reaches_the_owner_and_after_a_hand_over_the_new_owner(
    cli: Run, world: Path, mailbox: Mailbox
) -> None:
    _policy(
        cli,
        world,
        f"  mail: {{type: email, smtp_host: 127.0.0.1, smtp_port: {mailbox.port},"
        " starttls: false, from: postpilot@example.com}",
        "  - name: inputs-drifted\n"
        "    when: {metric: drift.share, threshold: 0.5}\n"
        "    then: [notify: {to: owner, via: [mail]}]",
    )
    for day in (1, 2, 3):
        _day(world, day, drifted=False)
    _day(world, 4, drifted=True)
    first = _pass(cli, 4, expect=1)
    assert "notified maya@example.com (owner) via store, mail" in first
    assert "to maya@example.com via mail" in first
    (mail,) = mailbox.messages
    assert mail.rcpt_tos == ["maya@example.com"]
    assert mail.mail_from == "postpilot@example.com"
    assert mail.message["To"].addresses[0].addr_spec == "maya@example.com"
    assert mail.message["Subject"] == "[postpilot] churn: inputs-drifted"

    cli("role", "assign", "churn", "owner", "ana@example.com")
    _day(world, 5, drifted=False)  # the breach ends...
    assert "1 new batch(es), 0 firing(s)" in _pass(cli, 5)
    _day(world, 6, drifted=True)  # ...and a new one begins
    again = _pass(cli, 6, expect=1)
    assert "notified ana@example.com (owner) via store, mail" in again
    assert [m.rcpt_tos for m in mailbox.messages] == [["maya@example.com"], ["ana@example.com"]]
    assert mailbox.messages[1].message["To"].addresses[0].addr_spec == "ana@example.com"
    with Registry() as reg:
        mailed = [n for n in reg.notifications(product="churn") if n.channel == "mail"]
    assert [(n.recipient, n.status) for n in mailed] == [
        ("maya@example.com", "delivered"),
        ("ana@example.com", "delivered"),
    ]


# -- 4. a pass that dies half-way resumes ------------------------------------------


def _webhook(url: str) -> str:
    return f'  ops: {{type: webhook, url: "{url}", secret_env: OPS_SECRET, allow_private: true}}'


DRIFT_NOTIFIES_AND_OPENS = (
    "  - name: inputs-drifted\n"
    "    when: {metric: drift.share, threshold: 0.5}\n"
    "    then: [notify: {to: owner, via: [ops]}, open_incident: {severity: high}]"
)


def test_a_pass_that_dies_on_a_corrupt_batch_resumes_with_the_rest_once(
    cli: Run, world: Path, receiver: Receiver
) -> None:
    _policy(cli, world, _webhook(receiver.url), DRIFT_NOTIFIES_AND_OPENS)
    for day in range(1, 9):
        _day(world, day, drifted=day >= 5)
    corrupt = world / "batches" / "day6.parquet"
    corrupt.write_bytes(b"PAR1 this is not a parquet file")

    died = cli("monitor", "run", "--product", "churn", "--as-of", day_end(8).isoformat(), expect=2)
    assert "day6.parquet" in died.stderr
    with Registry() as reg:
        processed = _processed(reg)
        assert sorted(Path(k.split("|")[0]).name for k in processed.keys) == [
            f"day{d}.parquet" for d in range(1, 6)
        ]
        assert len(reg.monitoring_runs("churn", kind="drift")) == 5
        # the pass died before it acted on what it stored: nothing was carried out by half
        assert reg.incidents(product="churn") == []
        assert reg.notifications(product="churn") == []
    assert receiver.requests == []

    _day(world, 6, drifted=True)
    resumed = _pass(cli, 8, expect=1)
    assert "3 new batch(es)" in resumed
    assert "0 new batch(es), 0 firing(s)" in _pass(cli, 8)
    with Registry() as reg:
        drift = reg.monitoring_runs("churn", kind="drift")
        assert len(drift) == 8
        assert sorted(Path(r.current).name for r in drift) == sorted(
            f"day{d}.parquet" for d in range(1, 9)
        )
        (incident,) = reg.incidents(product="churn")
        assert incident.first_bad_at.day == 5
        ops = [n for n in reg.notifications(product="churn") if n.channel == "ops"]
        assert [(n.recipient, n.status) for n in ops] == [("maya@example.com", "delivered")]
    assert [p["recipient"]["email"] for p in receiver.payloads()] == ["maya@example.com"]


# -- 5. a channel that keeps failing raises its own alert ---------------------------


@pytest.fixture
def broken_peer() -> Iterator[Peer]:
    """A webhook receiver that answers 500 to everything."""
    peer = Peer()
    peer.start()
    peer.fail(10_000, 500)
    try:
        yield peer
    finally:
        peer.stop()


def test_a_channel_that_keeps_failing_gives_up_and_alerts_the_monitoring_lead(
    cli: Run, world: Path, broken_peer: Peer
) -> None:
    from postpilot.policies.notifier import GIVE_UP_AFTER, IN_PASS_ATTEMPTS, RETRY_SCHEDULE

    _policy(cli, world, _webhook(broken_peer.url()), DRIFT_NOTIFIES_AND_OPENS)
    for day in (1, 2, 3):
        _day(world, day, drifted=False)
    _day(world, 4, drifted=True)
    first = _pass(cli, 4, expect=1)
    assert "not delivered" in first
    assert len(broken_peer.requests) == IN_PASS_ATTEMPTS

    # before the first retry is due, a pass does not try again
    _pass(cli, 4, after=RETRY_SCHEDULE[0] / 2)
    assert len(broken_peer.requests) == IN_PASS_ATTEMPTS
    listed = as_json(cli("notify", "list", "--status", "pending", "-f", "json"))
    assert [(n["channel"], n["attempts"]) for n in listed] == [("ops", IN_PASS_ATTEMPTS)]

    late = _pass(cli, 4, after=GIVE_UP_AFTER)
    assert f"via ops FAILED after {2 * IN_PASS_ATTEMPTS} attempts" in late
    assert len(broken_peer.requests) == 2 * IN_PASS_ATTEMPTS

    everything = as_json(cli("notify", "list", "--product", "churn", "-f", "json"))
    (failed,) = [n for n in everything if n["channel"] == "ops"]
    assert (failed["status"], failed["attempts"]) == ("failed", 2 * IN_PASS_ATTEMPTS)
    assert [(a["ok"], a["status_code"]) for a in failed["history"]] == [(False, 500)] * (
        2 * IN_PASS_ATTEMPTS
    )
    (alert,) = [n for n in everything if n["payload"]["kind"] == "channel_failed"]
    assert (alert["channel"], alert["recipient"]) == ("store", "lee@example.com")
    assert f"notification #{failed['id']}" in alert["subject"]
    assert alert["payload"]["data"]["channel"] == "ops"
    # the store channel always works: the alert is delivered in the pass that raised it
    assert (alert["status"], [a["ok"] for a in alert["history"]]) == ("delivered", [True])
    assert f"after {2 * IN_PASS_ATTEMPTS} attempts" in alert["payload"]["text"]


# -- 6. block_promotion and retire --------------------------------------------------


def test_block_promotion_holds_until_the_incident_is_resolved_and_retire_only_asks(
    cli: Run, world: Path
) -> None:
    _policy(
        cli,
        world,
        "  {}",
        "  - name: inputs-drifted\n"
        "    when: {metric: drift.share, threshold: 0.5}\n"
        "    then: [open_incident: {severity: high}, block_promotion: {}]\n"
        "  - name: worn-out\n"
        "    when: {metric: drift.share, threshold: 0.5}\n"
        "    then: [retire: {}]",
    )
    for day in (1, 2, 3):
        _day(world, day, drifted=False)
    _day(world, 4, drifted=True)
    done = _pass(cli, 4, expect=1)
    assert "blocked promotion to production" in done
    assert "retirement requested" in done

    refused = cli("product", "stage", "churn", "production", expect=2)
    assert "inputs-drifted" in refused.stderr
    assert "incident #1" in refused.stderr
    with Registry() as reg:
        assert reg.product("churn").stage.value == "pilot"
        (requested,) = [
            e for e in reg.audit_log(product="churn") if e.action == "product.retire_requested"
        ]
        assert requested.after["rule"] == "worn-out"
        (asked,) = [
            n for n in reg.notifications(product="churn") if n.payload["kind"] == "retire_request"
        ]
    assert asked.recipient == "maya@example.com"
    assert "postpilot product stage churn retired" in asked.payload["text"]

    cli("incident", "resolve", "1", "--note", "retrained")
    assert "now in production" in cli("product", "stage", "churn", "production").stdout
