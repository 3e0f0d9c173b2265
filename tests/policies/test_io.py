"""Every way a policy file can be wrong is reported as ``file:line: field: problem``."""

from __future__ import annotations

from pathlib import Path

import pytest

from postpilot.errors import InputError, PolicyError
from postpilot.policies.defaults import default_policy
from postpilot.policies.io import dumps_policy, load_policy, loads_policy
from postpilot.policies.model import Policy

EXAMPLE = Path(__file__).parent / "data" / "example.yaml"

RULE = """\
rules:
  - name: r
    when:
      metric: drift.share
      threshold: 0.3
    then:
      - notify: owner
"""


def problems(text: str, **kwargs: object) -> list[str]:
    with pytest.raises(PolicyError) as info:
        loads_policy(text, source="p.yaml", **kwargs)  # type: ignore[arg-type]
    error = info.value
    assert isinstance(error, InputError)
    assert error.file is not None
    assert error.file.startswith("p.yaml")
    assert str(error).startswith(error.problems[0])
    return error.problems


def test_example_and_defaults_round_trip(tmp_path: Path) -> None:
    for policy in (load_policy(EXAMPLE), default_policy("f1", 0.7), default_policy(None, None)):
        text = dumps_policy(policy)
        assert text.startswith("# postpilot policy")
        assert loads_policy(text) == policy
        path = tmp_path / "p.yaml"
        path.write_text(text, encoding="utf-8")
        assert load_policy(path) == policy


def test_dump_writes_short_lists_inline() -> None:
    text = dumps_policy(load_policy(EXAMPLE))
    assert "via: [ops-webhook, ops-slack, store]" in text
    assert "threshold: [0.9, 1.1]" in text


def test_a_minimal_policy() -> None:
    policy = loads_policy(RULE)
    assert policy.schema_version == 1
    assert policy.product is None
    assert policy.source is None
    assert policy.channels == {}
    assert isinstance(policy, Policy)


def test_the_message_counts_the_other_problems() -> None:
    text = RULE.replace("0.3", "high").replace("owner", "ownr")
    with pytest.raises(PolicyError) as info:
        loads_policy(text, source="p.yaml")
    assert len(info.value.problems) == 2
    assert info.value.message == f"{info.value.problems[0]} (and 1 more)"


def test_bad_yaml() -> None:
    assert problems("rules: [unclosed\n")[0].startswith("p.yaml:2: not valid YAML: expected")


@pytest.mark.parametrize(
    ("text", "found"), [("", "an empty file"), ("- a\n", "a list"), ("7\n", "a int")]
)
def test_not_a_mapping(text: str, found: str) -> None:
    assert problems(text) == [
        f"p.yaml:1: a policy is a mapping with schema_version and rules, got {found}"
    ]


