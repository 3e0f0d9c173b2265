"""The ``fallback`` action switches a real gateway route, which the gateway then obeys."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from postpilot.gateway.service import set_route
from postpilot.policies.service import monitor_once
from postpilot.policies.store import apply_policy
from postpilot.registry.routes import Fallback
from tests.gateway.world import PRODUCT, build, records

POLICY = f"""\
schema_version: 1
product: {PRODUCT}
channels:
  log: {{type: store}}
rules:
  - name: owner-left
    when: {{metric: roles.orphaned, threshold: 0}}
    then:
      - notify: {{to: monitoring_lead, via: [log]}}
      - fallback: {{}}
"""


def _policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_a_firing_rule_switches_the_route_to_its_fallback(tmp_path: Path) -> None:
    world = build(tmp_path / "w")
    reg = world.registry
    set_route(reg, PRODUCT, version=2, fallback=Fallback("constant", "refer-to-human"))
    apply_policy(reg, _policy(tmp_path), PRODUCT)
    reg.deactivate_person("maya@example.com", reason="moved on")
    [result] = monitor_once(reg, PRODUCT, now=None)
    assert any("switched the gateway route to its fallback" in line for line in result.done)
    route = reg.route(PRODUCT)
    assert route.fallback_active
    assert "owner-left" in (route.fallback_reason or "")
    actions = [e.action for e in reg.audit_log(product=PRODUCT)]
    assert "route.fallback_on" in actions
    with TestClient(world.app()) as client:
        body = client.post(
            f"/v1/products/{PRODUCT}/predict",
            json={"record": records(1)[0]},
            headers=world.headers("predict"),
        ).json()
    assert body["served_by"] == "fallback"
    assert body["predictions"][0]["prediction"] == "refer-to-human"
    # a second pass over the same episode does not switch again
    [again] = monitor_once(reg, PRODUCT, now=None)
    assert not any("fallback" in line for line in again.done)


def test_without_a_fallback_the_request_is_recorded_and_said_not_carried_out(
    tmp_path: Path,
) -> None:
    world = build(tmp_path / "w")
    reg = world.registry
    apply_policy(reg, _policy(tmp_path), PRODUCT)
    reg.deactivate_person("maya@example.com")
    [result] = monitor_once(reg, PRODUCT, now=None)
    assert any(
        "fallback requested but not carried out: the route has no fallback" in line
        for line in result.done
    )
    assert not reg.route(PRODUCT).fallback_active
    events = [e for e in reg.audit_log(product=PRODUCT) if e.action == "route.fallback_requested"]
    assert events
    assert events[0].after["carried_out"] is False
