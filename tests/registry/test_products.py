from __future__ import annotations

import pytest

from postpilot import (
    ConflictError,
    InactivePersonError,
    InputError,
    MissingOwnerError,
    Registry,
    Sla,
    Stage,
    StageTransitionError,
)


def test_create_with_everything(team_registry: Registry) -> None:
    product = team_registry.create_product(
        "churn",
        name="Churn predictor",
        purpose="Flag accounts likely to churn",
        kpi="net revenue retention",
        team="ml-platform",
        sla=Sla(
            latency_p99_ms=200,
            availability_pct=99.9,
            quality_metric="roc_auc",
            quality_threshold=0.8,
        ),
        monthly_budget=1500,
    )
    again = team_registry.product("churn")
    assert again == product
    assert (again.stage, again.team, again.sla.quality_metric) == (
        Stage.PROPOSED,
        "ml-platform",
        "roc_auc",
    )
    assert again.created_by == "tester@example.com"
    assert again.created_at.tzinfo is not None
    assert [(t.from_stage, t.to_stage) for t in again.transitions] == [(None, Stage.PROPOSED)]


def test_pilot_needs_an_owner_before_it_starts(team_registry: Registry) -> None:
    events = len(team_registry.audit_log())
    with pytest.raises(MissingOwnerError) as info:
        team_registry.create_product("churn", stage="pilot")
    assert info.value.field == "owner"
    assert team_registry.products() == []
    assert len(team_registry.audit_log()) == events

    product = team_registry.create_product("churn", stage="pilot", owner="maya@example.com")
    assert product.stage is Stage.PILOT
    assert product.owner.email == "maya@example.com"


def test_failed_create_leaves_nothing(team_registry: Registry) -> None:
    team_registry.deactivate_person("maya@example.com")
    events = len(team_registry.audit_log())
    with pytest.raises(InactivePersonError, match="inactive"):
        team_registry.create_product("churn", stage="pilot", owner="maya@example.com")
    assert team_registry.products() == []
    assert len(team_registry.audit_log()) == events


def test_stage_lifecycle(team_registry: Registry) -> None:
    reg = team_registry
    reg.create_product("churn")
    with pytest.raises(MissingOwnerError, match="without a named owner"):
        reg.set_stage("churn", "pilot")
    reg.assign_role("churn", "owner", "maya@example.com")
    reg.set_stage("churn", "pilot", reason="kick-off")
    with pytest.raises(StageTransitionError, match="already in pilot"):
        reg.set_stage("churn", "pilot")
    reg.set_stage("churn", "production")
    product = reg.set_stage("churn", "retired", reason="replaced by v2 product")
    assert [t.to_stage.value for t in product.transitions] == [
        "proposed",
        "pilot",
        "production",
        "retired",
    ]
    assert product.transitions[1].reason == "kick-off"
    with pytest.raises(StageTransitionError, match="final stage"):
        reg.set_stage("churn", "pilot")


def test_proposed_cannot_jump_to_production(team_registry: Registry) -> None:
    team_registry.create_product("churn", owner="maya@example.com")
    with pytest.raises(StageTransitionError) as info:
        team_registry.set_stage("churn", "production")
    assert "pilot, retired" in (info.value.hint or "")


def test_orphaned_owner_blocks_promotion(team_registry: Registry) -> None:
    team_registry.create_product("churn", stage="pilot", owner="maya@example.com")
    team_registry.deactivate_person("maya@example.com")
    with pytest.raises(MissingOwnerError, match="orphaned"):
        team_registry.set_stage("churn", "production")
    assert team_registry.product("churn").stage is Stage.PILOT


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"slug": "Churn"}, "slug"),
        ({"slug": "c"}, "slug"),
        ({"slug": "churn", "stage": "production"}, "stage"),
        ({"slug": "churn", "stage": "beta"}, "stage"),
        ({"slug": "churn", "sla": Sla(availability_pct=120)}, "sla_availability_pct"),
        ({"slug": "churn", "sla": Sla(quality_metric="auc")}, "sla_quality_metric"),
        ({"slug": "churn", "monthly_budget": -1}, "monthly_budget"),
    ],
)
def test_bad_input_names_the_field(registry: Registry, kwargs: dict, field: str) -> None:
    options = dict(kwargs)
    slug = options.pop("slug")
    with pytest.raises(InputError) as info:
        registry.create_product(slug, **options)
    assert info.value.field == field
    assert registry.products() == []


def test_slug_is_unique(registry: Registry) -> None:
    registry.create_product("churn")
    with pytest.raises(ConflictError):
        registry.create_product("churn")


def test_list_products(team_registry: Registry) -> None:
    reg = team_registry
    reg.create_product("churn", stage="pilot", owner="maya@example.com")
    reg.create_product("fraud")
    reg.add_source("churn", "crm", steward="ines@example.com")
    reg.add_source("churn", "billing")
    listed = {p.slug: p for p in reg.products()}
    assert listed["churn"].owner == "maya@example.com"
    assert listed["churn"].unassigned_roles == 4  # three leads + billing's steward
    assert listed["fraud"].owner is None
    assert listed["fraud"].unassigned_roles == 5
    assert [p.slug for p in reg.products(stage="pilot")] == ["churn"]


def test_source_names_are_unique_per_product(team_registry: Registry) -> None:
    team_registry.create_product("churn")
    team_registry.create_product("fraud")
    team_registry.add_source("churn", "crm")
    team_registry.add_source("fraud", "crm")
    with pytest.raises(ConflictError):
        team_registry.add_source("churn", "crm")
