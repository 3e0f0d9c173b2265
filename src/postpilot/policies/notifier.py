"""Deliver the notifications that are due, recording every attempt.

A pass tries each due notification a few times with jittered backoff
(:func:`postpilot.policies.delivery.deliver`), recording each attempt in the
store. One that still fails waits for its next attempt time, growing from a
minute to four hours, and is retried by the next pass; after
:data:`MAX_ATTEMPTS` attempts or :data:`GIVE_UP_AFTER` it is ``failed``, and
an alert that the channel keeps failing goes to the product's monitoring lead
through the store channel, which always works. A notification is never
silently lost: it is delivered, pending (with its attempts visible), or failed
(with an alert about it).

Channels are the policy's own (``channels:``), the global ones
(``$POSTPILOT_HOME/channels.yaml``) and ``store`` and ``console``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from postpilot.policies.actions.base import STORE, short_key
from postpilot.policies.channels import Channel, Delivery, Message
from postpilot.policies.delivery import deliver
from postpilot.registry import Registry, notifications
from postpilot.registry._tx import Tx
from postpilot.registry.notifications import Notification

__all__ = [
    "GIVE_UP_AFTER",
    "MAX_ATTEMPTS",
    "RETRY_SCHEDULE",
    "Delivered",
    "deliver_due",
    "message_of",
]

RETRY_SCHEDULE = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
)
"""The wait before the next pass retries, after a pass's attempts all failed (the last
value repeats)."""
MAX_ATTEMPTS = 20
GIVE_UP_AFTER = timedelta(days=2)
IN_PASS_ATTEMPTS = 4
"""Attempts within one pass, 0.5 s apart and doubling, with full jitter."""


@dataclass
class Delivered:
    delivered: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def message_id(key: str) -> str:
    """The stable id receivers see (``Idempotency-Key``, email ``Message-ID``): the same
    notification has the same id on every attempt.

    >>> message_id("churn|inputs-drifted|None|run0000003/00000:0|0|alert||a@x.com|ops")
    'pp-99170299d48b6c24f77538ec'
    """
    return "pp-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def message_of(n: Notification) -> Message:
    recipient = n.payload.get("recipient") or {}
    return Message(
        id=message_id(n.key),
        product=n.product,
        subject=_bare_subject(n.subject, n.product),
        text=str(n.payload.get("text", n.subject)),
        recipient_email=recipient.get("email"),
        recipient_name=recipient.get("name"),
        recipient_role=recipient.get("role"),
        severity=n.payload.get("severity"),
        data={"kind": n.payload.get("kind"), "notification": n.id, **n.payload.get("data", {})},
        created_at=n.created_at,
    )


def _bare_subject(subject: str, product: str | None) -> str:
    """The stored subject without its ``[postpilot] product:`` prefix: the channels put
    the product (and the email the ``[postpilot]`` tag) in front of it themselves.

    >>> _bare_subject("[postpilot] churn: inputs-drifted", "churn")
    'inputs-drifted'
    """
    bare = subject.removeprefix("[postpilot] ")
    return bare.removeprefix(f"{product}: ") if product else bare


def deliver_due(
    reg: Registry,
    channels: Mapping[str, Channel],
    *,
    now: datetime,
    product: str | None = None,
    ids: Collection[int] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivered:
    """Try every due notification (of ``product``, else all; only ``ids`` when given)
    through its channel."""
    out = Delivered()
    due = reg.atomic(lambda tx: notifications.due(tx, now, product, ids), now=now)
    down: set[str] = set()
    for n in due:
        if n.channel in down:
            # the channel just failed every attempt of this pass: the rest wait for the
            # next pass rather than each spending the backoff again
            out.pending.append(n.id)
            continue
        channel = channels.get(n.channel)
        if channel is None:
            _record(
                reg,
                n,
                now,
                ok=False,
                status=None,
                detail=f"no channel named {n.channel!r} is configured",
                final=True,
            )
            out.failed.append(n.id)
            out.lines.append(f"notification #{n.id}: no channel {n.channel!r}; marked failed")
            continue
        message = message_of(n)

        def on_attempt(attempt: int, delivery: Delivery, n: Notification = n) -> None:
            ok = delivery.ok
            last = ok or not delivery.retryable or attempt >= IN_PASS_ATTEMPTS
            _record(
                reg,
                n,
                now,
                ok=ok,
                status=delivery.status,
                detail=delivery.detail,
                final=last and not ok and not delivery.retryable,
                attempts_before=n.attempts + attempt - 1,
                last_of_pass=last,
            )

        result = deliver(
            channel, message, attempts=IN_PASS_ATTEMPTS, on_attempt=on_attempt, sleep=sleep
        )
        if result.ok:
            out.delivered.append(n.id)
            if n.channel != STORE:
                out.lines.append(f"delivered #{n.id} to {n.recipient or 'nobody'} via {n.channel}")
        else:
            current = reg.atomic(partial(notifications.get, notification_id=n.id), now=now)
            if current.status == "failed":
                out.failed.append(n.id)
                out.lines.append(
                    f"notification #{n.id} via {n.channel} FAILED after {current.attempts} "
                    f"attempts: {result.detail}"
                )
            else:
                down.add(n.channel)
                out.pending.append(n.id)
                out.lines.append(
                    f"notification #{n.id} via {n.channel} not delivered ({result.detail}); "
                    f"retried after {current.next_attempt_at:%H:%M} UTC"
                )
    if out.failed and ids is None:
        # each notification that gave up raised an alert through the store channel, which
        # always works: deliver those now, not on the next pass
        alerts = deliver_due(reg, channels, now=now, product=product, sleep=sleep)
        out.delivered += alerts.delivered
        out.pending += alerts.pending
        out.failed += alerts.failed
        out.lines += alerts.lines
    return out


def _next(attempts: int, created: datetime, now: datetime) -> datetime | None:
    if attempts >= MAX_ATTEMPTS or now - created >= GIVE_UP_AFTER:
        return None
    passes = max(0, attempts // IN_PASS_ATTEMPTS - 1)
    return now + RETRY_SCHEDULE[min(passes, len(RETRY_SCHEDULE) - 1)]


def _record(
    reg: Registry,
    n: Notification,
    now: datetime,
    *,
    ok: bool,
    status: int | None,
    detail: str,
    final: bool,
    attempts_before: int | None = None,
    last_of_pass: bool = True,
) -> None:
    def op(tx: Tx) -> None:
        attempts = (n.attempts if attempts_before is None else attempts_before) + 1
        if ok or final:
            next_at = None
        elif not last_of_pass:
            next_at = now
        else:
            next_at = _next(attempts, n.created_at, now)
        updated = notifications.record_attempt(
            tx, n.id, ok=ok, status_code=status, detail=detail, next_attempt_at=next_at
        )
        if updated.status == "failed" and n.channel != STORE:
            _channel_alert(tx, updated)

    reg.atomic(op, now=now)


def _channel_alert(tx: Tx, n: Notification) -> None:
    """A channel gave up on a notification: say so through the store channel."""
    from postpilot.policies.recipients import Recipient, payload, resolve
    from postpilot.registry.products import get as get_product

    product_row = None if n.product is None else tx.product(n.product)
    people: list[str | None] = [None]
    if n.product is not None:
        people = [r.email for r in resolve(get_product(tx, n.product), "monitoring_lead")]
    subject = f"[postpilot] channel {n.channel!r} failed to deliver notification #{n.id}"
    for email in people:
        notifications.enqueue(
            tx,
            key=short_key(f"channel-failed|{n.id}|{email}"),
            product=product_row,
            incident_id=n.incident_id,
            channel=STORE,
            recipient=email,
            recipient_role="monitoring_lead",
            subject=subject,
            payload=payload(
                "channel_failed",
                subject,
                f"{subject} to {n.recipient or 'nobody'} after {n.attempts} attempts: "
                f"{n.last_error}. The notification was: {n.subject}",
                "high",
                Recipient(email, None, "monitoring_lead"),
                {"notification": n.id, "channel": n.channel, "error": n.last_error},
            ),
        )
