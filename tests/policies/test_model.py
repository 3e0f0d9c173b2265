from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from postpilot.errors import InputError
from postpilot.policies._types import mask_url
from postpilot.policies.io import load_policy
from postpilot.policies.metrics import (
    METRICS,
    available_metrics,
    default_direction,
    metric_spec,
)
from postpilot.policies.model import (
    ACTIONS,
    BlockPromotion,
    EmailChannel,
    Escalate,
    Fallback,
    Notify,
    OpenIncident,
    Policy,
    Retire,
    WebhookChannel,
    parse_duration,
)

EXAMPLE = Path(__file__).parent / "data" / "example.yaml"
GATEWAY = Path(__file__).parent / "data" / "gateway.yaml"


@pytest.fixture(scope="module")
def example() -> Policy:
    return load_policy(EXAMPLE)


def test_the_example_uses_every_action_metric_and_channel_type(example: Policy) -> None:
    used_actions = {a.key for rule in example.rules for a in rule.actions}
    assert used_actions == set(ACTIONS)
    gateway = load_policy(GATEWAY)  # gateway.* metrics need a gateway source
    used = {rule.when.metric for policy in (example, gateway) for rule in policy.rules}
    assert used == set(available_metrics())
    assert {m for m in available_metrics() if METRICS[m].gateway} <= {
        rule.when.metric for rule in gateway.rules
    }
    assert {c.type for c in example.channels.values()} == {"webhook", "slack", "email", "store"}
    assert {rule.when.direction for rule in example.rules} == {"above", "below", "either"}
    assert example.source is not None
    assert example.source.performance is not None


def test_action_keys_are_stable() -> None:
    # stored in the audit log and the store: renaming one breaks history
    assert list(ACTIONS) == [
        "notify",
        "open_incident",
        "escalate",
        "fallback",
        "block_promotion",
        "retire",
    ]
    assert [cls.key for cls in ACTIONS.values()] == list(ACTIONS)


def test_actions_parse_into_their_models(example: Policy) -> None:
    actions = example.rule("inputs-drifted").actions
    assert [type(a) for a in actions] == [Notify, Notify, OpenIncident, Escalate, Fallback]
    short, long = actions[0], actions[1]
    assert isinstance(short, Notify)
    assert short.to == "owner"
    assert short.via is None
    assert isinstance(long, Notify)
    assert long.via == ["ops-webhook", "ops-slack", "store"]
    incident = actions[2]
    assert isinstance(incident, OpenIncident)
    assert (incident.severity, incident.assignee) == ("high", "owner")
    escalate = actions[3]
    assert isinstance(escalate, Escalate)
    assert escalate.to == "maya@example.com"
    assert escalate.delay == timedelta(hours=4)
    assert isinstance(example.rule("unit-changes").actions[1], BlockPromotion)
    assert isinstance(example.rule("orphaned-role").actions[1], Retire)
    with pytest.raises(KeyError):
        example.rule("nope")


def test_open_incident_defaults() -> None:
    assert OpenIncident() == OpenIncident(severity="medium", assignee="owner")


def test_direction_defaults_to_the_bad_one(example: Policy) -> None:
    assert example.rule("any-column-drifted").when.direction == "above"
    assert example.rule("f1-sla").when.direction == "below"  # f1 falling is bad
    assert example.rule("mae-realized").when.direction == "above"  # a loss rising is bad
    assert example.rule("no-data").when.direction == "above"


def test_bounds_and_subject(example: Policy) -> None:
    assert example.rule("no-data").when.bounds == 36.0  # hours
    assert example.rule("multivariate").when.bounds == (0.9, 1.1)
    assert example.rule("inputs-drifted").when.bounds == 0.3
    assert example.rule("amount-drifted").when.subject == "amount"
    assert example.rule("unit-changes").when.subject == "unit_change"
    assert example.rule("f1-sla").when.subject == "f1"
    assert example.rule("any-findings").when.subject is None


def test_recipients_emails_are_lower_cased() -> None:
    assert Notify.model_validate("Maya@Example.COM").to == "maya@example.com"


