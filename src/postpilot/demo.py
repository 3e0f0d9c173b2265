"""``postpilot demo``: the story of one AI product, replayed against a real store.

Each step calls the same :class:`~postpilot.registry.Registry` API a user
would, and reports what the registry answered; nothing is canned. Later
capabilities (contracts, drift, policies, the gateway) add their chapters here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

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
    database_url: str
    refused: list[str]
    orphaned: list[str]
    audit_events: int
    tamper_detected_at: int | None


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

    training = workdir / "q3_opportunities.csv"
    training.write_text(
        "account_id,amount_usd,stage,region\n"
        + "".join(
            f"A{i:04d},{1000 + 37 * i},{'won' if i % 3 else 'open'},EU\n" for i in range(500)
        ),
        encoding="utf-8",
    )
    version = reg.register_model(
        SLUG,
        artifact="s3://models/revenue-forecast/v1.joblib",
        flavor="sklearn",
        training_data=TrainingData(uri=str(training), rows=500),
        metrics={"mape": 0.08, "r2": 0.91},
    )
    fingerprint = version.training_data.fingerprint if version.training_data else None
    say(f"  model version {version.version} registered; training data fingerprint {fingerprint}")

    say("4. Six months later the champion moves on.")
    deactivation = reg.deactivate_person("maya@acme.example", reason="moved to another team")
    orphaned = [f"{o.product}:{o.role.value}" for o in deactivation.orphaned]
    say(f"  deactivating maya@acme.example orphans: {', '.join(orphaned)}")
    product = reg.product(SLUG)
    say(
        f"  product show now flags {len(product.orphaned)} orphaned role(s): "
        + ", ".join(a.role.value for a in product.orphaned)
    )
    attempt("orphaned owner to production", lambda: reg.set_stage(SLUG, "production"))

    say("5. A successor takes over; the audit log keeps both names.")
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
    say(f"6. The audit chain verifies: {check.events} events, head {check.head_hash[:16]}...")
    say("   Now someone edits an audit row directly in the database ...")
    with reg.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_events SET after = :after WHERE seq = :seq"),
            {"after": '{"person":"mallory@acme.example","reason":null}', "seq": owners[0].seq},
        )
    tampered = reg.verify_audit()
    say(f"  audit verify: {tampered.problem}")
    return DemoResult(
        database_url=reg.store.url,
        refused=refused,
        orphaned=orphaned,
        audit_events=check.events,
        tamper_detected_at=tampered.first_bad_seq,
    )


def demo_in_tempdir(say: Say, actor: str = "demo@acme.example") -> DemoResult:
    """Run the demo in a fresh SQLite store in a temporary folder (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="postpilot-demo-") as tmp:
        workdir = Path(tmp)
        with Registry(f"sqlite:///{workdir / 'postpilot.db'}", actor=actor) as reg:
            return run_demo(reg, workdir, say)
