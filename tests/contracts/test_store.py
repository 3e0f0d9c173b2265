from __future__ import annotations

import pytest

from postpilot import NotFoundError, Registry
from postpilot.contracts import infer_contract
from postpilot.profiles import Profile, profile
from tests.contracts.data import crm


def test_versions_are_linked_to_source_and_steward(team_registry: Registry) -> None:
    reg = team_registry
    reg.create_product("churn", owner="maya@example.com")
    reg.add_source("churn", "crm", steward="ines@example.com")
    steward = reg.steward("churn", "crm")
    assert steward is not None
    reference = profile(crm(2_000, seed=1))
    contract = infer_contract(
        reference, name="crm", product="churn", source="crm", steward=steward.email
    )
    first = reg.save_contract(contract, profile=reference.to_bytes())
    assert (first.version, first.product, first.source) == (1, "churn", "crm")
    assert reg.save_contract(contract).version == 1  # unchanged text: no new version
    changed = contract.model_copy(update={"description": "CRM export, nightly"})
    assert reg.save_contract(changed).version == 2
    latest = reg.contract("crm")
    assert latest.version == 2
    assert latest.contract.steward == "ines@example.com"
    stored = reg.contract("crm", 1)
    assert stored.profile is not None
    assert Profile.from_bytes(stored.profile) == reference
    assert [c.version for c in reg.contracts("crm")] == [1, 2]
    assert [e.action for e in reg.audit_log(product="churn")][-2:] == ["contract.saved"] * 2


def test_unknown_contract_and_source(registry: Registry) -> None:
    with pytest.raises(NotFoundError):
        registry.contract("nope")
    registry.create_product("churn")
    with pytest.raises(NotFoundError):
        registry.steward("churn", "crm")
    contract = infer_contract(crm(200, seed=1), name="crm", product="churn", source="crm")
    with pytest.raises(NotFoundError):
        registry.save_contract(contract)
    assert registry.contracts() == []
