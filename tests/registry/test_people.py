from __future__ import annotations

import pytest

from postpilot import ConflictError, InputError, NotFoundError, Registry, Role


def test_add_and_list_people(registry: Registry) -> None:
    registry.add_team("risk")
    person = registry.add_person("Maya@Example.com", name=" Maya Chen ", team="risk")
    assert (person.email, person.name, person.active, person.team) == (
        "maya@example.com",
        "Maya Chen",
        True,
        "risk",
    )
    assert [p.email for p in registry.people()] == ["maya@example.com"]
    assert registry.person("MAYA@example.com").name == "Maya Chen"


def test_email_is_unique(registry: Registry) -> None:
    registry.add_person("maya@example.com", name="Maya")
    with pytest.raises(ConflictError) as info:
        registry.add_person("MAYA@example.com", name="Maya again")
    assert info.value.field == "email"


@pytest.mark.parametrize("email", ["maya", "a@b@c", "maya@example.com, dev@example.com", ""])
def test_bad_email_is_refused(registry: Registry, email: str) -> None:
    with pytest.raises(InputError) as info:
        registry.add_person(email, name="X")
    assert info.value.field == "email"
    assert registry.people() == []


def test_unknown_team_leaves_nothing(registry: Registry) -> None:
    with pytest.raises(NotFoundError):
        registry.add_person("maya@example.com", name="Maya", team="nope")
    assert registry.people() == []
    assert registry.audit_log() == []


def test_deactivation_lists_and_records_orphaned_roles(team_registry: Registry) -> None:
    reg = team_registry
    reg.create_product("churn", stage="pilot", owner="maya@example.com")
    reg.create_product("fraud", owner="dev@example.com")
    reg.add_source("churn", "crm", steward="maya@example.com")
    reg.assign_role("fraud", "monitoring_lead", "maya@example.com")

    result = reg.deactivate_person("maya@example.com", reason="left the company")

    assert result.changed
    assert not result.person.active
    assert {(o.product, o.role, o.source) for o in result.orphaned} == {
        ("churn", Role.OWNER, None),
        ("churn", Role.DATA_STEWARD, "crm"),
        ("fraud", Role.MONITORING_LEAD, None),
    }
    churn = reg.product("churn")
    assert {(a.role, a.source) for a in churn.orphaned} == {
        (Role.OWNER, None),
        (Role.DATA_STEWARD, "crm"),
    }
    event = next(e for e in reg.audit_log() if e.action == "person.deactivated")
    assert event.after["reason"] == "left the company"
    assert len(event.after["orphaned_roles"]) == 3
    orphan_events = [e for e in reg.audit_log(product="churn") if e.action == "role.orphaned"]
    assert {e.subject for e in orphan_events} == {"churn/owner", "churn/data_steward:crm"}
    summary = {s.slug: s for s in reg.products()}
    assert summary["churn"].orphaned_roles == 2
    assert summary["churn"].owner_active is False


def test_deactivating_twice_changes_nothing(team_registry: Registry) -> None:
    team_registry.deactivate_person("maya@example.com")
    before = len(team_registry.audit_log())
    again = team_registry.deactivate_person("maya@example.com")
    assert not again.changed
    assert len(team_registry.audit_log()) == before


def test_reactivation_clears_orphans(team_registry: Registry) -> None:
    team_registry.create_product("churn", stage="pilot", owner="maya@example.com")
    team_registry.deactivate_person("maya@example.com")
    assert team_registry.product("churn").orphaned
    team_registry.activate_person("maya@example.com")
    assert team_registry.product("churn").orphaned == []


def test_team_name_cannot_shadow_a_person(registry: Registry) -> None:
    registry.add_person("ops@example.com", name="Ops")
    with pytest.raises(ConflictError):
        registry.add_team("ops@example.com")