def test_a_key_given_twice() -> None:
    text = RULE.replace("      threshold: 0.3\n", "      threshold: 0.3\n      threshold: 0.4\n")
    assert problems(text) == [
        "p.yaml:6: key 'threshold' is given twice (first on line 5); keep one"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # unknown keys, with the allowed ones
        (
            "      threshold: 0.3\n",
            "      threshold: 0.3\n      treshold: 2\n",
            "p.yaml:6: rules.0.when.treshold: unknown key; allowed: metric, name, column, kind, "
            "severity, threshold, direction, consecutive",
        ),
        (
            "rules:",
            "owner: x\nrules:",
            "p.yaml:1: owner: unknown key; allowed: schema_version, product, source, channels, "
            "rules, defaults",
        ),
        (
            "      - notify: owner\n",
            "      - notify: owner\n        via: [store]\n",
            "p.yaml:8: rules.0.then.0.via: unknown key; allowed: notify, open_incident, escalate, "
            "fallback, block_promotion, retire. Channels go inside the action: notify: "
            "{to: owner, via: [...]}",
        ),
        (
            "notify: owner",
            "alert: owner",
            "p.yaml:7: rules.0.then.0.alert: unknown key; allowed: notify, open_incident, "
            "escalate, fallback, block_promotion, retire",
        ),
        # wrong types and values
        (
            "threshold: 0.3",
            "threshold: high",
            "p.yaml:5: rules.0.when.threshold: threshold must be a number, got 'high'",
        ),
        (
            "threshold: 0.3",
            "threshold: .inf",
            "p.yaml:5: rules.0.when.threshold: threshold must be a finite number, got inf",
        ),
        (
            "threshold: 0.3",
            "threshold: true",
            "p.yaml:5: rules.0.when.threshold: threshold must be a number, got True",
        ),
        (
            "threshold: 0.3",
            "threshold: [1, 2, 3]",
            "p.yaml:5: rules.0.when.threshold: a threshold band is [low, high], got 3 values",
        ),
        (
            "threshold: 0.3",
            "threshold: 0.3\n      consecutive: 0",
            "p.yaml:6: rules.0.when.consecutive: Input should be greater than or equal to 1, got 0",
        ),
        (
            "threshold: 0.3",
            "threshold: 0.3\n      consecutive: 1.5",
            "p.yaml:6: rules.0.when.consecutive: Input should be a valid integer, got 1.5",
        ),
        (
            "threshold: 0.3",
            "threshold: 0.3\n      direction: up",
            "p.yaml:6: rules.0.when."
            "direction: Input should be 'below', 'above' or 'either', got 'up'",
        ),
        (
            "when:\n      metric: drift.share\n      threshold: 0.3\n",
            "when: drift.share\n",
            "p.yaml:3: rules.0.when: should be a mapping (keys: metric, name, column, kind, "
            "severity, threshold, direction, consecutive), got 'drift.share'",
        ),
        (
            "rules:",
            "schema_version: 2\nrules:",
            "p.yaml:1: schema_version: Input should be 1, got 2",
        ),
        (
            "rules:",
            "product: Revenue\nrules:",
            "p.yaml:1: product: 'Revenue' is not a product slug",
        ),
        (
            "name: r",
            "name: Inputs_Drifted",
            "p.yaml:2: rules.0.name: 'Inputs_Drifted' is not a "
            "rule name: use 1 to 64 lower-case letters, digits and hyphens",
        ),
        ("      metric: drift.share\n", "", "p.yaml:3: rules.0.when.metric: Field required"),
        (
            "    then:\n      - notify: owner\n",
            "    then: []\n",
            "p.yaml:6: rules.0.then: a rule needs at least one action",
        ),
    ],
)
def test_one_mistake_one_message(old: str, new: str, expected: str) -> None:
    assert old in RULE
    assert problems(RULE.replace(old, new, 1)) == [expected]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (
            "{metric: drift.shares, threshold: 1}",
            "rules.0.when.metric: unknown metric 'drift.shares'; known: drift.share, "
            "drift.feature, drift.multivariate, contract.findings, performance.estimated, "
            "performance.realized, data.silence, roles.orphaned, gateway.latency_p99, "
            "gateway.error_rate, gateway.fallback_share",
        ),
        (
            "{metric: gateway.latency_p99, threshold: 300}",
            "rules.0.when.metric: gateway.latency_p99 comes from the gateway's prediction log, "
            "and this policy's source is missing: write source: {gateway: true} (or drop the "
            "rule)",
        ),
        (
            "{metric: review.overdue, threshold: 3}",
            "rules.0.when.metric: metric 'review.overdue' is not available yet: it comes with "
            "owner reviews (a later issue)",
        ),
        (
            "{metric: drift.share, threshold: 0.1, column: amount}",
            "rules.0.when.column: column applies to drift.feature only, not to drift.share",
        ),
        (
            "{metric: drift.feature, threshold: 0.1, kind: unit_change}",
            "rules.0.when.kind: kind applies to contract.findings only, not to drift.feature",
        ),
        (
            "{metric: drift.share, threshold: 0.1, severity: error}",
            "rules.0.when.severity: severity applies to contract.findings only, not to drift.share",
        ),
        (
            "{metric: roles.orphaned, threshold: 0, name: f1}",
            "rules.0.when.name: name applies to performance.estimated and performance.realized "
            "only, not to roles.orphaned",
        ),
        (
            "{metric: performance.estimated, threshold: 0.7}",
            "rules.0.when.name: performance.estimated needs `name:` (the metric to watch, e.g. f1)",
        ),
        (
            "{metric: performance.realized, threshold: 0.7, name: F1}",
            "rules.0.when.name: unknown performance metric 'F1'; known: roc_auc, f1, precision, "
            "recall, specificity, accuracy, log_loss, mae, mape, mse, rmse, r2",
        ),
        (
            "{metric: contract.findings, threshold: 0, kind: units}",
            "rules.0.when.kind: unknown finding kind 'units'; allowed: missing_column, "
            "unexpected_column, likely_rename, type_change, unit_change, swapped_columns, "
            "new_category, null_rate, out_of_range, constant_column, row_count",
        ),
        (
            "{metric: contract.findings, threshold: 0, severity: fatal}",
            "rules.0.when.severity: Input should be 'error' or 'warning', got 'fatal'",
        ),
        (
            "{metric: drift.share, threshold: [0.1, 0.5]}",
            "rules.0.when.threshold: a band [low, high] needs direction: either (the direction "
            "is above)",
        ),
        (
            "{metric: drift.share, threshold: 0.1, direction: either}",
            "rules.0.when.threshold: direction either needs a band: threshold: [low, high]",
        ),
        (
            "{metric: drift.share, threshold: [0.5, 0.5], direction: either}",
            "rules.0.when.threshold: the band's low end must be below its high end, got [0.5, 0.5]",
        ),
        (
            "{metric: drift.share, threshold: 2d}",
            "rules.0.when.threshold: threshold must be a number, got '2d'",
        ),
        (
            "{metric: data.silence, threshold: 2days}",
            "rules.0.when.threshold: not a duration: '2days'; write e.g. 90m, 36h, 2d",
        ),
        (
            "{metric: data.silence, threshold: 0m}",
            "rules.0.when.threshold: duration '0m' is not positive; write e.g. 90m, 36h, 2d",
        ),
    ],
)
def test_when_mistakes(when: str, expected: str) -> None:
    text = f"rules:\n  - name: r\n    when: {when}\n    then: [notify: owner]\n"
    assert problems(text) == [f"p.yaml:3: {expected}"]


