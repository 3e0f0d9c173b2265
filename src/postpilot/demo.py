"""``postpilot demo``: the story of one AI product, replayed against a real store.

Each step calls the same :class:`~postpilot.registry.Registry` API a user
would, and reports what the registry answered; nothing is canned. Later
capabilities (contracts, drift, policies, the gateway) add their chapters here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import text

from postpilot.contracts import check_contract
from postpilot.errors import PostpilotError
from postpilot.registry import Registry, Sla, TrainingData

__all__ = ["DemoResult", "run_demo"]

Say = Callable[[str], None]

PEOPLE = {
    "maya@acme.example": "Maya Chen",
    "dev@acme.example": "Dev Patel",
    "ines@acme.example": "Ines Duarte",
    "sam@acme.example": "Sam Okafor",
    "lee@acme.example": "Lee Novak",
    "ana@acme.example": "Ana Ruiz",
}
SLUG = "revenue-forecast"


@dataclass(frozen=True)
class DemoResult:
    contract_findings: list[str]
    database_url: str
    refused: list[str]
    orphaned: list[str]
    audit_events: int
    tamper_detected_at: int | None
    incident: int | None = None
    """The incident the monitor opened on the migrated batch."""
    gateway: dict[str, int] = field(default_factory=dict)
    """The gateway chapter's HTTP statuses, by step."""
    gateway_refused_fields: list[str] = field(default_factory=list)


def run_demo(reg: Registry, workdir: Path, say: Say) -> DemoResult:
    """Replay the registry's story in ``reg`` (a fresh store), narrating through ``say``."""
    refused: list[str] = []

    def attempt(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except PostpilotError as exc:
            refused.append(str(exc))
            say(f"  refused, as it should be: {exc}")
        else:  # pragma: no cover - the demo's rules are tested; this would be a bug
            raise AssertionError(f"the registry accepted: {what}")

    say("1. The pilot team registers people and a product.")
    for email, name in PEOPLE.items():
        reg.add_person(email, name=name)
    reg.add_team("revenue-analytics", description="Sales forecasting squad")
    reg.create_product(
        SLUG,
        name="Revenue forecast",
        team="revenue-analytics",
        purpose="Forecast next-quarter revenue per account",
        kpi="forecast error (MAPE) on closed quarters",
        sla=Sla(
            latency_p99_ms=250, availability_pct=99.5, quality_metric="mape", quality_threshold=0.15
        ),
    )
    say(f"  registered {SLUG} in stage 'proposed'")

    say("2. Someone tries to start the pilot before anyone owns the model.")
    attempt("pilot without owner", lambda: reg.set_stage(SLUG, "pilot"))
    say("   ... and tries to make a team the owner, then two people at once.")
    attempt("team as owner", lambda: reg.assign_role(SLUG, "owner", "revenue-analytics"))
    attempt(
        "two owners",
        lambda: reg.assign_role(SLUG, "owner", ["maya@acme.example", "dev@acme.example"]),
    )

    say("3. Ownership is designed before the pilot: one person per question.")
    reg.assign_role(SLUG, "owner", "maya@acme.example")
    reg.add_source(SLUG, "crm", description="CRM opportunities export", steward="ines@acme.example")
    reg.assign_role(SLUG, "integration_lead", "sam@acme.example")
    reg.assign_role(SLUG, "training_lead", "lee@acme.example")
    reg.assign_role(SLUG, "monitoring_lead", "maya@acme.example")
    reg.set_stage(SLUG, "pilot", reason="ownership model signed off")
    say(
        "  owner, data steward (crm), integration, training and monitoring leads named;"
        " the product enters 'pilot'"
    )

    training = workdir / "q3_opportunities.parquet"
    crm_export(20_000, seed=3).write_parquet(training)
    version = reg.register_model(
        SLUG,
        artifact="s3://models/revenue-forecast/v1.joblib",
        flavor="sklearn",
        training_data=TrainingData(uri=str(training)),
        metrics={"mape": 0.08, "r2": 0.91},
        limitations="Trained on Q3 only; no accounts above 5,000 employees",
    )
    data = version.training_data
    say(
        f"  model version {version.version} registered on {data.rows if data else 0:,} rows; "
        f"fingerprint {data.fingerprint if data else None}"
    )
    say(f"  the training data was profiled and its contract stored as {version.contract}")

    say("4. Q4, week 1: the nightly CRM batch is checked against the contract.")
    contract = reg.contract(f"{SLUG}-training").contract
    clean = check_contract(contract, crm_export(4_000, seed=11))
    say(f"  week 1: {'passes' if clean.ok else 'FAILS'} ({len(clean.errors)} errors)")
    say("   Week 2: the CRM team migrates; fields are renamed and amounts are now in cents.")
    broken = check_contract(contract, crm_migrated(4_000, seed=12))
    for finding in broken.errors:
        say(f"  [{finding.kind.value}] {finding.message}")
    findings = [f"{f.kind.value}:{f.column}" for f in broken.findings]

    incident = _monitor(reg, workdir, say)

    from postpilot.demo_gateway import gateway_chapter

    story = gateway_chapter(reg, SLUG, workdir, training, crm_migrated(4_000, seed=12), say)

    say("7. Six months later the champion moves on.")
    deactivation = reg.deactivate_person("maya@acme.example", reason="moved to another team")
    orphaned = [f"{o.product}:{o.role.value}" for o in deactivation.orphaned]
    say(f"  deactivating maya@acme.example orphans: {', '.join(orphaned)}")
    product = reg.product(SLUG)
    say(
        f"  product show now flags {len(product.orphaned)} orphaned role(s): "
        + ", ".join(a.role.value for a in product.orphaned)
    )
    attempt("orphaned owner to production", lambda: reg.set_stage(SLUG, "production"))

    say("8. A successor takes over; the audit log keeps both names.")
    reg.assign_role(SLUG, "owner", "ana@acme.example", reason="Maya moved on")
    reg.assign_role(SLUG, "monitoring_lead", "dev@acme.example", reason="Maya moved on")
    owners = [
        e
        for e in reg.audit_log(product=SLUG)
        if e.subject == f"{SLUG}/owner" and e.action in ("role.assigned", "role.replaced")
    ]
    for event in owners:
        before = event.before["person"] if isinstance(event.before, dict) else "nobody"
        say(
            f"  #{event.seq} {event.action}: {before} -> {event.after['person']} (by {event.actor})"
        )

    check = reg.verify_audit()
    say(f"9. The audit chain verifies: {check.events} events, head {check.head_hash[:16]}...")
    say("   Now someone edits an audit row directly in the database ...")
    with reg.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_events SET after = :after WHERE seq = :seq"),
            {"after": '{"person":"mallory@acme.example","reason":null}', "seq": owners[0].seq},
        )
    tampered = reg.verify_audit()
    say(f"  audit verify: {tampered.problem}")
    return DemoResult(
        contract_findings=findings,
        database_url=reg.store.url,
        refused=refused,
        orphaned=orphaned,
        audit_events=check.events,
        tamper_detected_at=tampered.first_bad_seq,
        incident=incident,
        gateway=story.statuses,
        gateway_refused_fields=story.fields,
    )


