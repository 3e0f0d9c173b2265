"""Incidents: opened by a policy rule, acknowledged and resolved by people.

One unresolved incident per rule and product: when the rule holds again while
its incident is open, the new evidence is appended to it (an ``evidence``
event), never a second incident. Every step (opened, evidence, notified,
escalated, acknowledged, resolved, and the actions a rule took) is an
incident event with who and when, and an audit event.

Time to detect is the first bad chunk's time to the opening; time to
acknowledge is the opening to the acknowledgement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from postpilot.errors import InputError, NotFoundError, RuleViolation
from postpilot.registry._text import check_text
from postpilot.registry._tx import Tx
from postpilot.store.models import (
    IncidentEventRow,
    IncidentRow,
    ProductRow,
    PromotionBlockRow,
)

__all__ = [
    "SEVERITIES",
    "STATUSES",
    "Incident",
    "IncidentEvent",
    "NewIncident",
    "acknowledge",
    "add_event",
    "get",
    "list_incidents",
    "open_or_append",
    "resolve",
]

STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class IncidentEvent:
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Incident:
    """An incident as stored, with its events in order."""

    id: int
    product: str
    rule: str
    policy_version: int | None
    status: str
    severity: str
    title: str
    assignee: str | None
    assignee_role: str | None
    first_bad_chunk: str
    first_bad_at: datetime
    detected_chunk: str
    chunks_to_detect: int
    opened_at: datetime
    opened_by: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    escalated_at: datetime | None
    escalated_to: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    events: list[IncidentEvent] = field(default_factory=list)

    @property
    def time_to_detect(self) -> timedelta:
        """From the first bad chunk's time to the opening."""
        return self.opened_at - self.first_bad_at

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return None if self.acknowledged_at is None else self.acknowledged_at - self.opened_at


@dataclass(frozen=True)
class NewIncident:
    """What a rule knows when it opens an incident."""

    rule: str
    policy_version: int | None
    severity: str
    title: str
    assignee: str | None
    assignee_role: str | None
    first_bad_chunk: str
    first_bad_at: datetime
    detected_chunk: str
    chunks_to_detect: int
    evidence: dict[str, Any]


def open_or_append(tx: Tx, product: ProductRow, new: NewIncident) -> tuple[IncidentRow, bool]:
    """The rule's unresolved incident with ``new.evidence`` appended, or a new one.
    Returns the row and whether it was opened now."""
    if new.severity not in SEVERITIES:
        raise InputError(
            f"unknown incident severity {new.severity!r}",
            field="severity",
            hint=f"Use one of: {', '.join(SEVERITIES)}",
        )
    row = tx.session.scalar(
        select(IncidentRow).where(
            IncidentRow.product_id == product.id,
            IncidentRow.rule == new.rule,
            IncidentRow.status != "resolved",
        )
    )
    if row is not None:
        add_event(tx, row, "evidence", new.evidence)
        return row, False
    row = IncidentRow(
        product_id=product.id,
        rule=new.rule,
        policy_version=new.policy_version,
        status="open",
        severity=new.severity,
        title=new.title,
        assignee=new.assignee,
        assignee_role=new.assignee_role,
        first_bad_chunk=new.first_bad_chunk,
        first_bad_at=new.first_bad_at,
        detected_chunk=new.detected_chunk,
        chunks_to_detect=new.chunks_to_detect,
        opened_at=tx.now,
        opened_by=tx.actor,
    )
    tx.session.add(row)
    tx.session.flush()
    add_event(tx, row, "opened", new.evidence)
    tx.record(
        "incident.opened",
        "incident",
        f"{product.slug}#{row.id}",
        product=product.slug,
        after={
            "rule": new.rule,
            "severity": new.severity,
            "assignee": new.assignee,
            "first_bad_chunk": new.first_bad_chunk,
            "policy_version": new.policy_version,
        },
    )
    return row, True


def add_event(tx: Tx, row: IncidentRow, kind: str, detail: dict[str, Any]) -> None:
    tx.session.add(
        IncidentEventRow(
            incident_id=row.id,
            at=tx.now,
            kind=kind,
            actor=tx.actor,
            detail=json.dumps(detail, sort_keys=True, default=str),
        )
    )


