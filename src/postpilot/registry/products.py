"""AI products, their data sources and their lifecycle.

Lifecycle::

    proposed ──► pilot ──► production
        │  ◄──────┘ ◄─────────┘
        └──────────┴──────────┴──► retired   (final)

A product cannot enter ``pilot`` or ``production`` without an active, named
owner: the ownership model is designed before the pilot starts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from postpilot.errors import (
    ConflictError,
    InputError,
    MissingOwnerError,
    StageTransitionError,
)
from postpilot.registry import policies, roles
from postpilot.registry._text import check_name, check_text, limit_of
from postpilot.registry._tx import Tx, check_slug
from postpilot.registry.entities import (
    PERSON_ROLES,
    DataSource,
    Product,
    ProductSummary,
    Role,
    Sla,
    Stage,
    StageTransition,
)
from postpilot.registry.versions import list_versions
from postpilot.store.models import (
    DataSourceRow,
    ProductRow,
    RoleAssignmentRow,
    StageTransitionRow,
)

ALLOWED: dict[Stage, frozenset[Stage]] = {
    Stage.PROPOSED: frozenset({Stage.PILOT, Stage.RETIRED}),
    Stage.PILOT: frozenset({Stage.PRODUCTION, Stage.PROPOSED, Stage.RETIRED}),
    Stage.PRODUCTION: frozenset({Stage.PILOT, Stage.RETIRED}),
    Stage.RETIRED: frozenset(),
}
NEEDS_OWNER = frozenset({Stage.PILOT, Stage.PRODUCTION})
CREATE_STAGES = (Stage.PROPOSED, Stage.PILOT)


@dataclass(frozen=True)
class ProductSpec:
    """What a new product is created with."""

    slug: str
    name: str | None = None
    stage: str = Stage.PROPOSED.value
    owner: str | Sequence[str] | None = None
    purpose: str | None = None
    kpi: str | None = None
    team: str | None = None
    sla: Sla = dataclasses.field(default_factory=Sla)
    monthly_budget: float | None = None


def parse_stage(stage: str, allowed: Sequence[Stage] = tuple(Stage)) -> Stage:
    try:
        value = Stage(stage.strip().lower())
    except ValueError:
        value = None
    if value is None or value not in allowed:
        raise InputError(
            f"{stage!r} is not a stage here",
            field="stage",
            hint=f"Use one of: {', '.join(s.value for s in allowed)}",
        )
    return value


def create(tx: Tx, spec: ProductSpec) -> Product:
    slug = check_slug(spec.slug)
    stage = parse_stage(spec.stage, CREATE_STAGES)
    name = check_name(
        slug if spec.name is None else spec.name,
        field="name",
        limit=limit_of(ProductRow.name),
        what="a product's name",
    )
    purpose = check_text(spec.purpose, field="purpose", what="the purpose")
    kpi = check_text(spec.kpi, field="kpi", what="the KPI")
    sla = _check_sla(spec.sla, spec.monthly_budget)
    if tx.session.scalar(select(ProductRow).where(ProductRow.slug == slug)) is not None:
        raise ConflictError(f"product {slug!r} already exists", field="slug")
    if stage in NEEDS_OWNER and not spec.owner:
        raise MissingOwnerError(
            f"product {slug!r} cannot start in {stage.value} without the person who will own "
            f"it after the pilot",
            field="owner",
            hint="Name the owner with --owner EMAIL (design the ownership model before the "
            "pilot starts)",
        )
    row = ProductRow(
        slug=slug,
        name=name,
        purpose=purpose,
        kpi=kpi,
        stage=stage.value,
        team=tx.team(spec.team) if spec.team else None,
        sla_latency_p99_ms=sla.latency_p99_ms,
        sla_availability_pct=sla.availability_pct,
        sla_quality_metric=sla.quality_metric,
        sla_quality_threshold=sla.quality_threshold,
        monthly_budget=spec.monthly_budget,
        created_at=tx.now,
        created_by=tx.actor,
    )
    tx.session.add(row)
    tx.session.flush()
    tx.record(
        "product.created",
        "product",
        slug,
        product=slug,
        after={
            "name": row.name,
            "stage": stage.value,
            "purpose": spec.purpose,
            "kpi": spec.kpi,
            "team": spec.team,
            "sla": vars(sla),
            "monthly_budget": spec.monthly_budget,
        },
    )
    if spec.owner:
        roles.assign(tx, row, Role.OWNER, spec.owner, field="owner")
    tx.session.add(
        StageTransitionRow(
            product_id=row.id,
            from_stage=None,
            to_stage=stage.value,
            actor=tx.actor,
            reason="created",
            at=tx.now,
        )
    )
    return get(tx, slug)


def change_stage(tx: Tx, slug: str, stage: str, reason: str | None) -> Product:
    reason = check_text(reason, field="reason", what="the reason")
    row = tx.product(slug)
    target = parse_stage(stage)
    current = Stage(row.stage)
    if target == current:
        raise StageTransitionError(f"{slug} is already in {current.value}", field="stage")
    if target not in ALLOWED[current]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED[current])) or "none (final stage)"
        raise StageTransitionError(
            f"{slug} cannot move from {current.value} to {target.value}",
            field="stage",
            hint=f"From {current.value} it can move to: {allowed}",
        )
    if target in NEEDS_OWNER:
        _require_owner(tx, row, target)
    if target is Stage.PRODUCTION:
        _require_no_block(tx, row)
    row.stage = target.value
    tx.session.add(
        StageTransitionRow(
            product_id=row.id,
            from_stage=current.value,
            to_stage=target.value,
            actor=tx.actor,
            reason=reason,
            at=tx.now,
        )
    )
    tx.record(
        "product.stage_changed",
        "product",
        slug,
        product=slug,
        before={"stage": current.value},
        after={"stage": target.value, "reason": reason},
    )
    return get(tx, slug)


def add_source(
    tx: Tx, slug: str, name: str, description: str | None, steward: str | None
) -> DataSource:
    product = tx.product(slug)
    if isinstance(name, str) and not name.strip():
        raise InputError("a data source needs a name", field="name")
    name = check_name(
        name, field="name", limit=limit_of(DataSourceRow.name), what="a data source's name"
    )
    description = check_text(description, field="description", what="the description")
    existing = tx.session.scalar(
        select(DataSourceRow).where(
            DataSourceRow.product_id == product.id, DataSourceRow.name == name
        )
    )
    if existing is not None:
        raise ConflictError(f"product {slug!r} already has a data source {name!r}", field="name")
    row = DataSourceRow(
        product_id=product.id, name=name, description=description, created_at=tx.now
    )
    tx.session.add(row)
    tx.session.flush()
    tx.record(
        "source.added",
        "data_source",
        f"{slug}/{name}",
        product=slug,
        after={"name": name, "description": description},
    )
    assignment = None
    if steward:
        assignment, _ = roles.assign(
            tx, product, Role.DATA_STEWARD, steward, source=name, field="steward"
        )
    return DataSource(name=name, description=description, steward=assignment)


def get(tx: Tx, slug: str) -> Product:
    row = tx.product(slug)
    held = roles.open_assignments(tx, row)
    by_role = {Role(a.role): roles.assignment_entity(a) for a in held if a.data_source_id is None}
    stewards = {a.data_source_id: roles.assignment_entity(a) for a in held if a.data_source_id}
    sources = [
        DataSource(name=s.name, description=s.description, steward=stewards.get(s.id))
        for s in tx.session.scalars(
            select(DataSourceRow)
            .where(DataSourceRow.product_id == row.id)
            .order_by(DataSourceRow.name)
        )
    ]
    transitions = [
        StageTransition(
            from_stage=Stage(t.from_stage) if t.from_stage else None,
            to_stage=Stage(t.to_stage),
            actor=t.actor,
            reason=t.reason,
            at=t.at,
        )
        for t in tx.session.scalars(
            select(StageTransitionRow)
            .where(StageTransitionRow.product_id == row.id)
            .order_by(StageTransitionRow.id)
        )
    ]
    return Product(
        slug=row.slug,
        name=row.name,
        purpose=row.purpose,
        kpi=row.kpi,
        stage=Stage(row.stage),
        team=row.team.name if row.team else None,
        sla=Sla(
            latency_p99_ms=row.sla_latency_p99_ms,
            availability_pct=row.sla_availability_pct,
            quality_metric=row.sla_quality_metric,
            quality_threshold=row.sla_quality_threshold,
        ),
        monthly_budget=row.monthly_budget,
        created_at=row.created_at,
        created_by=row.created_by,
        roles={r: by_role[r] for r in PERSON_ROLES if r in by_role},
        sources=sources,
        versions=list_versions(tx, row),
        transitions=transitions,
    )


def summaries(tx: Tx, stage: str | None = None) -> list[ProductSummary]:
    query = select(ProductRow).order_by(ProductRow.slug)
    if stage:
        query = query.where(ProductRow.stage == parse_stage(stage).value)
    products = list(tx.session.scalars(query))
    held = tx.session.scalars(
        select(RoleAssignmentRow).where(RoleAssignmentRow.ended_at.is_(None))
    ).all()
    source_counts = dict(
        tx.session.execute(
            select(DataSourceRow.product_id, func.count()).group_by(DataSourceRow.product_id)
        ).all()
    )
    out = []
    for p in products:
        mine = [a for a in held if a.product_id == p.id]
        owner = next((a for a in mine if a.role == Role.OWNER.value), None)
        person_roles = {a.role for a in mine if a.data_source_id is None}
        stewarded = sum(1 for a in mine if a.data_source_id is not None)
        sources = source_counts.get(p.id, 0)
        unassigned = len(PERSON_ROLES) - len(person_roles) + (max(sources, 1) - stewarded)
        out.append(
            ProductSummary(
                slug=p.slug,
                name=p.name,
                stage=Stage(p.stage),
                owner=owner.person.email if owner else None,
                owner_active=owner.person.active if owner else None,
                orphaned_roles=sum(1 for a in mine if not a.person.active),
                unassigned_roles=unassigned,
            )
        )
    return out


def _require_no_block(tx: Tx, row: ProductRow) -> None:
    active = policies.blocks(tx, row)
    if active:
        why = "; ".join(
            f"rule {b.rule!r}"
            + (f" (incident #{b.incident_id})" if b.incident_id is not None else "")
            + f": {b.reason}"
            for b in active
        )
        raise StageTransitionError(
            f"{row.slug} cannot enter production: promotion is blocked by its policy: {why}",
            field="stage",
            hint="Resolve the incident first: postpilot incident resolve ID",
        )


def _require_owner(tx: Tx, row: ProductRow, target: Stage) -> None:
    owner = tx.session.scalar(
        select(RoleAssignmentRow).where(
            RoleAssignmentRow.product_id == row.id,
            RoleAssignmentRow.slot == Role.OWNER.value,
            RoleAssignmentRow.ended_at.is_(None),
        )
    )
    if owner is None:
        raise MissingOwnerError(
            f"{row.slug} cannot enter {target.value} without a named owner",
            field="owner",
            hint=f"Assign one first: postpilot role assign {row.slug} owner EMAIL",
        )
    if not owner.person.active:
        raise MissingOwnerError(
            f"{row.slug} cannot enter {target.value}: its owner {owner.person.email} is "
            f"inactive (the role is orphaned)",
            field="owner",
            hint=f"Assign an active owner: postpilot role assign {row.slug} owner EMAIL",
        )


def _check_sla(sla: Sla, budget: float | None) -> Sla:
    """Every SLA number finite and in range; the quality SLA whole.

    Fields are named as :class:`ProductSpec` and the CLI's parameters name them
    (``sla_latency_p99_ms`` is ``--sla-latency-ms``), so errors name the option.
    """
    checks: list[tuple[str, str, float | None, Callable[[float], bool], str]] = [
        (
            "sla_latency_p99_ms",
            "the p99 latency SLA",
            sla.latency_p99_ms,
            lambda v: v > 0,
            "a positive number of ms",
        ),
        (
            "sla_availability_pct",
            "the availability SLA",
            sla.availability_pct,
            lambda v: 0 < v <= 100,
            "a percentage in (0, 100]",
        ),
        (
            "sla_quality_threshold",
            "the quality SLA's threshold",
            sla.quality_threshold,
            lambda v: True,
            "a finite number",
        ),
        ("monthly_budget", "the monthly budget", budget, lambda v: v >= 0, "zero or more"),
    ]
    for field, what, value, ok, expected in checks:
        if value is not None and not (math.isfinite(value) and ok(value)):
            raise InputError(f"{what} must be {expected}, got {value:g}", field=field)
    if sla.quality_metric is not None:
        metric = check_name(
            sla.quality_metric,
            field="sla_quality_metric",
            limit=limit_of(ProductRow.sla_quality_metric),
            what="the quality SLA's metric",
        )
        sla = dataclasses.replace(sla, quality_metric=metric)
    if (sla.quality_metric is None) != (sla.quality_threshold is None):
        raise InputError(
            "the quality SLA needs both a metric and a threshold",
            field="sla_quality_metric",
            hint="Pass both --sla-metric NAME and --sla-threshold VALUE",
        )
    return sla
