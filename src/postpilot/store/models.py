"""The metadata store's tables, as SQLAlchemy 2 declarative models.

Rows are an implementation detail: the registry returns the frozen dataclasses
of :mod:`postpilot.registry.entities`, never these objects. Migrations under
``store/migrations`` create exactly this schema (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("postpilot stores only timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


class TeamRow(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonRow(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    team: Mapped[TeamRow | None] = relationship()


class ProductRow(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(Text)
    kpi: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    sla_latency_p99_ms: Mapped[float | None] = mapped_column(Float)
    sla_availability_pct: Mapped[float | None] = mapped_column(Float)
    sla_quality_metric: Mapped[str | None] = mapped_column(String(64))
    sla_quality_threshold: Mapped[float | None] = mapped_column(Float)
    monthly_budget: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))

    team: Mapped[TeamRow | None] = relationship()


class DataSourceRow(Base):
    __tablename__ = "data_sources"
    __table_args__ = (UniqueConstraint("product_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoleAssignmentRow(Base):
    """Who answers one of the five questions for a product, from when to when.

    ``slot`` is the role, or ``data_steward:<source id>`` for stewards, so that a
    partial unique index allows exactly one open assignment per slot.
    """

    __tablename__ = "role_assignments"
    __table_args__ = (
        Index(
            "uq_role_assignments_open_slot",
            "product_id",
            "slot",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    data_source_id: Mapped[int | None] = mapped_column(ForeignKey("data_sources.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_by: Mapped[str] = mapped_column(String(254))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(254))
    end_reason: Mapped[str | None] = mapped_column(String(200))

    person: Mapped[PersonRow] = relationship()
    data_source: Mapped[DataSourceRow | None] = relationship()


class ModelRow(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("product_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    artifact_uri: Mapped[str] = mapped_column(Text)
    flavor: Mapped[str] = mapped_column(String(32))
    training_data_uri: Mapped[str | None] = mapped_column(Text)
    training_rows: Mapped[int | None] = mapped_column(BigInteger)
    training_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    training_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    training_fingerprint: Mapped[str | None] = mapped_column(String(80))
    metrics: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    limitations: Mapped[str | None] = mapped_column(Text)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    contract: Mapped[ContractRow | None] = relationship()


class StageTransitionRow(Base):
    __tablename__ = "stage_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContractRow(Base):
    """One version of a data contract: its YAML and the reference profile it came from."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    data_source_id: Mapped[int | None] = mapped_column(ForeignKey("data_sources.id"))
    body: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(80))
    profile: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MonitoringRunRow(Base):
    """One monitoring run for a product (drift, later performance): settings and results."""

    __tablename__ = "monitoring_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(Text)
    current: Mapped[str] = mapped_column(Text)
    alert: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChunkProfileRow(Base):
    """The profile of one chunk of a monitoring run, so history never re-reads raw data."""

    __tablename__ = "chunk_profiles"
    __table_args__ = (UniqueConstraint("run_id", "period", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("monitoring_runs.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    start: Mapped[str | None] = mapped_column(String(40))
    end: Mapped[str | None] = mapped_column(String(40))
    rows: Mapped[int] = mapped_column(BigInteger)
    profile: Mapped[bytes] = mapped_column(LargeBinary)


class LabelRow(Base):
    """The actual outcome for one prediction of a product, joined to it by prediction id.

    ``value`` is the label as JSON text, so ints, floats, strings and booleans
    come back exactly as they were sent. The unique index on (product_id,
    prediction_id) also serves lookups by product alone: a separate index on
    product_id would only slow bulk ingests.
    """

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("product_id", "prediction_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    prediction_id: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(Text)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ingested_by: Mapped[str] = mapped_column(String(254))


class AuditEventRow(Base):
    """One append-only, hash-chained audit event.

    ``before``/``after`` hold canonical JSON text and ``at`` an ISO-8601 string,
    so the bytes that were hashed are exactly the bytes stored, on every backend.
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300))
    product: Mapped[str | None] = mapped_column(String(64), index=True)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The chain head: the last event's number and hash, kept apart from the events.

    Written in the same transaction as every event; it lets ``audit verify``
    notice events deleted from the end of the chain.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class PolicyRow(Base):
    """One version of a product's policy: the YAML as applied, and its fingerprint."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    after_run: Mapped[int | None] = mapped_column(Integer)
    """The product's newest monitoring run when this version was applied: the version
    acts on later runs only (``policy test`` replays the earlier ones)."""
    fingerprint: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncidentRow(Base):
    """An incident a rule opened: open, then acknowledged, then resolved.

    The partial unique index allows one unresolved incident per rule and product:
    new evidence is appended to it (``incident_events``), never a duplicate.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        Index(
            "uq_incidents_open_rule",
            "product_id",
            "rule",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(254))
    assignee_role: Mapped[str | None] = mapped_column(String(32))
    first_bad_chunk: Mapped[str] = mapped_column(String(200))
    first_bad_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_chunk: Mapped[str] = mapped_column(String(200))
    chunks_to_detect: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[str] = mapped_column(String(254))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(254))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_to: Mapped[str | None] = mapped_column(String(254))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(254))
    resolution: Mapped[str | None] = mapped_column(Text)


class IncidentEventRow(Base):
    """One step in an incident's life: opened, evidence, notified, escalated, ack, resolved."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(254))
    detail: Mapped[str] = mapped_column(Text)


class PolicyFiringRow(Base):
    """A rule that held at one chunk for one subject: recorded once, so a second pass
    over the same data fires nothing again."""

    __tablename__ = "policy_firings"
    __table_args__ = (UniqueConstraint("product_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    key: Mapped[str] = mapped_column(String(300))
    rule: Mapped[str] = mapped_column(String(64))
    chunk: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationRow(Base):
    """A notification to deliver (the outbox): written with what caused it, delivered
    after the commit, retried until it is delivered or gives up; never lost."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    channel: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str | None] = mapped_column(String(254))
    recipient_role: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class NotificationAttemptRow(Base):
    """One attempt to deliver a notification, failed or not."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)


class MonitorBatchRow(Base):
    """A batch of a product's source that a monitor pass processed (files by path, size
    and mtime; SQL by watermark range), stored with its results so a pass resumes."""

    __tablename__ = "monitor_batches"
    __table_args__ = (UniqueConstraint("product_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    key: Mapped[str] = mapped_column(String(300))
    label: Mapped[str] = mapped_column(Text)
    watermark: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    runs: Mapped[str] = mapped_column(Text)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_by: Mapped[str] = mapped_column(String(254))


class PromotionBlockRow(Base):
    """A policy's block on promoting a product, lifted when its incident is resolved."""

    __tablename__ = "promotion_blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    rule: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(254))


# -- the integration gateway -------------------------------------------------------------


class ConsumerRow(Base):
    """An integrating system (a CRM, a billing job) that calls the gateway with its keys."""

    __tablename__ = "consumers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))


class ApiKeyRow(Base):
    """One API key of a consumer: only the SHA-256 of its secret is stored.

    ``key_id`` is the public part of the key (it appears in the key itself, in
    logs and in ``key list``); ``products`` and ``scopes`` are JSON lists.
    ``expires_at`` is set when the key is rotated (the overlap window) and
    ``revoked_at`` when it is revoked.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    products: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    rate: Mapped[float | None] = mapped_column(Float)
    burst: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(254))
    rotated_from: Mapped[str | None] = mapped_column(String(32))


class RouteRow(Base):
    """How the gateway serves a product: its primary model version and its fallback.

    ``fallback_kind`` is ``none``, ``version`` (``fallback_version_id``),
    ``constant`` (``fallback_value`` is the JSON answer), ``rule``
    (``fallback_value`` is ``module:function``) or ``unavailable`` (503 with
    Retry-After). ``fallback_active`` switches every request to the fallback;
    ``options`` holds backend options (a remote model's request mapping, timeouts).
    """

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), unique=True)
    primary_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    fallback_kind: Mapped[str] = mapped_column(String(16))
    fallback_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    fallback_value: Mapped[str | None] = mapped_column(Text)
    fallback_active: Mapped[bool] = mapped_column(Boolean, default=False)
    fallback_reason: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(254))


class AdapterRow(Base):
    """One version of an input adapter (YAML) for a product, or for one consumer of it."""

    __tablename__ = "adapters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    consumer_id: Mapped[int | None] = mapped_column(ForeignKey("consumers.id"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))


class PredictionRow(Base):
    """One prediction the gateway served: what came in (after the adapter), what went out,
    which model answered and for whom. ``id`` is the prediction id labels join on."""

    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_product_id_created_at", "product_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    model: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int | None] = mapped_column(Integer)
    consumer: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    inputs: Mapped[str] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text)
    served_by: Mapped[str] = mapped_column(String(32))
    fallback_reason: Mapped[str | None] = mapped_column(String(32))
    """Why the fallback answered (``circuit_open``, ``switched``, ``primary_error``);
    None when the primary did."""
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuarantineRow(Base):
    """A record the gateway refused (it broke the product's contract), kept with why.
    ``id`` sorts by time like a prediction id (``qr_`` + clock + random), so a record
    replayed from the spool is stored once."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_product_id_created_at", "product_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    consumer: Mapped[str] = mapped_column(String(64))
    record: Mapped[str] = mapped_column(Text)
    errors: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OverrideRow(Base):
    """A person who took a different decision than a prediction suggested, and why."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[str] = mapped_column(String(40), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    by: Mapped[str] = mapped_column(String(254))
    decision: Mapped[str] = mapped_column(Text)
    reason_code: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    consumer: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RateLimitRow(Base):
    """GCRA state of one rate-limited key when the limit is shared through the store:
    ``tat`` is the theoretical arrival time, in seconds since the epoch."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)
