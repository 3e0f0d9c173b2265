"""What the registry returns: frozen snapshots, detached from the database.

Every entity converts to plain JSON-ready data with :func:`to_data`, which is
what ``--format json`` prints.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "PERSON_ROLES",
    "Assignment",
    "AuditEvent",
    "AuditVerification",
    "DataSource",
    "Deactivation",
    "ModelVersion",
    "OrphanedRole",
    "Person",
    "Product",
    "ProductSummary",
    "Role",
    "Sla",
    "Stage",
    "StageTransition",
    "Team",
    "TrainingData",
    "to_data",
]


class Stage(StrEnum):
    """Where a product is in its life."""

    PROPOSED = "proposed"
    PILOT = "pilot"
    PRODUCTION = "production"
    RETIRED = "retired"


class Role(StrEnum):
    """The five questions, each answered by exactly one named person."""

    OWNER = "owner"
    DATA_STEWARD = "data_steward"
    INTEGRATION_LEAD = "integration_lead"
    TRAINING_LEAD = "training_lead"
    MONITORING_LEAD = "monitoring_lead"

    @property
    def question(self) -> str:
        return _QUESTIONS[self]


_QUESTIONS = {
    Role.OWNER: "Who will own this model six months after launch?",
    Role.DATA_STEWARD: "Who keeps the input data clean and consistent?",
    Role.INTEGRATION_LEAD: "Who integrates the model into existing systems?",
    Role.TRAINING_LEAD: "Who trains the users?",
    Role.MONITORING_LEAD: "Who monitors the model for degradation?",
}

PERSON_ROLES: tuple[Role, ...] = (
    Role.OWNER,
    Role.INTEGRATION_LEAD,
    Role.TRAINING_LEAD,
    Role.MONITORING_LEAD,
)
"""The roles held once per product (``data_steward`` is held once per data source)."""


@dataclasses.dataclass(frozen=True)
class Team:
    name: str
    description: str | None
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class Person:
    email: str
    name: str
    active: bool
    team: str | None
    created_at: datetime
    deactivated_at: datetime | None


@dataclasses.dataclass(frozen=True)
class Assignment:
    """One open role assignment. ``orphaned`` when its person has been deactivated."""

    role: Role
    email: str
    name: str
    active: bool
    source: str | None
    assigned_at: datetime
    assigned_by: str

    @property
    def orphaned(self) -> bool:
        return not self.active


@dataclasses.dataclass(frozen=True)
class DataSource:
    name: str
    description: str | None
    steward: Assignment | None


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """Where a model version's training data came from, and what it was."""

    uri: str
    rows: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    fingerprint: str | None = None


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    product: str
    model: str
    version: int
    artifact_uri: str
    flavor: str
    training_data: TrainingData | None
    metrics: dict[str, float]
    created_by: str
    created_at: datetime
    limitations: str | None = None
    contract: str | None = None
    """The training data's contract, as ``name@version``, when it was profiled."""


@dataclasses.dataclass(frozen=True)
class StageTransition:
    from_stage: Stage | None
    to_stage: Stage
    actor: str
    reason: str | None
    at: datetime


@dataclasses.dataclass(frozen=True)
class Sla:
    latency_p99_ms: float | None = None
    availability_pct: float | None = None
    quality_metric: str | None = None
    quality_threshold: float | None = None


@dataclasses.dataclass(frozen=True)
class ProductSummary:
    """One line of ``product list``."""

    slug: str
    name: str
    stage: Stage
    owner: str | None
    owner_active: bool | None
    orphaned_roles: int
    unassigned_roles: int


@dataclasses.dataclass(frozen=True)
class Product:
    """Everything the registry knows about one AI product."""

    slug: str
    name: str
    purpose: str | None
    kpi: str | None
    stage: Stage
    team: str | None
    sla: Sla
    monthly_budget: float | None
    created_at: datetime
    created_by: str
    roles: dict[Role, Assignment]
    sources: list[DataSource]
    versions: list[ModelVersion]
    transitions: list[StageTransition]

    @property
    def owner(self) -> Assignment | None:
        return self.roles.get(Role.OWNER)

    @property
    def orphaned(self) -> list[Assignment]:
        """Role assignments whose person has been deactivated."""
        held = list(self.roles.values()) + [s.steward for s in self.sources if s.steward]
        return [a for a in held if a.orphaned]

    @property
    def unassigned(self) -> list[str]:
        """Roles nobody holds: a role name, or ``data_steward:<source>``."""
        missing = [role.value for role in PERSON_ROLES if role not in self.roles]
        if not self.sources:
            missing.append(Role.DATA_STEWARD.value)
        missing += [f"data_steward:{s.name}" for s in self.sources if s.steward is None]
        return missing


@dataclasses.dataclass(frozen=True)
class OrphanedRole:
    product: str
    role: Role
    source: str | None


@dataclasses.dataclass(frozen=True)
class Deactivation:
    """The result of deactivating a person: the roles that person leaves orphaned."""

    person: Person
    orphaned: list[OrphanedRole]
    changed: bool


@dataclasses.dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: str
    actor: str
    action: str
    subject_type: str
    subject: str
    product: str | None
    before: Any
    after: Any
    prev_hash: str
    hash: str


@dataclasses.dataclass(frozen=True)
class AuditVerification:
    """The outcome of recomputing the audit chain.

    ``first_bad_seq`` names the first event that does not match (or, for events
    deleted from the end, the first missing one); ``problem`` says what is wrong.
    """

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


def to_data(value: Any) -> Any:
    """Convert an entity (or a list or dict of them) to JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Assignment):
            data["orphaned"] = value.orphaned
        if isinstance(value, Product):
            data["orphaned"] = [to_data(a) for a in value.orphaned]
            data["unassigned"] = value.unassigned
        return data
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(to_data(k)): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_data(v) for v in value]
    return value
