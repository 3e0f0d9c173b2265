"""The notification outbox: every notification is written to the store first.

A notification is stored in the same transaction as what caused it (an
incident, a firing), then delivered after the commit; each attempt is stored
with its outcome. A notification that failed waits for its next attempt time
and is retried by the next delivery pass (``monitor run`` runs one), so an
alert is delivered once its receiver comes back, and never silently lost:
one that gives up is ``failed``, visible in ``postpilot notify list``, and
raises an alert of its own through the store channel.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from postpilot.errors import InputError, NotFoundError
from postpilot.registry._tx import Tx
from postpilot.store.models import NotificationAttemptRow, NotificationRow, ProductRow

__all__ = [
    "STATUSES",
    "Attempt",
    "Notification",
    "due",
    "enqueue",
    "get",
    "list_notifications",
    "record_attempt",
]

STATUSES = ("pending", "delivered", "failed")


@dataclass(frozen=True)
class Attempt:
    at: datetime
    ok: bool
    status_code: int | None
    detail: str


@dataclass(frozen=True)
class Notification:
    id: int
    key: str
    product: str | None
    incident_id: int | None
    channel: str
    recipient: str | None
    recipient_role: str | None
    subject: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    history: list[Attempt]


def enqueue(
    tx: Tx,
    *,
    key: str,
    product: ProductRow | None,
    incident_id: int | None,
    channel: str,
    recipient: str | None,
    recipient_role: str | None,
    subject: str,
    payload: dict[str, Any],
) -> int | None:
    """Store a notification to deliver and return its id; None (and nothing stored) when
    ``key`` exists, so carrying out the same firing twice notifies once."""
    exists = tx.session.scalar(select(NotificationRow.id).where(NotificationRow.key == key))
    if exists is not None:
        return None
    row = NotificationRow(
        key=key,
        product_id=None if product is None else product.id,
        incident_id=incident_id,
        channel=channel,
        recipient=recipient,
        recipient_role=recipient_role,
        subject=subject,
        payload=json.dumps(payload, sort_keys=True, default=str),
        status="pending",
        attempts=0,
        created_at=tx.now,
        next_attempt_at=tx.now,
    )
    tx.session.add(row)
    tx.session.flush()
    return row.id


def due(
    tx: Tx, now: datetime, product: str | None = None, ids: Collection[int] | None = None
) -> list[Notification]:
    """Pending notifications whose next attempt time has come (of ``product``, of ``ids``),
    oldest first."""
    query = select(NotificationRow).where(
        NotificationRow.status == "pending",
        or_(NotificationRow.next_attempt_at.is_(None), NotificationRow.next_attempt_at <= now),
    )
    if ids is not None:
        query = query.where(NotificationRow.id.in_(list(ids)))
    if product is not None:
        query = query.where(NotificationRow.product_id == tx.product(product).id)
    return [_entity(tx, r) for r in tx.session.scalars(query.order_by(NotificationRow.id))]


def record_attempt(
    tx: Tx,
    notification_id: int,
    *,
    ok: bool,
    status_code: int | None,
    detail: str,
    next_attempt_at: datetime | None,
) -> Notification:
    """Store one attempt. ``ok`` marks it delivered; otherwise it stays pending until
    ``next_attempt_at``, or is ``failed`` when that is None (no more attempts)."""
    row = tx.session.get(NotificationRow, notification_id)
    assert row is not None
    tx.session.add(
        NotificationAttemptRow(
            notification_id=row.id, at=tx.now, ok=ok, status_code=status_code, detail=detail
        )
    )
    row.attempts += 1
    if ok:
        row.status = "delivered"
        row.delivered_at = tx.now
        row.next_attempt_at = None
    else:
        row.last_error = detail
        row.next_attempt_at = next_attempt_at
        row.status = "pending" if next_attempt_at is not None else "failed"
    tx.session.flush()
    return _entity(tx, row)


def get(tx: Tx, notification_id: int) -> Notification:
    row = tx.session.get(NotificationRow, notification_id)
    if row is None:
        raise NotFoundError(f"no notification #{notification_id}", field="notification")
    return _entity(tx, row)


def list_notifications(tx: Tx, slug: str | None, status: str | None) -> list[Notification]:
    query = select(NotificationRow)
    if slug is not None:
        query = query.where(NotificationRow.product_id == tx.product(slug).id)
    if status is not None:
        if status not in STATUSES:  # as incidents do: a typo is not an empty list
            raise InputError(
                f"unknown notification status {status!r}",
                field="status",
                hint=f"Use one of: {', '.join(STATUSES)}",
            )
        query = query.where(NotificationRow.status == status)
    return [_entity(tx, r) for r in tx.session.scalars(query.order_by(NotificationRow.id))]


def _entity(tx: Tx, row: NotificationRow) -> Notification:
    product = None if row.product_id is None else tx.session.get(ProductRow, row.product_id)
    history = [
        Attempt(a.at, a.ok, a.status_code, a.detail)
        for a in tx.session.scalars(
            select(NotificationAttemptRow)
            .where(NotificationAttemptRow.notification_id == row.id)
            .order_by(NotificationAttemptRow.id)
        )
    ]
    return Notification(
        id=row.id,
        key=row.key,
        product=None if product is None else product.slug,
        incident_id=row.incident_id,
        channel=row.channel,
        recipient=row.recipient,
        recipient_role=row.recipient_role,
        subject=row.subject,
        payload=json.loads(row.payload),
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        history=history,
    )
