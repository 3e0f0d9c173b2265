"""The exported JSON Schema accepts the policies the loader accepts and flags the
mistakes an editor should underline.

``jsonschema`` is not a dependency, so the schema is checked by :func:`errors`: a
small validator of the keywords pydantic emits (a keyword it meets and does not
know fails the test, so the check cannot silently weaken).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from postpilot.policies.defaults import default_policy
from postpilot.policies.io import SCHEMA_ID, load_policy, policy_schema
from postpilot.policies.metrics import available_metrics
from postpilot.policies.model import ACTIONS, Policy

EXAMPLE = Path(__file__).parent / "data" / "example.yaml"
GATEWAY = Path(__file__).parent / "data" / "gateway.yaml"
IGNORED = {"title", "description", "default", "examples", "discriminator", "format", "$defs"}
IGNORED |= {"$schema", "$id"}
TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is(value: Any, kind: str) -> bool:
    if kind in ("number", "integer"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok and (kind == "number" or float(value).is_integer())
    return isinstance(value, TYPES[kind])


def errors(value: Any, schema: dict[str, Any], root: dict[str, Any], at: str = "") -> list[str]:
    """Where ``value`` breaks ``schema`` (JSON Schema 2020-12, the subset pydantic uses)."""
    found: list[str] = []
    for key, rule in schema.items():
        if key in IGNORED:
            continue
        if key == "$ref":
            found += errors(value, root["$defs"][rule.removeprefix("#/$defs/")], root, at)
        elif key == "type":
            if not _is(value, rule):
                found.append(f"{at}: not {rule}")
        elif key == "const":
            if value != rule:
                found.append(f"{at}: not {rule!r}")
        elif key == "enum":
            if value not in rule:
                found.append(f"{at}: {value!r} not in enum")
        elif key in ("anyOf", "oneOf"):
            matches = sum(not errors(value, option, root, at) for option in rule)
            if matches == 0 or (key == "oneOf" and matches > 1):
                found.append(f"{at}: {matches} of {key} match")
        elif key in ("minLength", "minItems", "minProperties"):
            if isinstance(value, str | list | dict) and len(value) < rule:
                found.append(f"{at}: fewer than {rule}")
        elif key in ("maxItems", "maxProperties"):
            if isinstance(value, list | dict) and len(value) > rule:
                found.append(f"{at}: more than {rule}")
        elif key in ("minimum", "maximum"):
            if _is(value, "number") and (value < rule if key == "minimum" else value > rule):
                found.append(f"{at}: beyond {key} {rule}")
        elif key == "pattern":
            if isinstance(value, str) and not re.search(rule, value):
                found.append(f"{at}: {value!r} does not match {rule}")
        elif key == "required":
            if isinstance(value, dict):
                found += [f"{at}.{name}: required" for name in rule if name not in value]
        elif key == "properties":
            if isinstance(value, dict):
                for name, sub in rule.items():
                    if name in value:
                        found += errors(value[name], sub, root, f"{at}.{name}")
        elif key == "patternProperties":
            if isinstance(value, dict):
                for pattern, sub in rule.items():
                    for name in [n for n in value if re.search(pattern, n)]:
                        found += errors(value[name], sub, root, f"{at}.{name}")
        elif key == "additionalProperties":
            if isinstance(value, dict):
                known = set(schema.get("properties", {}))
                patterns = list(schema.get("patternProperties", {}))
                for name in value:
                    if name in known or any(re.search(p, name) for p in patterns):
                        continue
                    if rule is False:
                        found.append(f"{at}.{name}: not allowed")
                    elif isinstance(rule, dict):
                        found += errors(value[name], rule, root, f"{at}.{name}")
        elif key == "items":
            if isinstance(value, list):
                for i, item in enumerate(value):
                    found += errors(item, rule, root, f"{at}.{i}")
        elif key == "prefixItems":
            if isinstance(value, list):
                for i, (item, sub) in enumerate(zip(value, rule, strict=False)):
                    found += errors(item, sub, root, f"{at}.{i}")
        else:
            raise AssertionError(f"the test's validator does not know {key!r}")
    return found


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    exported = policy_schema()
    return json.loads(json.dumps(exported))  # what an editor reads


def as_json(data: Any) -> Any:
    return json.loads(json.dumps(data))


def example() -> dict[str, Any]:
    return as_json(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))


def test_the_schema_is_for_editors(schema: dict[str, Any]) -> None:
    assert schema["$id"] == SCHEMA_ID
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "postpilot policy"
    assert set(schema["properties"]) == set(Policy.model_fields)
    when = schema["$defs"]["When"]["properties"]
    assert when["metric"]["enum"] == available_metrics()
    step = schema["$defs"]["Step"]
    assert set(step["properties"]) == set(ACTIONS)
    assert (step["minProperties"], step["maxProperties"]) == (1, 1)
    assert "from" in schema["$defs"]["EmailChannel"]["properties"]


def test_valid_policies_pass(schema: dict[str, Any]) -> None:
    assert errors(example(), schema, schema) == []
    gateway = as_json(yaml.safe_load(GATEWAY.read_text(encoding="utf-8")))
    assert errors(gateway, schema, schema) == []
    assert errors(as_json(load_policy(GATEWAY).to_data()), schema, schema) == []
    for policy in (load_policy(EXAMPLE), default_policy("f1", 0.7), default_policy(None, None)):
        assert errors(as_json(policy.to_data(mask_urls=False)), schema, schema) == []


def _rule(data: dict[str, Any], **when: Any) -> dict[str, Any]:
    data["rules"][0]["when"].update(when)
    return data


def _step(data: dict[str, Any], step: Any) -> dict[str, Any]:
    data["rules"][0]["then"][0] = step
    return data


def _channel(data: dict[str, Any], **keys: Any) -> dict[str, Any]:
    data["channels"]["ops-webhook"].update(keys)
    return data


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        (lambda d: {**d, "owner": "x"}, ".owner: not allowed"),
        (lambda d: _rule(d, treshold=1), ".rules.0.when.treshold: not allowed"),
        (lambda d: _rule(d, metric="drift.shares"), ".rules.0.when.metric: 'drift.shares'"),
        (lambda d: _rule(d, metric="review.overdue"), ".rules.0.when.metric:"),
        (lambda d: _rule(d, consecutive=0), ".rules.0.when.consecutive: beyond minimum"),
        (lambda d: _rule(d, direction="up"), ".rules.0.when.direction:"),
        (lambda d: _rule(d, threshold="2 days"), ".rules.0.when.threshold:"),
        (lambda d: _rule(d, kind="units"), ".rules.0.when.kind:"),
        (lambda d: _step(d, {"notify": "owner", "retire": {}}), ".rules.0.then.0: more than 1"),
        (lambda d: _step(d, {}), ".rules.0.then.0: fewer than 1"),
        (lambda d: _step(d, {"alert": "owner"}), ".rules.0.then.0.alert: not allowed"),
        (lambda d: _step(d, {"notify": "nobody"}), ".rules.0.then.0.notify:"),
        (lambda d: _step(d, {"escalate": {"to": "owner", "after": "4 h"}}), ".rules.0.then.0"),
        (lambda d: _step(d, {"open_incident": {"severity": "urgent"}}), ".rules.0.then.0"),
        (lambda d: _channel(d, secret="s3cret"), ".channels.ops-webhook:"),
        (lambda d: _channel(d, type="pager"), ".channels.ops-webhook:"),
        (lambda d: {**d, "schema_version": 2}, ".schema_version: not 1"),
        (lambda d: {**d, "product": "Revenue Forecast"}, ".product:"),
        (lambda d: {**d, "rules": {}}, ".rules: not array"),
        (lambda d: {**d, "source": {"gateway": "yes"}}, ".source: 0 of anyOf match"),
    ],
)
def test_mistakes_are_flagged(schema: dict[str, Any], bad: Any, where: str) -> None:
    found = errors(bad(example()), schema, schema)
    assert any(e.startswith(where) for e in found), found
