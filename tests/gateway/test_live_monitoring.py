"""Live traffic through the gateway feeds the monitor with no export step: served
predictions become a batch, refused records contract findings, and a rule fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from postpilot.policies.monitor import run_pass
from postpilot.policies.store import apply_policy
from tests.gateway.world import PRODUCT, World, build, records

POLICY = f"""\
schema_version: 1
product: {PRODUCT}
source:
  gateway: true
  ignore: [malignant]
channels:
  log: {{type: store}}
rules:
  - name: fields-missing
    when: {{metric: contract.findings, kind: missing_column, threshold: 0}}
    then: [notify: {{to: owner, via: [log]}}]
  - name: refused
    when: {{metric: gateway.error_rate, threshold: 0.05}}
    then: [open_incident: {{severity: high}}]
"""


def _monitored(tmp_path: Path) -> World:
    """The gateway world with the live-traffic policy applied."""
    world = build(tmp_path / "w")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    apply_policy(world.registry, policy, PRODUCT)
    return world


def _send(client: TestClient, world: World, body: dict[str, Any], status: int) -> None:
    response = client.post(
        f"/v1/products/{PRODUCT}/predict", json=body, headers=world.headers("predict")
    )
    assert response.status_code == status


def test_refused_live_records_fire_a_contract_rule_on_the_next_monitor_pass(
    tmp_path: Path,
) -> None:
    world = _monitored(tmp_path)
    reg = world.registry
    good = records(300)
    broken = records(40, offset=300)
    for record in broken:
        del record["mean_area"]
    with TestClient(world.app()) as client:
        _send(client, world, {"records": good}, 200)
        for record in broken:
            _send(client, world, {"record": record}, 422)
    # settle=0: every worker of this in-process gateway has finished writing
    later = datetime.now(UTC) + timedelta(minutes=1)
    result = run_pass(reg, PRODUCT, now=later, settle=0)
    assert result.batches == 1
    done = "\n".join(result.done)
    assert "fields-missing: notified maya@example.com (owner)" in done
    assert "refused: opened incident" in done
    [incident] = reg.incidents(product=PRODUCT)
    assert incident.rule == "refused"
    again = run_pass(reg, PRODUCT, now=later + timedelta(minutes=1), settle=0)
    assert again.batches == 0


def test_traffic_that_is_all_refused_is_caught_on_the_first_pass(tmp_path: Path) -> None:
    """After a CRM migration every request is refused: nothing is served, and the pass
    must still see it (not mistake the product for a quiet one)."""
    world = _monitored(tmp_path)
    reg = world.registry
    with TestClient(world.app()) as client:
        for record in records(10):
            record["area"] = record.pop("mean_area")
            _send(client, world, {"record": record}, 422)
    later = datetime.now(UTC) + timedelta(minutes=1)
    result = run_pass(reg, PRODUCT, now=later, settle=0)
    assert result.batches == 1
    done = "\n".join(result.done)
    assert "fields-missing: notified maya@example.com (owner)" in done
    assert "refused: opened incident" in done
    contract_run = next(r for r in reg.monitoring_runs(PRODUCT) if r.kind == "contract")
    [chunk] = contract_run.result["chunks"]
    kinds = {(f["kind"], f["column"], f["refused"]) for f in chunk["findings"]}
    assert kinds == {("missing_column", "mean_area", 10), ("unexpected_column", "area", 10)}
    assert run_pass(reg, PRODUCT, now=later + timedelta(minutes=1), settle=0).batches == 0


DRIFT_POLICY = f"""\
schema_version: 1
product: {PRODUCT}
source:
  gateway: true
  ignore: [malignant]
channels:
  log: {{type: store}}
rules:
  - name: inputs-drifted
    when: {{metric: drift.share, threshold: 0.3}}
    then: [open_incident: {{severity: high}}]
"""


def test_live_traffic_from_a_real_table_alarms_on_a_real_shift_only(tmp_path: Path) -> None:
    """Breast-cancer rows: the model's training data is one random half; the other half,
    served through the gateway, must not alarm; malignant tumours alone (a real shift of
    the population: larger radius, area, perimeter) must."""
    import polars as pl

    from postpilot.gateway.service import set_route
    from tests.gateway.world import training_table

    world = build(tmp_path / "w")
    reg = world.registry
    table = training_table().with_row_index("row").sample(fraction=1.0, shuffle=True, seed=7)
    half_a, half_b = table.head(284).drop("row"), table.tail(285).drop("row")
    training = tmp_path / "half_a.parquet"
    half_a.write_parquet(training)
    artifact = world.home / "model.joblib"
    version = reg.register_model(
        PRODUCT, artifact=str(artifact), flavor="sklearn", training_data=str(training)
    )
    set_route(reg, PRODUCT, version=version.version)
    policy = tmp_path / "policy.yaml"
    policy.write_text(DRIFT_POLICY)
    apply_policy(reg, policy, PRODUCT)
    with TestClient(world.app()) as client:
        _send(client, world, {"records": half_b.drop("malignant").to_dicts()}, 200)
    later = datetime.now(UTC) + timedelta(minutes=1)
    calm = run_pass(reg, PRODUCT, now=later, settle=0)
    assert calm.batches == 1
    assert reg.incidents(product=PRODUCT) == []
    shifted = table.filter(pl.col("malignant")).drop("row", "malignant")
    with TestClient(world.app()) as client:
        _send(client, world, {"records": shifted.head(200).to_dicts()}, 200)
    alarmed = run_pass(reg, PRODUCT, now=later + timedelta(minutes=1), settle=0)
    assert alarmed.batches == 1
    [incident] = reg.incidents(product=PRODUCT)
    assert incident.rule == "inputs-drifted"