def test_data_silence_takes_numbers_and_durations() -> None:
    text = "rules: [{name: r, when: {metric: data.silence, threshold: T}, then: [notify: owner]}]"
    assert loads_policy(text.replace("T", "90m")).rules[0].when.bounds == 1.5
    assert loads_policy(text.replace("T", "12")).rules[0].when.bounds == 12.0


ACTIONS = """\
channels:
  hook: {type: slack, url_env: HOOK}
rules:
  - name: r
    when: {metric: drift.share, threshold: 0.3}
    then:
      - STEP
"""


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            "notify: ownr",
            "p.yaml:7: rules.0.then.0.notify.to: unknown recipient 'ownr': use a role (owner, "
            "data_steward, integration_lead, training_lead, monitoring_lead), role_holders "
            "(every holder of the product's roles) or a person's email",
        ),
        (
            "notify: {to: data-steward}",
            "p.yaml:7: rules.0.then.0.notify.to: unknown recipient 'data-steward'",
        ),
        (
            "notify: [owner]",
            "p.yaml:7: rules.0.then.0.notify: notify is a recipient (a role, role_holders or an "
            "email) or {to: ..., via: [...]}, got ['owner']",
        ),
        (
            "notify: {to: owner, via: [hook, pager]}",
            "p.yaml:7: rules.0.then.0.notify.via.1: unknown channel 'pager'; known: console, "
            "hook, store",
        ),
        (
            "notify: {to: owner, via: []}",
            "p.yaml:7: rules.0.then.0.notify.via: via names at least one channel (leave it out "
            "for the store)",
        ),
        (
            "notify: {to: owner, via: [hook, hook]}",
            "p.yaml:7: rules.0.then.0.notify.via: a channel is named twice: hook, hook",
        ),
        (
            "open_incident: {severity: urgent}",
            "p.yaml:7: rules.0.then.0.open_incident.severity: Input should be 'low', 'medium', "
            "'high' or 'critical', got 'urgent'",
        ),
        (
            "open_incident: {assignee: role_holders}",
            "p.yaml:7: rules.0.then.0.open_incident.assignee: role_holders is not one person",
        ),
        (
            "escalate: {to: monitoring_lead, after: 4h}",
            "p.yaml:7: rules.0.then.0.escalate: escalate needs an open_incident earlier in the "
            "rule (an unacknowledged incident is what escalates)",
        ),
        (
            "open_incident: {}\n      - escalate: {to: monitoring_lead, after: 4 hours}",
            "p.yaml:8: rules.0.then.1.escalate.after: not a duration: '4 hours'; write e.g. 90m, "
            "36h, 2d or 1w",
        ),
        (
            "open_incident: {}\n      - escalate: {to: monitoring_lead}",
            "p.yaml:8: rules.0.then.1.escalate.after: Field required",
        ),
        (
            "open_incident: {}\n      - open_incident: {}",
            "p.yaml:8: rules.0.then.1: a rule opens at most one incident",
        ),
        (
            "fallback:",
            "p.yaml:7: rules.0.then.0.fallback: fallback needs a value: write fallback: {}",
        ),
        (
            "{}",
            "p.yaml:7: rules.0.then.0: an action needs one of: notify, open_incident, "
            "escalate, fallback, block_promotion, retire",
        ),
        (
            "{retire: {}, fallback: {}}",
            "p.yaml:7: rules.0.then.0: an action has exactly one key, "
            "got fallback and retire: make each its own list item",
        ),
        (
            "retire: {confirm: true}",
            "p.yaml:7: rules.0.then.0.retire.confirm: unknown key; allowed: ",
        ),
        (
            "retire",
            "p.yaml:7: rules.0.then.0: should be a mapping (keys: notify, open_incident, "
            "escalate, fallback, block_promotion, retire), got 'retire'",
        ),
    ],
)
def test_action_mistakes(step: str, expected: str) -> None:
    found = problems(ACTIONS.replace("STEP", step))
    assert len(found) == 1
    assert found[0].startswith(expected)


