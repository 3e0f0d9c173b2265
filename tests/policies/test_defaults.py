from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from postpilot.errors import PolicyError
from postpilot.policies.defaults import default_policy
from postpilot.policies.evaluate import evaluate
from postpilot.policies.model import Notify, OpenIncident
from postpilot.policies.observations import Observation

DAY0 = datetime(2026, 3, 1)


def seen(metric: str, *values: float, subject: str | None = None, **kw: str) -> list[Observation]:
    return [
        Observation(metric, v, DAY0 + timedelta(days=i), f"c{i}", subject=subject, **kw)  # type: ignore[arg-type]
        for i, v in enumerate(values)
    ]


def recipients(rule_actions: tuple[object, ...]) -> list[str]:
    return [a.to for a in rule_actions if isinstance(a, Notify)]


def test_the_four_rules_and_whom_they_tell() -> None:
    policy = default_policy("f1", 0.75)
    assert [r.name for r in policy.rules] == [
        "schema-errors",
        "sla-estimated-f1",
        "no-data",
        "orphaned-role",
    ]
    assert recipients(policy.rule("schema-errors").actions) == ["data_steward", "owner"]
    sla = policy.rule("sla-estimated-f1")
    incident = sla.actions[0]
    assert isinstance(incident, OpenIncident)
    assert (incident.severity, incident.assignee) == ("high", "owner")
    assert recipients(sla.actions) == ["owner"]
    assert recipients(policy.rule("no-data").actions) == ["monitoring_lead"]
    assert recipients(policy.rule("orphaned-role").actions) == ["role_holders"]
    assert policy.product is None
    assert policy.channels == {}


def test_without_an_sla_there_is_no_sla_rule() -> None:
    for metric, threshold in ((None, None), ("f1", None), (None, 0.7)):
        names = [r.name for r in default_policy(metric, threshold).rules]
        assert names == ["schema-errors", "no-data", "orphaned-role"]


def test_schema_errors_fire_on_any_error_finding_only() -> None:
    policy = default_policy(None, None)
    findings = [
        *seen("contract.findings", 0, 2, subject="unit_change", severity="error"),
        *seen("contract.findings", 3, 0, subject="new_category", severity="warning"),
    ]
    assert [(f.rule, f.chunk) for f in evaluate(policy, findings)] == [("schema-errors", "c1")]


def test_the_sla_rule_is_one_sided() -> None:
    policy = default_policy("roc_auc", 0.8)
    assert policy.rule("sla-estimated-roc-auc").when.direction == "below"
    estimates = seen("performance.estimated", 0.85, 0.79, 0.99, 0.8, subject="roc_auc")
    firings = evaluate(policy, estimates)
    assert [(f.rule, f.chunk, f.value) for f in firings] == [("sla-estimated-roc-auc", "c1", 0.79)]
    # another metric's estimates are not the SLA's
    assert evaluate(policy, seen("performance.estimated", 0.1, subject="f1")) == []


def test_a_loss_sla_alerts_when_the_loss_rises() -> None:
    policy = default_policy("mae", 10.0)
    firings = evaluate(policy, seen("performance.estimated", 12.0, 3.0, subject="mae"))
    assert [(f.rule, f.chunk, f.direction) for f in firings] == [
        ("sla-estimated-mae", "c0", "above")
    ]


def test_no_data_after_two_days() -> None:
    firings = evaluate(default_policy(None, None), seen("data.silence", 47.0, 48.0, 48.5))
    assert [(f.rule, f.chunk, f.threshold) for f in firings] == [("no-data", "c2", 48.0)]


def test_an_orphaned_role_notifies_the_role_holders() -> None:
    roles = seen("roles.orphaned", 0, 1, subject="owner")
    firings = evaluate(default_policy(None, None), roles)
    assert [(f.rule, f.subject, f.chunk) for f in firings] == [("orphaned-role", "owner", "c1")]


@pytest.mark.parametrize(
    ("metric", "threshold", "problem"),
    [
        ("auc", 0.8, "the product's SLA metric 'auc' cannot be watched: unknown performance"),
        ("f1", math.nan, "the product's SLA threshold must be a finite number, got nan"),
        ("f1", math.inf, "must be a finite number"),
    ],
)
def test_a_bad_sla_is_an_error(metric: str, threshold: float, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        default_policy(metric, threshold)
