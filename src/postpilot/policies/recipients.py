"""Who a ``notify`` or ``escalate`` reaches: a role resolves to its holder when it fires.

A policy names roles, not people, so a hand-over needs no policy edit: the
role is looked up in the registry at the moment the action is carried out.
``data_steward`` reaches the steward of every data source of the product;
``role_holders`` reaches every active holder of the product's roles. A role
held by a deactivated person (orphaned) or by nobody falls back to the owner,
then the monitoring lead, so the alert still reaches a person; the
notification says whom it was meant for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postpilot.registry import Assignment, Product, Role

__all__ = ["ROLE_HOLDERS", "Recipient", "payload", "resolve"]

ROLE_HOLDERS = "role_holders"
_FALLBACK = (Role.OWNER, Role.MONITORING_LEAD)


@dataclass(frozen=True)
class Recipient:
    """A person to notify; ``role`` is the role they were reached through (if any),
    ``meant_for`` the role the policy named when a fallback stood in."""

    email: str | None
    name: str | None
    role: str | None
    meant_for: str | None = None


def payload(
    kind: str, subject: str, text: str, severity: str | None, to: Recipient, data: dict[str, Any]
) -> dict[str, Any]:
    """A notification's stored payload: what every channel builds its message from."""
    return {
        "kind": kind,
        "subject": subject,
        "text": text,
        "severity": severity,
        "recipient": {
            "email": to.email,
            "name": to.name,
            "role": to.role,
            "meant_for": to.meant_for,
        },
        "data": data,
    }


def _holders(product: Product, role: Role) -> list[Assignment]:
    if role is Role.DATA_STEWARD:
        return [s.steward for s in product.sources if s.steward is not None]
    held = product.roles.get(role)
    return [held] if held is not None else []


def _of(assignment: Assignment, meant_for: str | None = None) -> Recipient:
    return Recipient(assignment.email, assignment.name, assignment.role.value, meant_for)


def resolve(product: Product, who: str) -> list[Recipient]:
    """The people ``who`` (a role, ``role_holders`` or an email) names on ``product``.

    Never empty: when nobody active holds the role, a fallback (the owner, else the
    monitoring lead) is named, and failing that a recipient with no email, which the
    store channel still records.
    """
    if "@" in who:
        for assignment in [*product.roles.values(), *(s.steward for s in product.sources)]:
            if assignment is not None and assignment.email == who.lower():
                return [Recipient(assignment.email, assignment.name, None)]
        return [Recipient(who.lower(), None, None)]
    if who == ROLE_HOLDERS:
        seen: dict[str, Recipient] = {}
        for role in Role:
            for a in _holders(product, role):
                if a.active and a.email not in seen:
                    seen[a.email] = _of(a)
        return list(seen.values()) or _fallback(product, who)
    active = [a for a in _holders(product, Role(who)) if a.active]
    return [_of(a) for a in active] or _fallback(product, who)


def _fallback(product: Product, meant_for: str) -> list[Recipient]:
    for role in _FALLBACK:
        held = product.roles.get(role)
        if held is not None and held.active and role.value != meant_for:
            return [_of(held, meant_for)]
    return [Recipient(None, None, None, meant_for)]
