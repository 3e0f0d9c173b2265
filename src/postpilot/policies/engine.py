"""Carry out a policy's firings, once each, and the escalations that are due.

:func:`carry_out` runs inside the transaction that stored the evidence: each
firing not recorded before is recorded with what its actions did (incidents,
queued notifications, blocks, audit events), so a pass that dies half-way
leaves either all of a batch's consequences or none, and a second pass over
the same data finds every firing recorded and does nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from postpilot.policies.actions import ACTIONS, Context
from postpilot.policies.actions.base import STORE, people, short_key
from postpilot.policies.evaluate import Firing
from postpilot.policies.recipients import payload, resolve
from postpilot.registry import Product, incidents, notifications
from postpilot.registry import policies as stored
from postpilot.registry._tx import Tx
from postpilot.registry.products import get as get_product
from postpilot.store.models import IncidentEventRow, IncidentRow, ProductRow

__all__ = ["Outcome", "carry_out", "describe", "escalate_due", "firing_key"]


@dataclass
class Outcome:
    """What a pass did: one line per thing done, and the firings it carried out."""

    done: list[str] = field(default_factory=list)
    firings: int = 0


def firing_key(firing: Firing) -> str:
    return short_key(f"{firing.rule}|{firing.subject}|{firing.chunk}")


def _rules(policy: Any) -> dict[str, Any]:
    return {rule.name: rule for rule in policy.rules}


def carry_out(
    tx: Tx,
    row: ProductRow,
    product: Product,
    policy: Any,
    policy_version: int | None,
    firings: Iterable[Firing],
    outcome: Outcome,
) -> None:
    """Carry out every firing not recorded before, in order, recording each."""
    rules = _rules(policy)
    for firing in firings:
        key = firing_key(firing)
        if stored.firing_exists(tx, row, key):
            continue
        rule = rules[firing.rule]
        ctx = Context(tx, row, product, rule, firing, policy_version)
        for index, spec in enumerate(rule.actions):
            ctx.index = index
            ACTIONS[spec.key].carry_out(spec, ctx)
        if ctx.done:
            tx.record(
                "policy.fired",
                "policy_rule",
                f"{product.slug}/{rule.name}",
                product=product.slug,
                after={
                    "policy_version": policy_version,
                    "chunk": firing.chunk,
                    "subject": firing.subject,
                    "value": firing.value,
                    "threshold": ctx.data()["threshold"],
                    "actions": ctx.done,
                },
            )
        stored.record_firing(
            tx,
            row,
            key=key,
            rule=firing.rule,
            chunk=firing.chunk[:200],
            at=firing.at,
            value=firing.value,
            detail=ctx.data(),
            incident_id=None if ctx.incident is None else ctx.incident.id,
        )
        outcome.firings += 1
        outcome.done.extend(f"{product.slug}: {rule.name}: {line}" for line in ctx.done)


def describe(product: Product, policy: Any, firings: Sequence[Firing]) -> list[dict[str, Any]]:
    """What carrying out ``firings`` would do, without a store: one entry per firing
    that does something (``policy test``). Incidents are simulated: one per rule until
    it would be resolved (a dry run resolves nothing)."""
    rules = _rules(policy)
    open_rules: set[str] = set()
    out = []
    for firing in firings:
        rule = rules[firing.rule]
        ctx = Context(None, None, product, rule, firing, None)
        has_incident = any(spec.key == "open_incident" for spec in rule.actions)
        ctx.incident_is_new = has_incident and firing.rule not in open_rules
        lines = [ACTIONS[spec.key].describe(spec, ctx) for spec in rule.actions]
        lines = [line for line in lines if line]
        if has_incident:
            open_rules.add(firing.rule)
        if lines:
            out.append({"firing": firing, "summary": ctx.summary(), "actions": lines})
    return out


def escalate_due(tx: Tx, now: datetime, outcome: Outcome, product: str | None = None) -> None:
    """Escalate every open, unacknowledged incident whose scheduled escalation is due."""
    query = select(IncidentRow).where(
        IncidentRow.status == "open", IncidentRow.escalated_at.is_(None)
    )
    if product is not None:
        query = query.where(IncidentRow.product_id == tx.product(product).id)
    for row in tx.session.scalars(query.order_by(IncidentRow.id)).all():
        schedule = tx.session.scalar(
            select(IncidentEventRow)
            .where(
                IncidentEventRow.incident_id == row.id,
                IncidentEventRow.kind == "escalation_scheduled",
            )
            .order_by(IncidentEventRow.id)
            .limit(1)
        )
        if schedule is None:
            continue
        plan = json.loads(schedule.detail)
        if datetime.fromisoformat(plan["due"]) > now:
            continue
        product_row = tx.session.get(ProductRow, row.product_id)
        assert product_row is not None
        entity = get_product(tx, product_row.slug)
        reached = resolve(entity, plan["to"])
        waited = now - row.opened_at
        subject = f"[postpilot] ESCALATED: {entity.slug}: {row.rule} (incident #{row.id})"
        text = (
            f"Incident #{row.id} on {entity.slug} has not been acknowledged for "
            f"{_hours(waited)}: {row.title}. Assigned to {row.assignee or 'nobody'}. "
            f"Acknowledge with: postpilot incident ack {row.id}"
        )
        for person in reached:
            for channel in dict.fromkeys([STORE, *plan.get("via", [])]):
                notifications.enqueue(
                    tx,
                    key=short_key(f"escalation|{row.id}|{person.email}|{channel}"),
                    product=product_row,
                    incident_id=row.id,
                    channel=channel,
                    recipient=person.email,
                    recipient_role=person.role,
                    subject=subject,
                    payload=payload(
                        "escalation",
                        subject,
                        text,
                        row.severity,
                        person,
                        {
                            "product": entity.slug,
                            "rule": row.rule,
                            "incident": row.id,
                            "opened_at": row.opened_at.isoformat(),
                            "unacknowledged_for_hours": waited.total_seconds() / 3600,
                        },
                    ),
                )
        row.escalated_at = now
        row.escalated_to = reached[0].email
        incidents.add_event(tx, row, "escalated", {"to": [p.email for p in reached]})
        tx.record(
            "incident.escalated",
            "incident",
            f"{entity.slug}#{row.id}",
            product=entity.slug,
            after={"to": [p.email for p in reached], "after_hours": waited.total_seconds() / 3600},
        )
        outcome.done.append(
            f"{entity.slug}: incident #{row.id} escalated to {people(reached)} "
            f"(unacknowledged for {_hours(waited)})"
        )


def _hours(delta: Any) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
