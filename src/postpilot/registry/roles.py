"""Role assignments: exactly one active, named person per question.

Assigning a role that is already held replaces the holder: the old assignment
is closed (who, when, why) and a new one opened, and the audit log records
both people.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select

from postpilot.errors import InactivePersonError, InputError, NotAPersonError
from postpilot.registry._text import check_text, limit_of, storable
from postpilot.registry._tx import Tx
from postpilot.registry.entities import Assignment, Role
from postpilot.store.models import ProductRow, RoleAssignmentRow, TeamRow

_SEPARATORS = re.compile(r"[,;\s]+")


def parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower().replace("-", "_"))
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InputError(
            f"unknown role {role!r}", field="role", hint=f"Use one of: {allowed}"
        ) from None


def assignment_entity(row: RoleAssignmentRow) -> Assignment:
    return Assignment(
        role=Role(row.role),
        email=row.person.email,
        name=row.person.name,
        active=row.person.active,
        source=row.data_source.name if row.data_source else None,
        assigned_at=row.assigned_at,
        assigned_by=row.assigned_by,
    )


def single_person(tx: Tx, who: str | Sequence[str], role: Role, field: str = "email") -> str:
    """The one email in ``who``; refuses lists and teams with a clear reason."""
    if not isinstance(who, str):
        names = [str(w) for w in who]
    else:
        names = [w for w in _SEPARATORS.split(who.strip()) if w]
    if len(names) != 1:
        raise NotAPersonError(
            f"the {role.value} role is held by exactly one person, got {len(names)}: "
            f"{', '.join(names) or 'none'}",
            field=field,
            hint="Name the one person who is accountable",
        )
    name = names[0]
    team = None
    if storable(name, limit_of(TeamRow.name)):
        team = tx.session.scalar(select(TeamRow).where(TeamRow.name == name))
    if team is not None:
        raise NotAPersonError(
            f"{name!r} is a team; the {role.value} role is held by one named person, never a team",
            field=field,
            hint="Name the one person in the team who is accountable",
        )
    return name


def assign(
    tx: Tx,
    product: ProductRow,
    role: Role,
    who: str | Sequence[str],
    *,
    source: str | None = None,
    reason: str | None = None,
    field: str = "email",
) -> tuple[Assignment, bool]:
    """Give ``role`` on ``product`` to one person. Returns the assignment and
    whether anything changed (assigning the current holder again changes nothing).
    ``field`` names the argument that gave the person, for errors (``owner``, ``steward``)."""
    end_reason_limit = limit_of(RoleAssignmentRow.end_reason)
    reason = check_text(reason, field="reason", what="the reason", limit=end_reason_limit)
    email = single_person(tx, who, role, field)
    person = tx.person(email, field=field)
    source_row = None
    if role is Role.DATA_STEWARD:
        if not source:
            raise InputError(
                "the data_steward role is held per data source: name the source",
                field="source",
                hint=f"Pass --source NAME (add one with: postpilot source add {product.slug} NAME)",
            )
        source_row = tx.source(product, source)
    elif source:
        raise InputError(
            f"only data_steward is held per data source, not {role.value}",
            field="source",
            hint="Leave out --source",
        )
    if not person.active:
        raise InactivePersonError(
            f"{person.email} is inactive and cannot be given the {role.value} role "
            f"on {product.slug}",
            field=field,
            hint=f"Name an active person, or reactivate them: postpilot person activate "
            f"{person.email}",
        )
    slot = role.value if source_row is None else f"{role.value}:{source_row.id}"
    current = tx.session.scalar(
        select(RoleAssignmentRow).where(
            RoleAssignmentRow.product_id == product.id,
            RoleAssignmentRow.slot == slot,
            RoleAssignmentRow.ended_at.is_(None),
        )
    )
    if current is not None and current.person_id == person.id:
        return assignment_entity(current), False
    before = None
    if current is not None:
        current.ended_at = tx.now
        current.ended_by = tx.actor
        current.end_reason = reason or f"replaced by {person.email}"[:end_reason_limit]
        before = {"person": current.person.email, "active": current.person.active}
        tx.session.flush()  # close the old slot before the unique index sees the new one
    row = RoleAssignmentRow(
        product_id=product.id,
        role=role.value,
        slot=slot,
        person=person,
        data_source=source_row,
        assigned_at=tx.now,
        assigned_by=tx.actor,
    )
    tx.session.add(row)
    tx.record(
        "role.replaced" if current is not None else "role.assigned",
        "role",
        f"{product.slug}/{role.value}" + (f":{source}" if source_row else ""),
        product=product.slug,
        before=before,
        after={"person": person.email, "reason": reason},
    )
    return assignment_entity(row), True


def open_assignments(tx: Tx, product: ProductRow) -> list[RoleAssignmentRow]:
    return list(
        tx.session.scalars(
            select(RoleAssignmentRow)
            .where(RoleAssignmentRow.product_id == product.id, RoleAssignmentRow.ended_at.is_(None))
            .order_by(RoleAssignmentRow.id)
        )
    )
