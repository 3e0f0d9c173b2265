"""The hash-chained audit log.

Every change to registry state appends one :class:`AuditEventRow` in the same
transaction as the change. Each event stores ``sha256`` over its canonical
JSON, which includes the previous event's hash, so editing or deleting any
event breaks the chain from that point on. The head of the chain (last number
and hash) is kept in its own table and updated in the same transaction, so
deleting events from the end is detected too. See the README's "Audit log"
section for what this does and does not protect against.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postpilot.registry.entities import AuditEvent, AuditVerification
from postpilot.store.models import AuditEventRow, AuditHeadRow

__all__ = ["GENESIS", "append", "canonical_json", "event_hash", "events", "verify"]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first event."""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same bytes for the same data."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(row: AuditEventRow) -> str:
    """sha256 over the event's canonical JSON, previous hash included."""
    body = {
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "subject_type": row.subject_type,
        "subject": row.subject,
        "product": row.product,
        "before": row.before,
        "after": row.after,
        "prev_hash": row.prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject: str,
    product: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEventRow:
    """Append one event to the chain, inside the caller's transaction."""
    head = session.get(AuditHeadRow, 1, with_for_update=True)
    if head is None:  # pragma: no cover - the first migration creates it
        head = AuditHeadRow(id=1, seq=0, hash=GENESIS)
        session.add(head)
    row = AuditEventRow(
        seq=head.seq + 1,
        at=at.isoformat(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject=subject,
        product=product,
        before=None if before is None else canonical_json(before),
        after=None if after is None else canonical_json(after),
        prev_hash=head.hash,
    )
    row.hash = event_hash(row)
    session.add(row)
    head.seq, head.hash = row.seq, row.hash
    return row


def events(session: Session, *, product: str | None = None) -> list[AuditEvent]:
    """Every event, oldest first; only one product's when ``product`` is given."""
    query = select(AuditEventRow).order_by(AuditEventRow.seq)
    if product is not None:
        query = query.where(AuditEventRow.product == product)
    return [_entity(row) for row in session.scalars(query)]


def verify(session: Session) -> AuditVerification:
    """Recompute the chain and compare it with the stored head.

    Stops at the first event that does not match and names it.
    """
    head = session.get(AuditHeadRow, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)

    def result(count: int, seq: int | None = None, problem: str | None = None) -> AuditVerification:
        return AuditVerification(
            ok=problem is None,
            events=count,
            head_seq=head_seq,
            head_hash=head_hash,
            first_bad_seq=seq,
            problem=problem,
        )

    query = select(AuditEventRow).order_by(AuditEventRow.seq).execution_options(yield_per=1000)
    rows = session.scalars(query)
    try:
        prev_hash, expected, count = GENESIS, 1, 0
        for row in rows:
            label = f"event #{row.seq} ({row.action} {row.subject}, {row.at}, by {row.actor})"
            if row.seq != expected:
                return result(
                    count,
                    expected,
                    f"event #{expected} is missing: the log jumps "
                    f"from #{expected - 1} to #{row.seq}",
                )
            if row.prev_hash != prev_hash:
                return result(
                    count,
                    row.seq,
                    f"{label} does not follow the event before it: "
                    f"its prev_hash does not match event "
                    f"#{row.seq - 1}, which was changed or replaced",
                )
            if event_hash(row) != row.hash:
                return result(
                    count,
                    row.seq,
                    f"{label} was modified after it was written: "
                    f"its content no longer matches its stored hash",
                )
            prev_hash, expected, count = row.hash, expected + 1, count + 1
    finally:
        rows.close()
    last = expected - 1
    if head_seq != last or head_hash != prev_hash:
        if head_seq > last:
            problem = (
                f"the chain head records event #{head_seq}, but the log ends at "
                f"#{last}: events #{last + 1}..#{head_seq} were deleted"
            )
            return result(count, last + 1, problem)
        return result(
            count,
            last,
            f"the chain head (#{head_seq}) does not match the last "
            f"event #{last}: the head was changed",
        )
    return result(count)


def _entity(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject_type=row.subject_type,
        subject=row.subject,
        product=row.product,
        before=_load(row.before),
        after=_load(row.after),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _load(text: str | None) -> Any:
    """Stored JSON, or the raw text when someone edited it into invalid JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
