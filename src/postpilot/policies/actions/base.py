"""What every policy action shares: a stable key, and carrying out or describing itself.

An action is carried out inside the transaction that records the firing, so
the incident it opens, the notifications it queues and its audit events
commit together or not at all. ``describe`` says what it would do, for
``policy test``, without touching the store.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from postpilot.policies.recipients import Recipient, payload, resolve
from postpilot.registry import notifications

if TYPE_CHECKING:
    from postpilot.policies.evaluate import Firing
    from postpilot.registry import Product
    from postpilot.registry._tx import Tx
    from postpilot.store.models import IncidentRow, ProductRow

__all__ = ["STORE", "Action", "Context", "short_key"]

STORE = "store"
"""The channel that always works: the notification is in the store."""


def short_key(text: str, limit: int = 300) -> str:
    """``text`` when it fits a key column, else a digest of it (keys must be unique, not
    readable)."""
    if len(text) <= limit:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Context:
    """What an action sees: the transaction, the product, the firing and its rule.

    ``incident`` is the incident an earlier ``open_incident`` of the same rule
    opened or appended to in this firing (None if the rule has none). ``done``
    collects one line per thing done, for the command's output.
    """

    tx: Tx | None
    row: ProductRow | None
    product: Product
    rule: Any
    firing: Firing
    policy_version: int | None
    index: int = 0
    incident: IncidentRow | None = None
    incident_is_new: bool = False
    done: list[str] = field(default_factory=list)
    reached: set[tuple[str | None, str]] = field(default_factory=set)
    """(email, channel) pairs this firing has notified: two actions naming the same
    person (a steward's role falling back to the owner, then the owner) notify once."""

    @property
    def dry_run(self) -> bool:
        return self.tx is None

    def recipients(self, who: str) -> list[Recipient]:
        return resolve(self.product, who)

    def summary(self) -> str:
        f = self.firing
        subject = f" {f.subject}" if f.subject else ""
        threshold = (
            f"outside [{f.threshold[0]:g}, {f.threshold[1]:g}]"
            if isinstance(f.threshold, tuple)
            else f"{f.direction} {f.threshold:g}"
        )
        return (
            f"{self.product.slug}: rule {self.rule.name!r}: {f.metric}{subject} = {f.value:.4g} "
            f"({threshold}) at chunk {f.chunk}"
            + (f", {f.consecutive} chunks in a row" if f.consecutive > 1 else "")
        )

    def data(self) -> dict[str, Any]:
        f = self.firing
        return {
            "product": self.product.slug,
            "rule": self.rule.name,
            "policy_version": self.policy_version,
            "metric": f.metric,
            "subject": f.subject,
            "value": f.value,
            "threshold": list(f.threshold) if isinstance(f.threshold, tuple) else f.threshold,
            "direction": f.direction,
            "chunk": f.chunk,
            "at": f.at.isoformat(),
            "first_chunk": f.first_chunk,
            "first_at": f.first_at.isoformat(),
            "consecutive": f.consecutive,
            "run_id": f.run_id,
            "incident": None if self.incident is None else self.incident.id,
        }

    def notify(
        self,
        who: str,
        via: list[str] | None,
        *,
        kind: str,
        subject: str,
        text: str,
        severity: str | None = None,
        key_extra: str = "",
    ) -> list[Recipient]:
        """Queue one notification per recipient and channel (the store channel always),
        deduplicated by a key built from the firing, so carrying out twice queues once."""
        people = self.recipients(who)
        channels = list(dict.fromkeys([STORE, *(via or [])]))
        fresh = [p for p in people if any((p.email, c) not in self.reached for c in channels)]
        if self.dry_run:
            self.reached.update((p.email, c) for p in people for c in channels)
            return fresh
        assert self.tx is not None
        assert self.row is not None
        f = self.firing
        for person in fresh:
            for channel in channels:
                if (person.email, channel) in self.reached:
                    continue
                self.reached.add((person.email, channel))
                key = short_key(
                    f"{self.product.slug}|{self.rule.name}|{f.subject}|{f.chunk}|{self.index}"
                    f"|{kind}|{key_extra}|{person.email}|{channel}"
                )
                body = payload(kind, subject, text, severity, person, self.data())
                notifications.enqueue(
                    self.tx,
                    key=key,
                    product=self.row,
                    incident_id=None if self.incident is None else self.incident.id,
                    channel=channel,
                    recipient=person.email,
                    recipient_role=person.role,
                    subject=subject,
                    payload=body,
                )
        return fresh


class Action(ABC):
    """A policy action: ``key`` is what policy files and the store name it by."""

    key: ClassVar[str]

    @abstractmethod
    def carry_out(self, spec: Any, ctx: Context) -> None:
        """Do it (``ctx.tx`` is set), appending a line per thing done to ``ctx.done``."""

    @abstractmethod
    def describe(self, spec: Any, ctx: Context) -> str:
        """What it would do, to whom, in one line (``policy test``)."""


def people(recipients: list[Recipient]) -> str:
    """``ana@x (owner), bo@x (data_steward)`` for messages."""
    out = []
    for r in recipients:
        who = r.email or "nobody (no active holder)"
        role = r.role or ""
        if r.meant_for and r.meant_for != r.role:
            role = f"{role}, standing in for {r.meant_for}" if role else f"for {r.meant_for}"
        out.append(f"{who} ({role})" if role else who)
    return ", ".join(out)