def test_email_channel_reads_from() -> None:
    channel = EmailChannel.model_validate(
        {"type": "email", "smtp_host": "localhost", "from": "pp@example.com"}
    )
    assert (channel.sender, channel.smtp_port, channel.starttls) == ("pp@example.com", 587, True)
    assert channel.username_env is None


def test_to_data_is_canonical_and_secret_free(example: Policy) -> None:
    data = example.to_data()
    assert data["channels"]["ops-webhook"]["url"] == "https://hooks.example.com/***"
    assert "POSTPILOT_OPS_SECRET" in str(data)  # the variable's name is not a secret
    rule = data["rules"][0]
    assert rule["when"] == {
        "metric": "drift.share",
        "threshold": 0.3,
        "direction": "above",
        "consecutive": 2,
    }
    assert rule["then"][0] == {"notify": "owner"}
    assert rule["then"][-1] == {"fallback": {}}
    assert example.to_data(mask_urls=False)["channels"]["ops-webhook"]["url"].endswith("/postpilot")


def test_models_are_frozen(example: Policy) -> None:
    with pytest.raises(ValidationError):
        example.rules[0].when.threshold = 0.9  # type: ignore[misc]


def test_known_channels_come_from_the_context() -> None:
    data = {
        "rules": [
            {
                "name": "r",
                "when": {"metric": "drift.share", "threshold": 0.1},
                "then": [{"notify": {"to": "owner", "via": ["global-hook"]}}],
            }
        ]
    }
    with pytest.raises(ValidationError, match="unknown channel 'global-hook'"):
        Policy.model_validate(data)
    policy = Policy.model_validate(data, context={"known_channels": ["global-hook"]})
    assert policy.rules[0].then[0].action.key == "notify"


def test_webhook_needs_a_signing_key() -> None:
    with pytest.raises(ValidationError, match="exactly one of secret_env and secret_file"):
        WebhookChannel.model_validate({"type": "webhook", "url": "https://a.example.com"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1s", timedelta(seconds=1)),
        ("90m", timedelta(minutes=90)),
        ("36h", timedelta(hours=36)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0h", "not positive"),
        ("2", "not a duration"),
        ("2 d", "not a duration"),
        ("1.5h", "not a duration"),
        ("-1d", "not a duration"),
        ("2y", "not a duration"),
        ("99999999999999w", "too long"),
    ],
)
def test_parse_duration_refuses(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        parse_duration(text)


def test_mask_url() -> None:
    assert mask_url("https://hooks.slack.com/services/T/B/X") == "https://hooks.slack.com/***"
    assert mask_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert mask_url("https://user:pw@h.example.com") == "https://h.example.com/***"
    assert mask_url("https://h.example.com?token=x") == "https://h.example.com/***"


def test_the_catalogue() -> None:
    assert available_metrics() == [
        "drift.share",
        "drift.feature",
        "drift.multivariate",
        "contract.findings",
        "performance.estimated",
        "performance.realized",
        "data.silence",
        "roles.orphaned",
        "gateway.latency_p99",
        "gateway.error_rate",
        "gateway.fallback_share",
    ]
    pending = {k: s.lands_with for k, s in METRICS.items() if not s.available}
    assert set(pending) == {
        "adoption.override_rate",
        "review.overdue",
    }
    assert all(pending.values())
    assert all(s.lands_with is None for s in METRICS.values() if s.available)
    assert metric_spec("drift.feature").subject == "the column"
    assert metric_spec("contract.findings").additive
    assert metric_spec("data.silence").durations
    assert metric_spec("performance.estimated").required == ("name",)


def test_metric_spec_refuses_unknown_and_pending() -> None:
    with pytest.raises(InputError, match=r"unknown metric 'drift'; known: drift\.share"):
        metric_spec("drift")
    with pytest.raises(InputError, match=r"comes with owner reviews \(a later issue\)"):
        metric_spec("review.overdue")
    assert not metric_spec("review.overdue", available=False).available
    assert metric_spec("gateway.error_rate").gateway


def test_default_direction_follows_the_performance_metric() -> None:
    assert default_direction("performance.realized", "roc_auc") == "below"
    assert default_direction("performance.realized", "rmse") == "above"
    assert default_direction("performance.realized", "r2") == "below"
    assert default_direction("performance.realized") == "below"
    assert default_direction("data.silence") == "above"
