from __future__ import annotations

import pytest

from postpilot import (
    InactivePersonError,
    InputError,
    NotAPersonError,
    NotFoundError,
    Registry,
    Role,
)


@pytest.fixture
def reg(team_registry: Registry) -> Registry:
    team_registry.create_product("churn", name="Churn predictor")
    return team_registry


def test_a_team_cannot_own_a_product(reg: Registry) -> None:
    with pytest.raises(NotAPersonError, match="is a team"):
        reg.assign_role("churn", "owner", "ml-platform")
    assert reg.product("churn").owner is None


@pytest.mark.parametrize(
    "who",
    [
        ["maya@example.com", "dev@example.com"],
        "maya@example.com,dev@example.com",
        "maya@example.com dev@example.com",
        [],
    ],
)
def test_two_people_cannot_own_a_product(reg: Registry, who: str | list[str]) -> None:
    with pytest.raises(NotAPersonError, match="exactly one person"):
        reg.assign_role("churn", "owner", who)
    assert reg.product("churn").owner is None


def test_assigning_again_replaces_and_records_both(reg: Registry) -> None:
    reg.assign_role("churn", "owner", "maya@example.com")
    reg.assign_role("churn", "owner", "dev@example.com", reason="Maya moved to fraud")

    assert reg.product("churn").owner.email == "dev@example.com"
    events = [e for e in reg.audit_log(product="churn") if e.subject == "churn/owner"]
    assert [(e.action, e.before, e.after["person"]) for e in events] == [
        ("role.assigned", None, "maya@example.com"),
        ("role.replaced", {"person": "maya@example.com", "active": True}, "dev@example.com"),
    ]
    assert events[1].after["reason"] == "Maya moved to fraud"


def test_assigning_the_same_holder_changes_nothing(reg: Registry) -> None:
    reg.assign_role("churn", "owner", "maya@example.com")
    count = len(reg.audit_log())
    assert reg.assign_role("churn", "owner", "MAYA@example.com").email == "maya@example.com"
    assert len(reg.audit_log()) == count


def test_an_inactive_person_cannot_take_a_role(reg: Registry) -> None:
    reg.deactivate_person("sam@example.com")
    with pytest.raises(InactivePersonError, match=r"sam@example\.com is inactive") as info:
        reg.assign_role("churn", "training_lead", "sam@example.com")
    assert "activate" in (info.value.hint or "")
    assert Role.TRAINING_LEAD not in reg.product("churn").roles


def test_each_role_is_held_once(reg: Registry) -> None:
    for role, email in [
        ("owner", "maya@example.com"),
        ("integration_lead", "dev@example.com"),
        ("training-lead", "ines@example.com"),
        ("MONITORING_LEAD", "sam@example.com"),
    ]:
        reg.assign_role("churn", role, email)
    product = reg.product("churn")
    assert {r: a.email for r, a in product.roles.items()} == {
        Role.OWNER: "maya@example.com",
        Role.INTEGRATION_LEAD: "dev@example.com",
        Role.TRAINING_LEAD: "ines@example.com",
        Role.MONITORING_LEAD: "sam@example.com",
    }
    assert product.unassigned == ["data_steward"]


def test_data_steward_is_per_source(reg: Registry) -> None:
    with pytest.raises(InputError) as info:
        reg.assign_role("churn", "data_steward", "ines@example.com")
    assert info.value.field == "source"
    with pytest.raises(NotFoundError, match="no data source 'crm'"):
        reg.assign_role("churn", "data_steward", "ines@example.com", source="crm")

    reg.add_source("churn", "crm", description="CRM export")
    reg.add_source("churn", "billing", steward="dev@example.com")
    reg.assign_role("churn", "data_steward", "ines@example.com", source="crm")
    reg.assign_role("churn", "data_steward", "maya@example.com", source="crm")

    sources = {s.name: s.steward.email if s.steward else None for s in reg.product("churn").sources}
    assert sources == {"crm": "maya@example.com", "billing": "dev@example.com"}


def test_only_data_steward_takes_a_source(reg: Registry) -> None:
    reg.add_source("churn", "crm")
    with pytest.raises(InputError) as info:
        reg.assign_role("churn", "owner", "maya@example.com", source="crm")
    assert info.value.field == "source"


def test_unknown_role_lists_the_roles(reg: Registry) -> None:
    with pytest.raises(InputError, match="unknown role") as info:
        reg.assign_role("churn", "boss", "maya@example.com")
    assert "owner, data_steward, integration_lead" in (info.value.hint or "")


def test_unknown_person_says_how_to_add_them(reg: Registry) -> None:
    with pytest.raises(NotFoundError) as info:
        reg.assign_role("churn", "owner", "nobody@example.com")
    assert "postpilot person add nobody@example.com" in (info.value.hint or "")