def test_global_channels_may_be_named() -> None:
    text = ACTIONS.replace("STEP", "notify: {to: owner, via: [global-hook, console]}")
    assert "global-hook" in problems(text)[0]
    policy = loads_policy(text, known_channels=["global-hook"])
    assert policy.rules[0].then[0].notify is not None
    assert policy.rules[0].then[0].notify.via == ["global-hook", "console"]


def test_rule_names_are_unique() -> None:
    text = RULE + RULE.removeprefix("rules:\n")
    assert problems(text) == ["p.yaml:8: rules.1.name: rule name 'r' is used twice (also rules.0)"]


CHANNELS = """\
channels:
  NAME: CHANNEL
rules: []
"""


@pytest.mark.parametrize(
    ("name", "channel", "expected"),
    [
        (
            "hook",
            "{type: webhook, url: https://h.example.com, secret: s3cret}",
            "channels.hook.secret: unknown key; allowed: type, url, url_env, secret_env, "
            "secret_file, allow_private, timeout. Secrets never go in a policy file: name an "
            "environment variable (secret_env: NAME)",
        ),
        (
            "hook",
            "{type: webhook, url: https://h.example.com}",
            "channels.hook: a webhook channel needs exactly one of secret_env and secret_file",
        ),
        (
            "hook",
            "{type: webhook, url_env: U, secret_env: S, secret_file: /s}",
            "channels.hook: a webhook channel needs exactly one of secret_env and secret_file",
        ),
        (
            "hook",
            "{type: slack}",
            "channels.hook.url_env: Field required",
        ),
        (
            "hook",
            "{type: slack, url: https://h.example.com, url_env: U}",
            "channels.hook.url: unknown key; allowed: type, url_env, allow_private, timeout. "
            "A Slack webhook URL is a credential",
        ),
        (
            "hook",
            "{type: webhook, url: ftp://h.example.com, secret_env: S}",
            "channels.hook.url: 'ftp://h.example.com' is not an http(s) URL",
        ),
        (
            "hook",
            "{type: slack, url_env: 9LIVES}",
            "channels.hook.url_env: '9LIVES' is not an environment variable name",
        ),
        (
            "hook",
            "{type: pager}",
            "channels.hook.type: unknown type 'pager'; allowed: webhook, slack, email, store",
        ),
        (
            "hook",
            "{url_env: U}",
            "channels.hook.type: Field required; one of: webhook, slack, email, store",
        ),
        ("mail", "{type: email, from: a@example.com}", "channels.mail.smtp_host: Field required"),
        ("mail", "{type: email, smtp_host: h}", "channels.mail.from: Field required"),
        (
            "mail",
            "{type: email, smtp_host: h, from: postpilot}",
            "channels.mail.from: 'postpilot' is not an email address",
        ),
        (
            "mail",
            "{type: email, smtp_host: h, from: a@example.com, password: pw}",
            "channels.mail.password: unknown key; allowed: type, smtp_host, smtp_port, starttls, "
            "ssl, username_env, password_env, from. Secrets never go in a policy file",
        ),
        (
            "mail",
            "{type: email, smtp_host: h, from: a@example.com, username_env: U}",
            "channels.mail: give both username_env and password_env, or neither",
        ),
        (
            "mail",
            "{type: email, smtp_host: h, from: a@example.com, smtp_port: 70000}",
            "channels.mail.smtp_port: Input should be less than or equal to 65535, got 70000",
        ),
        (
            "store",
            "{type: store}",
            "channels.store: 'store' is a built-in channel; choose another name",
        ),
        ("Ops_Hook", "{type: store}", "channels.Ops_Hook: 'Ops_Hook' is not a channel name"),
    ],
)
def test_channel_mistakes(name: str, channel: str, expected: str) -> None:
    found = problems(CHANNELS.replace("NAME", name).replace("CHANNEL", channel))
    assert len(found) == 1
    assert found[0].startswith(f"p.yaml:2: {expected}")