POLICY = """\
schema_version: 1
product: revenue-forecast
source:
  path: crm/*.parquet
rules:
  - name: crm-feed-drifted
    description: the nightly CRM batch no longer looks like the training data
    when: {metric: drift.share, threshold: 0.3}
    then:
      - notify: owner
      - open_incident: {severity: high}
      - escalate: {to: integration_lead, after: 1d}
"""
NIGHTS = (datetime(2026, 10, 6, 6, tzinfo=UTC), datetime(2026, 10, 13, 6, tzinfo=UTC))


def _monitor(reg: Registry, workdir: Path, say: Say) -> int | None:
    """Chapter 5: a policy, and the nightly monitor pass that carries it out."""
    from postpilot.policies.service import monitor_once
    from postpilot.policies.store import apply_policy

    say("5. A policy says what happens when the feed breaks; the nightly monitor acts on it.")
    policy = workdir / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    stored, _ = apply_policy(reg, policy, SLUG)
    say(
        f"  policy v{stored.version} applied: drift in 30% of the inputs notifies the owner and "
        "opens an incident, escalated to the integration lead after a day; the default rules "
        "(schema errors to the steward, no data for 2 days, orphaned roles) come with it"
    )
    feed = workdir / "crm"
    feed.mkdir()
    weeks = (
        ("week 1", crm_export(4_000, seed=11)),
        ("week 2, after the migration", crm_migrated(4_000, seed=12)),
    )
    for number, (night, (name, batch)) in enumerate(zip(NIGHTS, weeks, strict=True), 1):
        batch.write_parquet(feed / f"week{number}.parquet")  # the nightly export lands
        (result,) = monitor_once(reg, SLUG, now=night)
        say(f"  {name}: {result.batches} batch checked, {result.firings} rule(s) fired")
        for line in result.done:
            say(f"    {line.removeprefix(SLUG + ': ')}")
    (late,) = monitor_once(reg, SLUG, now=NIGHTS[1] + timedelta(days=1))
    for line in late.done:
        say(f"  a day later, nobody has acknowledged: {line.removeprefix(SLUG + ': ')}")
    opened = reg.incidents(product=SLUG)
    if not opened:  # pragma: no cover - the demo's data drifts; this would be a bug
        raise AssertionError("the monitor opened no incident on the migrated batch")
    first = opened[0]
    say(
        f"  incident #{first.id}: detected on the first bad batch ({first.chunks_to_detect} "
        f"chunk); {sum(1 for n in reg.notifications(product=SLUG))} notifications stored, "
        "each delivered to the store channel"
    )
    return first.id


def crm_export(rows: int, seed: int) -> pl.DataFrame:
    """A CRM opportunities export, as the pilot's training data looked."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "opportunity_id": [f"OPP-{seed:02d}-{i:07d}" for i in range(rows)],
            "amount_usd": np.round(rng.lognormal(9, 0.8, rows), 2),
            "stage": rng.choice(["prospect", "proposal", "negotiation", "won", "lost"], rows),
            "region": rng.choice(["EMEA", "NA", "APAC"], rows, p=[0.4, 0.45, 0.15]),
            "employees": rng.integers(10, 5_000, rows),
            "close_probability": rng.beta(2, 3, rows),
        }
    )


def crm_migrated(rows: int, seed: int) -> pl.DataFrame:
    """The same export after the CRM migration: renamed fields, cents, a new stage."""
    frame = crm_export(rows, seed).rename(
        {"amount_usd": "amount", "close_probability": "win_likelihood"}
    )
    return frame.with_columns(
        (pl.col("amount") * 100).round().cast(pl.Int64),
        pl.when(pl.int_range(pl.len()) % 8 == 0)
        .then(pl.lit("closed_won"))
        .otherwise(pl.col("stage"))
        .alias("stage"),
    )


def demo_in_tempdir(say: Say, actor: str = "demo@acme.example") -> DemoResult:
    """Run the demo in a fresh SQLite store in a temporary folder (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="postpilot-demo-") as tmp:
        workdir = Path(tmp)
        with Registry(f"sqlite:///{workdir / 'postpilot.db'}", actor=actor) as reg:
            return run_demo(reg, workdir, say)