def _row(tx: Tx, incident_id: int) -> IncidentRow:
    # an id beyond 64 bits is no incident (SQLite cannot even be asked about it)
    known = isinstance(incident_id, int) and -(2**63) <= incident_id < 2**63
    row = tx.session.get(IncidentRow, incident_id) if known else None
    if row is None:
        raise NotFoundError(
            f"no incident #{incident_id}",
            field="incident",
            hint="See the incidents with: postpilot incident list",
        )
    return row


def acknowledge(tx: Tx, incident_id: int, note: str | None) -> Incident:
    """Mark an open incident acknowledged (it stops escalating)."""
    note = check_text(note, field="note", what="the note")
    row = _row(tx, incident_id)
    if row.status != "open":
        raise RuleViolation(
            f"incident #{row.id} is {row.status}; only an open incident can be acknowledged",
            field="incident",
        )
    row.status = "acknowledged"
    row.acknowledged_at = tx.now
    row.acknowledged_by = tx.actor
    add_event(tx, row, "acknowledged", {"note": note})
    _audit_status(tx, row, "open", note)
    return _entity(tx, row)


def resolve(tx: Tx, incident_id: int, note: str | None) -> Incident:
    """Resolve an incident (open or acknowledged); promotion blocks it set are lifted."""
    note = check_text(note, field="note", what="the note")
    row = _row(tx, incident_id)
    if row.status == "resolved":
        raise RuleViolation(f"incident #{row.id} is already resolved", field="incident")
    before = row.status
    row.status = "resolved"
    row.resolved_at = tx.now
    row.resolved_by = tx.actor
    row.resolution = note
    add_event(tx, row, "resolved", {"note": note})
    for block in tx.session.scalars(
        select(PromotionBlockRow).where(
            PromotionBlockRow.incident_id == row.id, PromotionBlockRow.lifted_at.is_(None)
        )
    ):
        block.lifted_at = tx.now
        block.lifted_by = tx.actor
    _audit_status(tx, row, before, note)
    return _entity(tx, row)


def _audit_status(tx: Tx, row: IncidentRow, before: str, note: str | None) -> None:
    slug = tx.session.get(ProductRow, row.product_id)
    assert slug is not None
    tx.record(
        f"incident.{row.status}",
        "incident",
        f"{slug.slug}#{row.id}",
        product=slug.slug,
        before={"status": before},
        after={"status": row.status, "note": note},
    )


def get(tx: Tx, incident_id: int) -> Incident:
    return _entity(tx, _row(tx, incident_id))


def list_incidents(tx: Tx, slug: str | None, status: str | None) -> list[Incident]:
    query = select(IncidentRow)
    if slug is not None:
        query = query.where(IncidentRow.product_id == tx.product(slug).id)
    if status is not None:
        if status not in STATUSES:
            raise InputError(
                f"unknown incident status {status!r}",
                field="status",
                hint=f"Use one of: {', '.join(STATUSES)}",
            )
        query = query.where(IncidentRow.status == status)
    return [_entity(tx, r) for r in tx.session.scalars(query.order_by(IncidentRow.id))]


def _entity(tx: Tx, row: IncidentRow) -> Incident:
    product = tx.session.get(ProductRow, row.product_id)
    assert product is not None
    events = [
        IncidentEvent(e.at, e.kind, e.actor, json.loads(e.detail))
        for e in tx.session.scalars(
            select(IncidentEventRow)
            .where(IncidentEventRow.incident_id == row.id)
            .order_by(IncidentEventRow.id)
        )
    ]
    return Incident(
        id=row.id,
        product=product.slug,
        rule=row.rule,
        policy_version=row.policy_version,
        status=row.status,
        severity=row.severity,
        title=row.title,
        assignee=row.assignee,
        assignee_role=row.assignee_role,
        first_bad_chunk=row.first_bad_chunk,
        first_bad_at=row.first_bad_at,
        detected_chunk=row.detected_chunk,
        chunks_to_detect=row.chunks_to_detect,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        escalated_at=row.escalated_at,
        escalated_to=row.escalated_to,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution=row.resolution,
        events=events,
    )