SOURCE = """\
source:
  path: data/*.parquet
  timestamp: scored_at
  chunk_period: day
  performance:
    problem: binary
    y_pred: predicted
    y_score: score
    metrics: [f1]
    y_true: outcome
rules: []
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  path: data/*.parquet\n",
            "",
            "p.yaml:1: source: a source needs exactly one of path, sql and gateway",
        ),
        (
            "  path: data/*.parquet\n",
            "  path: x\n  sql: {url_env: DB, query: q, watermark: w}\n",
            "p.yaml:1: source: a source needs exactly one of path, sql and gateway",
        ),
        (
            "  path: data/*.parquet\n",
            "  path: x\n  gateway: true\n",
            "p.yaml:1: source: a source needs exactly one of path, sql and gateway",
        ),
        (
            "  path: data/*.parquet\n",
            "  gateway: false\n",
            "p.yaml:2: source.gateway: Input should be True",
        ),
        (
            "  path: data/*.parquet\n",
            "  gateway: true\n  format: csv\n",
            "p.yaml:3: source.format: format applies to files (path), not to gateway",
        ),
        (
            "  path: data/*.parquet\n",
            "  sql: {url: 'postgresql://u:pw@h/db', url_env: DB, query: q, watermark: w}\n",
            "p.yaml:2: source.sql.url: unknown key; allowed: url_env, query, "
            "watermark. A database URL holds a password",
        ),
        (
            "  path: data/*.parquet\n",
            "  sql: {url_env: DB, query: q, watermark: w}\n  format: csv\n",
            "p.yaml:3: source.format: format applies to files (path), not to sql",
        ),
        (
            "  path: data/*.parquet\n",
            "  path: x\n  format: excel\n",
            "p.yaml:3: source.format: Input should be 'auto', 'parquet' or 'csv', got 'excel'",
        ),
        (
            "  timestamp: scored_at\n",
            "",
            "p.yaml:3: source.chunk_period: chunk_period needs the timestamp column",
        ),
        (
            "chunk_period: day",
            "chunk_period: daily",
            "p.yaml:4: source.chunk_period: Input should be 'day', 'week' or 'month', got 'daily'",
        ),
        (
            "  path: data/*.parquet\n",
            "  path: x\n  contract: crm@v2\n",
            "p.yaml:3: source.contract: 'crm@v2' is not a contract name or NAME@VERSION",
        ),
        (
            "metrics: [f1]",
            "metrics: [f1, mae]",
            "p.yaml:9: source.performance.metrics.1: 'mae' "
            "is not a binary metric; use: roc_auc, f1, precision, recall, specificity, accuracy, "
            "log_loss",
        ),
        (
            "metrics: [f1]",
            "metrics: []",
            "p.yaml:9: source.performance.metrics: List should have at least 1 item",
        ),
        (
            "    y_score: score\n",
            "",
            "p.yaml:5: source.performance.y_score: binary needs y_score: a column",
        ),
        ("    y_pred: predicted\n", "", "p.yaml:5: source.performance.y_pred: y_pred is needed"),
        (
            "problem: binary",
            "problem: multiclass",
            "p.yaml:8: source.performance.y_score: "
            "multiclass needs y_score: a mapping class: column",
        ),
        (
            "problem: binary",
            "problem: ranking",
            "p.yaml:6: source.performance.problem: Input "
            "should be 'binary', 'multiclass' or 'regression', got 'ranking'",
        ),
        (
            "y_score: score",
            "y_score: [a, b]",
            "p.yaml:8: source.performance.y_score: y_score is "
            "a column (binary) or a mapping class: column (multiclass)",
        ),
    ],
)
def test_source_mistakes(old: str, new: str, expected: str) -> None:
    assert old in SOURCE
    found = problems(SOURCE.replace(old, new, 1))
    assert len(found) == 1
    assert found[0].startswith(expected)


def test_source_variants() -> None:
    multiclass = SOURCE.replace("problem: binary", "problem: multiclass").replace(
        "y_score: score", "y_score: {0: p0, 1: p1, 2: p2}"
    )
    performance = loads_policy(multiclass).source.performance  # type: ignore[union-attr]
    assert performance is not None
    assert performance.y_score == {"0": "p0", "1": "p1", "2": "p2"}
    scores_only = SOURCE.replace("    y_pred: predicted\n", "").replace("[f1]", "[roc_auc]")
    assert loads_policy(scores_only).source is not None
    sql = SOURCE.replace(
        "  path: data/*.parquet\n", "  sql: {url_env: DB, query: q, watermark: w}\n"
    )
    source = loads_policy(sql).source
    assert source is not None
    assert source.sql is not None
    assert source.sql.url_env == "DB"
    gateway = loads_policy("source: {gateway: true}\nrules: []\n").source
    assert gateway is not None
    assert (gateway.gateway, gateway.timestamp) == (True, "created_at")  # the default time
    timed = loads_policy("source: {gateway: true, timestamp: at}\nrules: []\n").source
    assert timed is not None
    assert timed.timestamp == "at"


GATEWAY_RULE = (
    "rules: [{name: r, when: {metric: gateway.fallback_share, threshold: 0.2}, "
    "then: [notify: owner]}]\n"
)


def test_gateway_metrics_need_a_gateway_source() -> None:
    policy = loads_policy("source: {gateway: true}\n" + GATEWAY_RULE)
    assert policy.rules[0].when.direction == "above"
    assert problems("source: {path: x.parquet}\n" + GATEWAY_RULE) == [
        "p.yaml:2: rules.0.when.metric: gateway.fallback_share comes from the gateway's "
        "prediction log, and this policy's source is not the gateway: write source: "
        "{gateway: true} (or drop the rule)"
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found") as info:
        load_policy(tmp_path / "nope.yaml")
    assert info.value.file is not None
    assert info.value.file.endswith("nope.yaml")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xff\xfe rules")
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(path)


def test_the_file_name_is_the_source(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(RULE.replace("owner", "nobody"), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.problems[0].startswith(f"{path}:7: rules.0.then.0.notify.to:")
