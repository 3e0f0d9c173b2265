"""People and teams: who can be held accountable."""

from __future__ import annotations

from sqlalchemy import select

from postpilot.errors import ConflictError, InputError
from postpilot.registry._text import check_name, check_text, limit_of
from postpilot.registry._tx import Tx, normalize_email
from postpilot.registry.entities import Deactivation, OrphanedRole, Person, Role, Team
from postpilot.store.models import PersonRow, ProductRow, RoleAssignmentRow, TeamRow


def person_entity(row: PersonRow) -> Person:
    return Person(
        email=row.email,
        name=row.name,
        active=row.active,
        team=row.team.name if row.team else None,
        created_at=row.created_at,
        deactivated_at=row.deactivated_at,
    )


def team_entity(row: TeamRow) -> Team:
    return Team(name=row.name, description=row.description, created_at=row.created_at)


def add_team(tx: Tx, name: str, description: str | None) -> Team:
    if isinstance(name, str) and not name.strip():
        raise InputError("a team needs a name", field="name")
    name = check_name(name, field="name", limit=limit_of(TeamRow.name), what="a team's name")
    description = check_text(description, field="description", what="the description")
    if tx.session.scalar(select(TeamRow).where(TeamRow.name == name)) is not None:
        raise ConflictError(f"team {name!r} already exists", field="name")
    if tx.session.scalar(select(PersonRow).where(PersonRow.email == name.lower())) is not None:
        raise ConflictError(f"{name!r} is already a person's email", field="name")
    row = TeamRow(name=name, description=description, created_at=tx.now)
    tx.session.add(row)
    tx.record("team.created", "team", name, after={"name": name, "description": description})
    return team_entity(row)


def add_person(tx: Tx, email: str, name: str, team: str | None) -> Person:
    key = normalize_email(email)
    if isinstance(name, str) and not name.strip():
        raise InputError("a person needs a name", field="name", hint="Pass --name 'Full Name'")
    name = check_name(name, field="name", limit=limit_of(PersonRow.name), what="a person's name")
    if tx.session.scalar(select(PersonRow).where(PersonRow.email == key)) is not None:
        raise ConflictError(f"a person with email {key!r} already exists", field="email")
    team_row = tx.team(team) if team else None
    row = PersonRow(email=key, name=name, active=True, team=team_row, created_at=tx.now)
    tx.session.add(row)
    tx.record(
        "person.added",
        "person",
        key,
        after={"email": key, "name": row.name, "team": team, "active": True},
    )
    return person_entity(row)


def deactivate_person(tx: Tx, email: str, reason: str | None) -> Deactivation:
    """Mark a person inactive and record every role they leave orphaned."""
    reason = check_text(reason, field="reason", what="the reason")
    row = tx.person(email)
    if not row.active:
        return Deactivation(person=person_entity(row), orphaned=[], changed=False)
    held = tx.session.execute(
        select(RoleAssignmentRow, ProductRow)
        .join(ProductRow, RoleAssignmentRow.product_id == ProductRow.id)
        .where(RoleAssignmentRow.person_id == row.id, RoleAssignmentRow.ended_at.is_(None))
        .order_by(ProductRow.slug, RoleAssignmentRow.role)
    ).all()
    orphaned = [
        OrphanedRole(
            product=product.slug,
            role=Role(assignment.role),
            source=assignment.data_source.name if assignment.data_source else None,
        )
        for assignment, product in held
    ]
    row.active = False
    row.deactivated_at = tx.now
    tx.record(
        "person.deactivated",
        "person",
        row.email,
        before={"active": True},
        after={
            "active": False,
            "reason": reason,
            "orphaned_roles": [
                {"product": o.product, "role": o.role.value, "source": o.source} for o in orphaned
            ],
        },
    )
    for o in orphaned:
        tx.record(
            "role.orphaned",
            "role",
            f"{o.product}/{o.role.value}" + (f":{o.source}" if o.source else ""),
            product=o.product,
            after={"person": row.email, "reason": "person deactivated"},
        )
    return Deactivation(person=person_entity(row), orphaned=orphaned, changed=True)


def activate_person(tx: Tx, email: str) -> Person:
    row = tx.person(email)
    if not row.active:
        row.active = True
        row.deactivated_at = None
        tx.record(
            "person.activated",
            "person",
            row.email,
            before={"active": False},
            after={"active": True},
        )
    return person_entity(row)


def list_people(tx: Tx, *, include_inactive: bool = True) -> list[Person]:
    query = select(PersonRow).order_by(PersonRow.email)
    if not include_inactive:
        query = query.where(PersonRow.active.is_(True))
    return [person_entity(r) for r in tx.session.scalars(query)]


def list_teams(tx: Tx) -> list[Team]:
    return [team_entity(r) for r in tx.session.scalars(select(TeamRow).order_by(TeamRow.name))]
