"""The :class:`Registry`: postpilot's Python API for products, people and roles.

Every method is one transaction: the change and its audit events commit
together, and a method that raises leaves the store as it was.

>>> from postpilot import Registry
>>> reg = Registry("sqlite:///:memory:", actor="docs@example.com")
>>> _ = reg.add_person("maya@example.com", name="Maya Chen")
>>> reg.create_product("churn", stage="pilot", owner="maya@example.com").owner.email
'maya@example.com'
>>> reg.verify_audit().ok
True
"""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from postpilot.card import Card, build_card, pick_version
from postpilot.contracts.model import Contract
from postpilot.errors import ConfigError, NotFoundError
from postpilot.registry import (
    adapters,
    audit,
    consumers,
    contracts,
    incidents,
    labels,
    monitoring,
    notifications,
    people,
    policies,
    predictions,
    products,
    roles,
    routes,
    training,
    versions,
)
from postpilot.registry._text import limit_of
from postpilot.registry._tx import Tx
from postpilot.registry.adapters import StoredAdapter
from postpilot.registry.consumers import DEFAULT_OVERLAP, ApiKey, Consumer, CreatedKey
from postpilot.registry.contracts import StoredContract
from postpilot.registry.entities import (
    Assignment,
    AuditEvent,
    AuditVerification,
    DataSource,
    Deactivation,
    ModelVersion,
    Person,
    Product,
    ProductSummary,
    Sla,
    Team,
    TrainingData,
)
from postpilot.registry.incidents import Incident
from postpilot.registry.labels import LabelIngest
from postpilot.registry.monitoring import MonitoringRun, StoredChunk
from postpilot.registry.notifications import Notification
from postpilot.registry.policies import PromotionBlock, StoredPolicy
from postpilot.registry.predictions import Override, Prediction
from postpilot.registry.products import ProductSpec
from postpilot.registry.routes import Fallback, Route, Target
from postpilot.settings import Settings
from postpilot.store.engine import default_url
from postpilot.store.models import AuditEventRow
from postpilot.store.store import Store

__all__ = ["Registry", "resolve_actor"]

T = TypeVar("T")


def check_actor(actor: str) -> str:
    """The actor recorded with every change: printable, at most 254 characters."""
    limit = limit_of(AuditEventRow.actor)
    if not isinstance(actor, str) or not actor.strip():
        raise ConfigError("no one is named as acting", field="POSTPILOT_USER")
    if len(actor) > limit or any(not c.isprintable() for c in actor):
        raise ConfigError(
            f"the actor {actor[:40]!r}{'...' if len(actor) > 40 else ''} cannot be recorded: "
            f"it must be printable and at most {limit} characters",
            field="POSTPILOT_USER",
            hint="Set POSTPILOT_USER to your email address",
        )
    return actor


