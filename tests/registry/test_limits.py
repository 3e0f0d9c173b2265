"""Names valid for what they name: the same limits on SQLite and PostgreSQL, checked first.

Every ``String(n)`` column that holds user input is checked by the registry before
the store sees the value, so SQLite (which would accept it) and PostgreSQL (which
would fail with ``DataError``) answer the same InputError, naming the field and the
limit, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import String

from postpilot import Registry
from postpilot.contracts.model import ColumnSpec, Contract
from postpilot.errors import ConfigError, InputError, NotFoundError
from postpilot.registry import Sla, TrainingData
from postpilot.store.models import Base
from tests.conftest import ACTOR

USER_INPUT = {
    "teams.name": "add_team(name)",
    "people.email": "add_person(email)",
    "people.name": "add_person(name=)",
    "products.slug": "create_product(slug): the slug pattern, 2-64 characters",
    "products.name": "create_product(name=)",
    "products.sla_quality_metric": "create_product(sla=Sla(quality_metric=))",
    "products.created_by": "the actor",
    "data_sources.name": "add_source(name)",
    "role_assignments.assigned_by": "the actor",
    "role_assignments.ended_by": "the actor",
    "role_assignments.end_reason": "assign_role(reason=), or 'replaced by EMAIL' cut to fit",
    "models.name": "register_model(model=)",
    "model_versions.created_by": "the actor",
    "stage_transitions.actor": "the actor",
    "contracts.name": "save_contract(contract.name)",
    "contracts.created_by": "the actor",
    "monitoring_runs.created_by": "the actor",
    "labels.prediction_id": "ingest_labels(ids): labels.MAX_ID_LENGTH",
    "labels.ingested_by": "the actor",
    "audit_events.actor": "the actor",
    "policies.created_by": "the actor",
    "incidents.opened_by": "the actor",
    "incidents.acknowledged_by": "the actor",
    "incidents.resolved_by": "the actor",
    "incident_events.actor": "the actor",
    "monitor_batches.processed_by": "the actor",
    "promotion_blocks.created_by": "the actor",
    "promotion_blocks.lifted_by": "the actor",
    "incidents.rule": "a policy rule's name: the policy model allows 1-64 characters",
    "policy_firings.rule": "a policy rule's name: the policy model allows 1-64 characters",
    "promotion_blocks.rule": "a policy rule's name: the policy model allows 1-64 characters",
    "notifications.channel": "a channel's name: the policy model allows 1-64 characters",
    "consumers.name": "add_consumer(name): the consumer name pattern, 2-64 characters",
    "consumers.contact": "add_consumer(contact=): an email address",
    "consumers.created_by": "the actor",
    "api_keys.created_by": "the actor",
    "api_keys.revoked_by": "the actor",
    "routes.updated_by": "the actor",
    "adapters.created_by": "the actor",
    "predictions.request_id": "the X-Request-ID header, checked by the gateway (1-64 characters)",
    "quarantine.request_id": "the X-Request-ID header, checked by the gateway (1-64 characters)",
    "overrides.by": "the override's 'by': an email address",
    "overrides.reason_code": "the override's reason code: 1-64 characters, checked by the gateway",
}
INTERNAL = {
    "products.stage": "a Stage value",
    "role_assignments.role": "a Role value",
    "role_assignments.slot": "role or data_steward:<id>",
    "model_versions.flavor": "checked by a pattern of at most 32 characters",
    "model_versions.training_fingerprint": "sha256:<64 hex>",
    "stage_transitions.from_stage": "a Stage value",
    "stage_transitions.to_stage": "a Stage value",
    "contracts.fingerprint": "sha256:<64 hex>",
    "monitoring_runs.kind": "set by the monitoring code",
    "chunk_profiles.period": "set by the monitoring code",
    "chunk_profiles.key": "set by the monitoring code",
    "chunk_profiles.start": "an ISO timestamp",
    "chunk_profiles.end": "an ISO timestamp",
    "audit_events.at": "an ISO timestamp",
    "audit_events.action": "set by the registry",
    "audit_events.subject_type": "set by the registry",
    "audit_events.subject": "built from checked names; at most 64 + 1 + 100 + ...",
    "audit_events.product": "a product slug",
    "audit_events.prev_hash": "a sha256 hex digest",
    "audit_events.hash": "a sha256 hex digest",
    "audit_head.hash": "a sha256 hex digest",
    "policies.fingerprint": "sha256:<64 hex>",
    "incidents.status": "one of incidents.STATUSES",
    "incidents.severity": "one of incidents.SEVERITIES",
    "incidents.assignee": "an email from the people table",
    "incidents.assignee_role": "a Role value",
    "incidents.escalated_to": "an email from the people table",
    "incidents.first_bad_chunk": "a chunk id, cut to fit by the policy engine",
    "incidents.detected_chunk": "a chunk id, cut to fit by the policy engine",
    "incident_events.kind": "set by the policy engine",
    "policy_firings.key": "built by the policy engine, hashed when longer than fits",
    "policy_firings.chunk": "a chunk id, cut to fit by the policy engine",
    "notifications.key": "built by the policy engine, hashed when longer than fits",
    "notifications.recipient": "an email from the people table",
    "notifications.recipient_role": "a Role value",
    "notifications.status": "one of notifications.STATUSES",
    "monitor_batches.key": "built by monitoring.sources, at most 300 characters",
    "api_keys.key_id": "generated by gateway.keys",
    "api_keys.secret_hash": "a sha256 hex digest",
    "api_keys.rotated_from": "a key_id",
    "routes.fallback_kind": "one of the route's fallback kinds",
    "predictions.id": "generated by the gateway",
    "quarantine.id": "generated by the gateway",
    "predictions.model": "a models.name",
    "predictions.consumer": "a consumers.name",
    "predictions.key_id": "a key_id",
    "predictions.served_by": "set by the gateway",
    "predictions.fallback_reason": "set by the gateway (circuit_open, switched, primary_error)",
    "quarantine.consumer": "a consumers.name",
    "overrides.prediction_id": "a predictions.id, looked up first",
    "overrides.consumer": "a consumers.name",
    "rate_limits.key": "built by the gateway from a key_id",
}


def test_every_limited_column_is_either_checked_user_input_or_internal() -> None:
    limited = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, String) and column.type.length is not None
    }
    assert limited == set(USER_INPUT) | set(INTERNAL)


def _audit_events(reg: Registry) -> int:
    return reg.verify_audit().events


Make = Callable[[Registry, str], Any]

CASES: list[tuple[str, Make, int, str]] = [
    ("team", lambda r, v: r.add_team(v), 100, "name"),
    ("email", lambda r, v: r.add_person(v[:-12] + "@example.com", name="A"), 254, "email"),
    ("person name", lambda r, v: r.add_person("new@example.com", name=v), 200, "name"),
    ("product name", lambda r, v: r.create_product("fresh", name=v), 200, "name"),
    (
        "sla metric",
        lambda r, v: r.create_product("fresh", sla=Sla(quality_metric=v, quality_threshold=0.5)),
        64,
        "sla_quality_metric",
    ),
    ("source", lambda r, v: r.add_source("base", v), 100, "name"),
    (
        "model",
        lambda r, v: r.register_model("base", artifact="a", flavor="f", model=v),
        100,
        "model",
    ),
    (
        "reason",
        lambda r, v: r.assign_role("base", "owner", "a@example.com", reason=v),
        200,
        "reason",
    ),
    (
        "contract",
        lambda r, v: r.save_contract(
            Contract.model_construct(name=v, columns={"x": ColumnSpec(type="int")})
        ),
        100,
        "name",
    ),
]


@pytest.fixture
def base(registry: Registry) -> Registry:
    registry.add_person("a@example.com", name="A")
    registry.create_product("base")
    return registry


@pytest.mark.parametrize(("what", "make", "limit", "field"), CASES, ids=[c[0] for c in CASES])
def test_one_over_the_limit_is_refused_on_both_stores(
    base: Registry, what: str, make: Make, limit: int, field: str
) -> None:
    before = _audit_events(base)
    with pytest.raises(InputError, match=f"{limit + 1:,} characters; at most {limit} fit") as err:
        make(base, "x" * (limit + 1))
    assert err.value.field == field
    assert _audit_events(base) == before
    make(base, "y" * limit)  # the limit itself fits, on both stores
    assert _audit_events(base) > before


@pytest.mark.parametrize(("what", "make", "limit", "field"), CASES[:1] + CASES[2:7] + CASES[8:])
def test_control_characters_in_names_are_refused(
    base: Registry, what: str, make: Make, limit: int, field: str
) -> None:
    before = _audit_events(base)
    for bad in ["a\x00b", "a\nb", "a\tb", "a\x1b[31mb", "a\x7fb", "a\x85b"]:
        with pytest.raises(InputError, match="cannot contain control characters") as err:
            make(base, bad)
        assert err.value.field == field
    assert _audit_events(base) == before


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda r: r.add_team("t", description="a\x00b"), "description"),
        (lambda r: r.create_product("fresh", purpose="a\x00b"), "purpose"),
        (lambda r: r.create_product("fresh", kpi="a\x00b"), "kpi"),
        (lambda r: r.set_stage("base", "retired", reason="a\x00b"), "reason"),
        (lambda r: r.deactivate_person("a@example.com", reason="a\x00b"), "reason"),
        (lambda r: r.add_source("base", "crm", description="a\x00b"), "description"),
        (lambda r: r.register_model("base", artifact="s3://a\x00", flavor="f"), "artifact"),
        (
            lambda r: r.register_model("base", artifact="a", flavor="f", limitations="\x00"),
            "limitations",
        ),
        (
            lambda r: r.register_model("base", artifact="a", flavor="f", training_data="s3://\x00"),
            "training_data",
        ),
        (lambda r: r.add_person("a\x00b@example.com", name="A"), "email"),
        (lambda r: r.ingest_labels("base", ["p\x00"], [1]), "ids"),
    ],
)
def test_nul_bytes_are_refused_before_the_store_sees_them(
    base: Registry, call: Callable[[Registry], Any], field: str
) -> None:
    before = _audit_events(base)
    with pytest.raises(InputError) as err:
        call(base)
    assert err.value.field == field
    assert _audit_events(base) == before


def test_free_text_keeps_newlines(base: Registry) -> None:
    product = base.create_product("fresh", purpose="line one\nline two\ttabbed")
    assert base.product(product.slug).purpose == "line one\nline two\ttabbed"


@pytest.mark.parametrize(
    "lookup",
    [
        lambda r: r.product("ba\x00se"),
        lambda r: r.person("a\x00@example.com"),
        lambda r: r.contract("c\x00"),
        lambda r: r.create_product("fresh", team="t\x00"),
        lambda r: r.add_source("base", "crm", steward="x\x00@example.com"),
        lambda r: r.assign_role("base", "owner", "t\x00"),
    ],
)
def test_lookups_of_unstorable_values_find_nothing(
    base: Registry, lookup: Callable[[Registry], Any]
) -> None:
    with pytest.raises((NotFoundError, InputError)):
        lookup(base)


def test_labels_of_unstorable_ids_are_simply_absent(base: Registry) -> None:
    base.ingest_labels("base", ["p1"], [1])
    assert base.labels("base", ["p\x00", "p1"]) == {"p1": 1}
    assert base.contracts("c\x00") == []


@pytest.mark.parametrize("name", ["foo@2", "@", "a@b@c"])
def test_contract_names_with_at_are_refused(base: Registry, name: str) -> None:
    contract = Contract(name=name, columns={"x": ColumnSpec(type="int")})
    with pytest.raises(InputError, match="'@' separates a name from its version") as err:
        base.save_contract(contract)
    assert err.value.field == "name"
    assert base.contracts() == []


def test_a_contract_name_round_trips(base: Registry) -> None:
    base.save_contract(Contract(name="churn.v2-x_y", columns={"x": ColumnSpec(type="int")}))
    assert base.contract("churn.v2-x_y", 1).name == "churn.v2-x_y"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (TrainingData("s3://b/k", rows=-5), "training_rows", "positive whole number, got -5"),
        (TrainingData("s3://b/k", rows=0), "training_rows", "positive whole number, got 0"),
        (
            TrainingData("s3://b/k", start=datetime(2026, 1, 1)),
            "training_start",
            "has no time zone",
        ),
        (
            TrainingData(
                "s3://b/k",
                start=datetime(2026, 2, 1, tzinfo=UTC),
                end=datetime(2026, 1, 1, tzinfo=UTC),
            ),
            "training_start",
            "is after its end",
        ),
        (TrainingData("  "), "training_data", "cannot be empty"),
    ],
)
def test_training_data_that_cannot_be_right_is_refused(
    base: Registry, data: TrainingData, field: str, message: str
) -> None:
    with pytest.raises(InputError, match=message) as err:
        base.register_model("base", artifact="a", flavor="f", training_data=data)
    assert err.value.field == field
    assert base.product("base").versions == []


@pytest.mark.parametrize("flavor", ["sklearn\n", "Sklearn", "x" * 33])
def test_flavors_must_match_the_whole_pattern(base: Registry, flavor: str) -> None:
    with pytest.raises(InputError, match="is not a valid flavor"):
        base.register_model("base", artifact="a", flavor=flavor)


def test_slugs_must_match_the_whole_pattern(registry: Registry) -> None:
    with pytest.raises(InputError, match="not a valid product slug"):
        registry.create_product("churn\n")


@pytest.mark.parametrize("actor", ["x" * 255, "me\x00", "me\nyou", " "])
def test_an_actor_that_cannot_be_recorded_is_a_config_error(database_url: str, actor: str) -> None:
    with Registry(database_url, actor=actor) as reg:
        with pytest.raises(ConfigError) as err:
            reg.add_team("t")
        assert err.value.field == "POSTPILOT_USER"
    with Registry(database_url, actor=ACTOR) as reg:
        assert reg.teams() == []