def resolve_actor(settings: Settings) -> str:
    """Who is acting: ``POSTPILOT_USER``, else git's ``user.email``, else the OS user."""
    if settings.user:
        return settings.user
    try:
        email = subprocess.run(
            ["git", "config", "user.email"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        email = ""
    if email:
        return email
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        return os.environ.get("USER") or f"uid:{os.getuid()}"


class Registry:
    """The registry of AI products, the people accountable for them, and its audit log.

    ``database_url`` defaults to ``POSTPILOT_DATABASE_URL``, else a SQLite file
    at ``$POSTPILOT_HOME/postpilot.db``; the store is migrated on first use.
    ``actor`` defaults to :func:`resolve_actor`.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        actor: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.store = Store(database_url or default_url(self.settings))
        self._actor = actor

    @property
    def actor(self) -> str:
        if self._actor is None:
            self._actor = resolve_actor(self.settings)
        return self._actor

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------

    def _write(self, op: Callable[[Tx], T]) -> T:
        actor = check_actor(self.actor)
        with self.store.transaction() as session:
            return op(Tx(session=session, actor=actor, now=datetime.now(UTC)))

    def atomic(self, op: Callable[[Tx], T], *, now: datetime | None = None) -> T:
        """Run ``op`` in one write transaction, as the acting person, at ``now``
        (default: the current time). For postpilot's own layers (the policy engine
        stores a batch's results, firings, incidents and notifications together)."""
        actor = check_actor(self.actor)
        with self.store.transaction() as session:
            return op(Tx(session=session, actor=actor, now=now or datetime.now(UTC)))

    def _read(self, op: Callable[[Tx], T]) -> T:
        with self.store.reading() as session:
            return op(Tx(session=session, actor=self._actor or "", now=datetime.now(UTC)))

    # -- people and teams -----------------------------------------------------

    def add_team(self, name: str, *, description: str | None = None) -> Team:
        return self._write(lambda tx: people.add_team(tx, name, description))

    def teams(self) -> list[Team]:
        return self._read(people.list_teams)

    def add_person(self, email: str, *, name: str, team: str | None = None) -> Person:
        return self._write(lambda tx: people.add_person(tx, email, name, team))

    def person(self, email: str) -> Person:
        return self._read(lambda tx: people.person_entity(tx.person(email)))

    def people(self, *, include_inactive: bool = True) -> list[Person]:
        return self._read(lambda tx: people.list_people(tx, include_inactive=include_inactive))

    def deactivate_person(self, email: str, *, reason: str | None = None) -> Deactivation:
        """Deactivate a person; the result lists every role they leave orphaned."""
        return self._write(lambda tx: people.deactivate_person(tx, email, reason))

    def activate_person(self, email: str) -> Person:
        return self._write(lambda tx: people.activate_person(tx, email))

    # -- products -------------------------------------------------------------

    def create_product(
        self,
        slug: str,
        *,
        name: str | None = None,
        stage: str = "proposed",
        owner: str | Sequence[str] | None = None,
        purpose: str | None = None,
        kpi: str | None = None,
        team: str | None = None,
        sla: Sla | None = None,
        monthly_budget: float | None = None,
    ) -> Product:
        """Register a product. Starting in ``pilot`` requires ``owner``."""
        spec = ProductSpec(
            slug=slug,
            name=name,
            stage=stage,
            owner=owner,
            purpose=purpose,
            kpi=kpi,
            team=team,
            sla=sla or Sla(),
            monthly_budget=monthly_budget,
        )
        return self._write(lambda tx: products.create(tx, spec))

    def product(self, slug: str) -> Product:
        return self._read(lambda tx: products.get(tx, slug))

    def products(self, *, stage: str | None = None) -> list[ProductSummary]:
        return self._read(lambda tx: products.summaries(tx, stage))

    def set_stage(self, slug: str, stage: str, *, reason: str | None = None) -> Product:
        """Move a product through its lifecycle; pilot and production need an active owner."""
        return self._write(lambda tx: products.change_stage(tx, slug, stage, reason))

    def add_source(
        self,
        slug: str,
        name: str,
        *,
        description: str | None = None,
        steward: str | None = None,
    ) -> DataSource:
        return self._write(lambda tx: products.add_source(tx, slug, name, description, steward))

    # -- roles ----------------------------------------------------------------

    def assign_role(
        self,
        slug: str,
        role: str,
        person: str | Sequence[str],
        *,
        source: str | None = None,
        reason: str | None = None,
    ) -> Assignment:
        """Give ``role`` to exactly one active person; replaces (and records) any holder."""

        def op(tx: Tx) -> Assignment:
            product = tx.product(slug)
            assignment, _ = roles.assign(
                tx, product, roles.parse_role(role), person, source=source, reason=reason
            )
            return assignment

        return self._write(op)

    # -- models ---------------------------------------------------------------

    def register_model(
        self,
        slug: str,
        *,
        artifact: str,
        flavor: str,
        model: str | None = None,
        training_data: TrainingData | str | None = None,
        metrics: Mapping[str, float] | Iterable[str] | None = None,
        limitations: str | None = None,
        profile_data: bool = True,
    ) -> ModelVersion:
        """Register a new version of a product's model (numbered 1, 2, ...).

        Local training data (CSV or Parquet) is fingerprinted and, unless
        ``profile_data`` is False, profiled: its rows and time range fill in what
        was not given, and a contract inferred from it is stored with the
        reference profile (as ``<slug>-training``, linked to the product's data
        source when it has exactly one) so the model card can document it.
        """
        if isinstance(training_data, str):
            training_data = TrainingData(uri=training_data)
        if training_data is not None:  # before the slow part: fingerprint and profile
            training_data = versions.check_training_data(training_data)
        if metrics is None:
            parsed: Mapping[str, float] = {}
        elif isinstance(metrics, Mapping):
            parsed = versions.parse_metrics(f"{k}={v}" for k, v in metrics.items())
        else:
            parsed = versions.parse_metrics(metrics)
        reference = None
        if training_data is not None and profile_data:
            self.product(slug)  # fail on an unknown product before the slow part
            training_data, reference = training.describe(training_data)

        def op(tx: Tx) -> ModelVersion:
            contract_id = None
            if reference is not None:
                contract_id = training.save_contract(tx, slug, reference)
            return versions.register(
                tx,
                slug,
                artifact=artifact,
                flavor=flavor,
                model=model,
                training_data=training_data,
                metrics=parsed,
                limitations=limitations,
                contract_id=contract_id,
            )

        return self._write(op)

    def card(self, slug: str, *, version: int | None = None, model: str | None = None) -> Card:
        """The model card of a version (the newest unless ``version`` is given)."""
        product = self.product(slug)
        chosen = pick_version(product, version, model)
        stored = profile = None
        if chosen.contract:
            name, _, number = chosen.contract.rpartition("@")
            stored = self.contract(name, int(number))
            if stored.profile is not None:
                from postpilot.profiles import Profile

                profile = Profile.from_bytes(stored.profile)
        return build_card(product, chosen, stored, profile)

    # -- contracts ------------------------------------------------------------

    def save_contract(self, contract: Contract, *, profile: bytes | None = None) -> StoredContract:
        """Store a new version of ``contract`` (with its reference profile's bytes).

        When the contract names a product and source, the version is linked to
        that data source (both must exist). Saving unchanged text adds no version.
        """
        return self._write(lambda tx: contracts.save(tx, contract, profile))

    def contract(self, name: str, version: int | None = None) -> StoredContract:
        """A stored contract: the latest version unless ``version`` is given."""
        return self._read(lambda tx: contracts.get(tx, name, version))

    def contracts(self, name: str | None = None) -> list[StoredContract]:
        return self._read(lambda tx: contracts.versions(tx, name))

    def steward(self, slug: str, source: str) -> Assignment | None:
        """The data steward of a product's data source, if one is assigned."""
        product = self.product(slug)
        for s in product.sources:
            if s.name == source:
                return s.steward
        raise NotFoundError(
            f"product {slug!r} has no data source {source!r}",
            field="source",
            hint=f"Add it first: postpilot source add {slug} {source}",
        )

    # -- monitoring -----------------------------------------------------------

    def record_monitoring(
        self,
        slug: str,
        *,
        kind: str,
        reference: str,
        current: str,
        alert: bool,
        result: dict[str, Any],
        chunks: list[StoredChunk],
    ) -> MonitoringRun:
        """Store a monitoring run's results and chunk profiles under a product."""
        return self._write(
            lambda tx: monitoring.record_run(
                tx,
                slug,
                kind=kind,
                reference=reference,
                current=current,
                alert=alert,
                result=result,
                chunks=chunks,
            )
        )

    def monitoring_runs(self, slug: str, *, kind: str | None = None) -> list[MonitoringRun]:
        return self._read(lambda tx: monitoring.list_runs(tx, slug, kind))

    def monitoring_chunks(self, run_id: int) -> list[StoredChunk]:
        """The stored chunk profiles of one run."""
        return self._read(lambda tx: monitoring.run_chunks(tx, run_id))

    # -- labels ---------------------------------------------------------------

    def ingest_labels(
        self, product: str, ids: Sequence[str], values: Sequence[object]
    ) -> LabelIngest:
        """Store the actual outcomes (labels) of a product's predictions, by prediction id.

        ``values[i]`` is the label of prediction ``ids[i]``: an int, float, str or
        bool (a label not known yet is simply not sent). An id sent before is
        ``unchanged`` when its value is the same and ``updated`` (the new value
        wins) when not, so ingesting in parts stores what ingesting at once does.
        Ids must be unique within one call.

        >>> reg = Registry("sqlite:///:memory:", actor="docs@example.com")
        >>> _ = reg.create_product("churn")
        >>> reg.ingest_labels("churn", ["p1", "p2"], [True, False])
        LabelIngest(product='churn', received=2, new=2, updated=0, unchanged=0)
        >>> reg.ingest_labels("churn", ["p2", "p3"], [True, 0.5])
        LabelIngest(product='churn', received=2, new=1, updated=1, unchanged=0)
        >>> reg.labels("churn")
        {'p1': True, 'p2': True, 'p3': 0.5}
        """
        checked = labels.check(ids, values)  # before the write lock is taken
        return self._write(lambda tx: labels.ingest(tx, product, checked))

    def ingest_label_file(
        self, product: str, path: str | Path, *, id_column: str, label_column: str
    ) -> LabelIngest:
        """Store the labels of a CSV or Parquet file (one row per prediction id), read in
        bounded slices (:func:`~postpilot.registry.label_files.label_batches`) and stored
        in one transaction: any problem in the file (named by its line) leaves nothing
        written. Memory holds one slice and 8 bytes per id, whatever the file's size."""
        from postpilot.registry.label_files import label_batches

        self.product(product)  # an unknown product fails before the file is read
        batches = label_batches(path, id_column=id_column, label_column=label_column)
        checked = (labels.check(b.ids, b.values) for b in batches)
        return self._write(lambda tx: labels.ingest(tx, product, checked))

    def labels(self, product: str, ids: Sequence[str] | None = None) -> dict[str, object]:
        """The labels of those prediction ids (all of the product's when None).

        Ids without a label are left out; the result follows the order of ``ids``
        (of prediction ids when ``ids`` is None).
        """
        return self._read(lambda tx: labels.get(tx, product, ids))

    def label_count(self, product: str) -> int:
        """How many predictions of the product have a label."""
        return self._read(lambda tx: labels.count(tx, product))

    # -- policies and incidents ----------------------------------------------

    def apply_policy(
        self, slug: str, body: str, *, source: str | None = None
    ) -> tuple[StoredPolicy, bool]:
        """Store a product's policy text as its next version (checked by the caller:
        see :func:`postpilot.policies.apply_policy`). Returns the version and whether
        it is new: the same text as the latest version adds none."""
        return self._write(lambda tx: policies.apply(tx, slug, body, source))

    def policy(self, slug: str) -> StoredPolicy | None:
        """The product's latest stored policy version; None if it has none."""
        return self._read(lambda tx: policies.latest(tx, slug))

    def policy_versions(self, slug: str) -> list[StoredPolicy]:
        return self._read(lambda tx: policies.versions(tx, slug))

    def promotion_blocks(self, slug: str) -> list[PromotionBlock]:
        """The product's active promotion blocks (set by ``block_promotion`` actions)."""
        return self._read(lambda tx: policies.blocks(tx, tx.product(slug)))

    def incidents(self, *, product: str | None = None, status: str | None = None) -> list[Incident]:
        return self._read(lambda tx: incidents.list_incidents(tx, product, status))

    def incident(self, incident_id: int) -> Incident:
        return self._read(lambda tx: incidents.get(tx, incident_id))

    def acknowledge_incident(self, incident_id: int, *, note: str | None = None) -> Incident:
        """Acknowledge an open incident: it is no longer escalated."""
        return self._write(lambda tx: incidents.acknowledge(tx, incident_id, note))

    def resolve_incident(self, incident_id: int, *, note: str | None = None) -> Incident:
        """Resolve an incident; promotion blocks it set are lifted."""
        return self._write(lambda tx: incidents.resolve(tx, incident_id, note))

    def notifications(
        self, *, product: str | None = None, status: str | None = None
    ) -> list[Notification]:
        """Stored notifications with every delivery attempt."""
        return self._read(lambda tx: notifications.list_notifications(tx, product, status))

    # -- the gateway: consumers, keys, routes, adapters, feedback ------------

    def add_consumer(
        self, name: str, *, description: str | None = None, contact: str | None = None
    ) -> Consumer:
        """Add an integrating system that will call the gateway with its own keys."""
        return self._write(
            lambda tx: consumers.add_consumer(tx, name, description=description, contact=contact)
        )

    def consumers(self) -> list[Consumer]:
        return self._read(consumers.list_consumers)

    def create_key(
        self,
        consumer: str,
        *,
        products: Sequence[str],
        scopes: Sequence[str],
        rate: float | None = None,
        burst: int | None = None,
    ) -> CreatedKey:
        """A new API key for ``consumer``; its plaintext is returned once and never stored."""
        return self._write(
            lambda tx: consumers.create_key(
                tx, consumer, products=list(products), scopes=list(scopes), rate=rate, burst=burst
            )
        )

    def keys(self, *, consumer: str | None = None) -> list[ApiKey]:
        return self._read(lambda tx: consumers.list_keys(tx, consumer))

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key at once (a running gateway refuses it within seconds)."""
        return self._write(lambda tx: consumers.revoke_key(tx, key_id))

    def rotate_key(self, key_id: str, *, overlap: timedelta = DEFAULT_OVERLAP) -> CreatedKey:
        """A new key like ``key_id``; the old one keeps working for ``overlap``."""
        return self._write(lambda tx: consumers.rotate_key(tx, key_id, overlap=overlap))

    def route(self, slug: str) -> Route | None:
        """The product's gateway route; None when it has none."""
        return self._read(lambda tx: routes.get_route(tx, slug))

    def routes(self) -> list[Route]:
        return self._read(routes.all_routes)

    def set_route(
        self,
        slug: str,
        *,
        model: str | None = None,
        version: int | None = None,
        fallback: Fallback | None = None,
        options: dict[str, Any] | None = None,
    ) -> Route:
        """Point the product's route at a model version (checked by the caller: see
        :func:`postpilot.gateway.service.set_route`, which loads the model first)."""
        return self._write(
            lambda tx: routes.set_route(
                tx, slug, model=model, version=version, fallback=fallback, options=options
            )
        )

    def resolve_route(
        self,
        slug: str,
        *,
        model: str | None = None,
        version: int | None = None,
        fallback: Fallback | None = None,
    ) -> Target:
        """The model versions :meth:`set_route` with these arguments would serve."""
        return self._read(
            lambda tx: routes.resolve(tx, slug, model=model, version=version, fallback=fallback)
        )

    def set_fallback(self, slug: str, active: bool, *, reason: str | None = None) -> Route:
        """Switch the product's requests to its fallback (``active``) or back."""
        return self._write(lambda tx: routes.set_fallback_active(tx, slug, active, reason=reason))

    def save_adapter(
        self, slug: str, body: str, *, consumer: str | None = None
    ) -> tuple[StoredAdapter, bool]:
        """Store an adapter's YAML (checked by the caller: see
        :func:`postpilot.gateway.service.apply_adapter`); False when unchanged."""
        return self._write(lambda tx: adapters.save_adapter(tx, slug, consumer, body))

    def adapters(self, slug: str, *, consumer: str | None = None) -> list[StoredAdapter]:
        return self._read(lambda tx: adapters.adapter_versions(tx, slug, consumer))

    def latest_adapters(self) -> list[StoredAdapter]:
        return self._read(adapters.latest_adapters)

    def prediction(self, prediction_id: str) -> Prediction:
        """A prediction the gateway served, by its id."""
        return self._read(lambda tx: predictions.get_prediction(tx, prediction_id))

    def label_prediction(self, prediction_id: str, value: object) -> LabelIngest:
        return self._write(lambda tx: predictions.label_prediction(tx, prediction_id, value))

    def override_prediction(
        self,
        prediction_id: str,
        *,
        by: str,
        decision: Any,
        reason_code: str,
        note: str | None = None,
        consumer: str = "-",
    ) -> Override:
        """Record that ``by`` took ``decision`` instead of what the prediction suggested."""
        return self._write(
            lambda tx: predictions.record_override(
                tx,
                prediction_id,
                by=by,
                decision=decision,
                reason_code=reason_code,
                note=note,
                consumer=consumer,
            )
        )

    def prediction_count(self, slug: str) -> int:
        return self._read(lambda tx: predictions.prediction_count(tx, slug))

    def quarantine_count(self, slug: str) -> int:
        return self._read(lambda tx: predictions.quarantine_count(tx, slug))

    # -- audit ----------------------------------------------------------------

    def audit_log(self, *, product: str | None = None) -> list[AuditEvent]:
        return self._read(lambda tx: audit.events(tx.session, product=product))

    def verify_audit(self) -> AuditVerification:
        """Recompute the hash chain; ``ok`` is False and names the first bad event if not."""
        return self._read(lambda tx: audit.verify(tx.session))
