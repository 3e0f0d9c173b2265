"""``monitor run`` on the gateway's prediction log: predictions and refused records are
written straight into a real store (as the gateway's log does), and monitor passes read
them: once each, with drift on the live inputs, refused records as contract findings,
the gateway metrics, and labels joined by prediction id."""

from __future__ import annotations

import gc
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sqlalchemy import insert, select

from postpilot import Registry
from postpilot.monitoring.sources import open_batch_source
from postpilot.monitoring.sources.gateway import GatewaySource
from postpilot.policies.monitor import run_pass
from postpilot.policies.observations import observations_from_run
from postpilot.policies.store import apply_policy
from postpilot.store.models import PredictionRow, ProductRow, QuarantineRow

PRODUCT = "churn"
REGIONS = ["north", "south", "east", "west"]


def inputs(rows: int, seed: int, *, shift: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "amount": rng.lognormal(4.0 + shift, 0.5, rows),
            "tenure": rng.normal(24, 6, rows),
            "region": rng.choice(REGIONS, rows).tolist(),
        }
    )


def score(frame: pl.DataFrame) -> np.ndarray[Any, Any]:
    z = (frame["tenure"].to_numpy() - 24) / 6
    return np.asarray(1 / (1 + np.exp(-2.5 * z)))


def training(rows: int = 3_000) -> pl.DataFrame:
    frame = inputs(rows, 1)
    p = score(frame)
    rng = np.random.default_rng(2)
    return frame.with_columns(
        pl.Series("prediction", p >= 0.5),
        pl.Series("probability_True", p),
        pl.Series("probability_False", 1 - p),
        pl.Series("churned", rng.random(rows) < p),
    )


POLICY = """\
schema_version: 1
source:
  gateway: true
  ignore: [churned]  # the label: in the training table, never in a request
{extra}
rules:
  - name: drifted
    when: {{metric: drift.feature, column: amount, threshold: 0.5}}
    then: [notify: owner]
  - name: fields-missing
    when: {{metric: contract.findings, kind: missing_column, threshold: 0}}
    then: [notify: owner]
  - name: refused
    when: {{metric: gateway.error_rate, threshold: 0.05}}
    then: [notify: owner]
  - name: on-fallback
    when: {{metric: gateway.fallback_share, threshold: 0.2}}
    then: [notify: owner]
  - name: slow
    when: {{metric: gateway.latency_p99, threshold: 300}}
    then: [notify: owner]
defaults: false
"""
PERFORMANCE = """\
  performance: {problem: binary, y_true: churned, y_pred: prediction, y_score: probability_True,
                id_column: prediction_id, metrics: [accuracy]}"""


def make_product(reg: Registry, folder: Path, *, extra: str = "") -> None:
    reg.add_person("maya@example.com", name="Maya Chen")
    reg.create_product(PRODUCT, stage="pilot", owner="maya@example.com")
    path = folder / "training.parquet"
    training().write_parquet(path)
    reg.register_model(PRODUCT, artifact="m.joblib", flavor="sklearn", training_data=str(path))
    policy = folder / "policy.yaml"
    policy.write_text(POLICY.format(extra=extra), encoding="utf-8")
    apply_policy(reg, policy, PRODUCT)


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry(f"sqlite:///{tmp_path / 'pp.db'}", actor="monitor@example.com")
    make_product(registry, tmp_path)
    yield registry
    registry.close()


def product_id(reg: Registry) -> int:
    with reg.store.reading() as session:
        return int(session.scalar(select(ProductRow.id).where(ProductRow.slug == PRODUCT)))


def log(
    reg: Registry,
    frame: pl.DataFrame,
    *,
    at: datetime,
    fallback: int = 0,
    latency: float | list[float] = 20.0,
    consumer: str = "crm",
) -> list[str]:
    """Log the frame's rows as served predictions (what the gateway's log writes), one
    microsecond apart from ``at``; the first ``fallback`` rows by the fallback."""
    p = score(frame)
    start = int(at.timestamp() * 1e6) * 1000
    latencies = latency if isinstance(latency, list) else [latency] * frame.height
    rows, ids = [], []
    for i, record in enumerate(frame.iter_rows(named=True)):
        clock = start + 1000 * i
        ident = f"pr_{clock:016x}{secrets.token_hex(8)}"
        ids.append(ident)
        output = {
            "prediction": bool(p[i] >= 0.5),
            "probabilities": {"True": float(p[i]), "False": float(1 - p[i])},
        }
        rows.append(
            {
                "id": ident,
                "request_id": f"rq_{i}",
                "product_id": product_id(reg) if i == 0 else rows[0]["product_id"],
                "model": PRODUCT,
                "version": 2 if i < fallback else 1,
                "consumer": consumer,
                "key_id": "k1",
                "inputs": json.dumps(record),
                "output": json.dumps(output),
                "served_by": "fallback" if i < fallback else "primary",
                "latency_ms": latencies[i],
                "created_at": datetime.fromtimestamp(clock // 1000 / 1e6, UTC),
            }
        )
    with reg.store.transaction() as session:
        session.execute(insert(PredictionRow), rows)
    return ids


def refuse(reg: Registry, count: int, errors: list[dict[str, str]], *, at: datetime) -> None:
    rows = [
        {
            "id": f"qr_{int(at.timestamp() * 1e9) + i * 1000:016x}{secrets.token_hex(8)}",
            "request_id": f"rq_refused_{i}",
            "product_id": product_id(reg),
            "consumer": "crm",
            "record": json.dumps({"tenure": 3}),
            "errors": json.dumps(errors),
            "created_at": at + timedelta(microseconds=i),
        }
        for i in range(count)
    ]
    with reg.store.transaction() as session:
        session.execute(insert(QuarantineRow), rows)


def runs_of(reg: Registry, kind: str) -> list[Any]:
    return reg.monitoring_runs(PRODUCT, kind=kind)


def fired(reg: Registry) -> list[str]:
    """The rules that fired, each once, in name order."""
    events = reg.audit_log(product=PRODUCT)
    return sorted({e.subject.rsplit("/", 1)[-1] for e in events if e.action == "policy.fired"})


def ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def test_a_pass_reads_each_prediction_once(reg: Registry) -> None:
    first = log(reg, inputs(600, 10), at=ago(60))
    one = run_pass(reg, PRODUCT)
    assert one.batches == 1
    assert run_pass(reg, PRODUCT).batches == 0  # nothing new: nothing read
    second = log(reg, inputs(300, 11), at=ago(30))
    two = run_pass(reg, PRODUCT)
    assert two.batches == 1
    (drift_one, drift_two) = runs_of(reg, "drift")
    assert [drift_one.result["chunks"][0]["rows"], drift_two.result["chunks"][0]["rows"]] == [
        600,
        300,
    ]
    batches = reg.atomic(_processed)
    # the last prediction id processed, and the end of the window refusals were read to
    assert json.loads(batches.watermark)["prediction"] == second[-1]
    assert [key.split("@")[0] for key in sorted(batches.keys)] == [
        f"gateway:..{first[-1]}",
        f"gateway:{first[-1]}..{second[-1]}",
    ]
    # drift compared the live inputs only: not the gateway's ids, consumer or latency
    compared = {c["column"] for c in drift_one.result["chunks"][0]["columns"]}
    assert compared == {"amount", "tenure", "region"}
    assert fired(reg) == []  # the same distribution as training: nothing drifted
    (contract,) = runs_of(reg, "contract")[:1]
    assert contract.result["ok"], contract.result


def test_shifted_inputs_drift_and_random_training_rows_do_not(reg: Registry) -> None:
    log(reg, training().sample(500, seed=3).select("amount", "tenure", "region"), at=ago(90))
    run_pass(reg, PRODUCT)
    assert fired(reg) == []
    log(reg, inputs(500, 12, shift=0.8), at=ago(60))
    run_pass(reg, PRODUCT)
    assert fired(reg) == ["drifted"]
    drifted = runs_of(reg, "drift")[-1].result["chunks"][0]
    assert [c["column"] for c in drifted["columns"] if c["drifted"]] == ["amount"]
    # the chunk's time is when the traffic happened, not when the pass ran
    assert drifted["start"] < ago(59).isoformat()


def test_refused_records_are_contract_findings(reg: Registry) -> None:
    missing = [{"field": "amount", "kind": "missing", "message": "amount: required field missing"}]
    refuse(reg, 4, missing, at=ago(120))  # before the first prediction: the first window
    log(reg, inputs(400, 13), at=ago(100))
    refuse(reg, 33, missing, at=ago(80))
    unit = [{"field": "tenure", "kind": "adapter.unit", "message": "tenure: unknown unit"}]
    refuse(reg, 3, unit, at=ago(80))
    last = log(reg, inputs(300, 14), at=ago(60))
    refuse(reg, 5, missing, at=ago(30))  # after the last prediction, before the cutoff
    run_pass(reg, PRODUCT)
    (contract,) = runs_of(reg, "contract")
    findings = contract.result["chunks"][0]["findings"]
    refused = [f for f in findings if f.get("source") == "gateway quarantine"]
    assert [(f["kind"], f["column"], f["refused"]) for f in refused] == [
        ("missing_column", "amount", 42),
        ("unit_change", "tenure", 3),
    ]
    assert refused[0]["message"].startswith(
        "the gateway refused 42 records: field amount missing (5.6% of the 745 records"
    )
    assert refused[0]["severity"] == "error"
    assert refused[0]["records"] == 745
    assert not contract.result["ok"]
    assert fired(reg) == ["fields-missing", "refused"]  # 45 / 745 > 5%
    (gateway,) = runs_of(reg, "gateway")
    first = gateway.result["chunks"][0]
    assert first["refused"] == 45
    assert last[-1] in json.loads(reg.atomic(_watermark))["prediction"]
    # the next window starts where this one ended: nothing refused is counted twice
    refuse(reg, 2, missing, at=ago(0.001))
    log(reg, inputs(200, 15), at=ago(0.002))
    run_pass(reg, PRODUCT, settle=0)
    second = runs_of(reg, "gateway")[-1].result["chunks"][0]
    assert (second["served"], second["refused"]) == (200, 2)
    assert second["window_start"] == first["window_end"]


def test_fallback_share_and_latency_rules_fire(reg: Registry) -> None:
    healthy = [10.0 + i % 50 for i in range(400)]
    log(reg, inputs(400, 16), at=ago(60), fallback=20, latency=healthy)
    run_pass(reg, PRODUCT)
    assert fired(reg) == []
    slow = [100.0] * 390 + [400.0 + i for i in range(10)]
    log(reg, inputs(400, 17), at=ago(30), fallback=120, latency=slow)
    run_pass(reg, PRODUCT)
    assert fired(reg) == ["on-fallback", "slow"]
    values = {
        o.metric: o.value
        for run in runs_of(reg, "gateway")[-1:]
        for o in observations_from_run(run)
    }
    assert values["gateway.fallback_share"] == pytest.approx(0.3)
    assert values["gateway.latency_p99"] == pytest.approx(np.percentile(slow, 99))
    assert values["gateway.error_rate"] == 0.0


def test_labels_joined_by_prediction_id_give_realized_performance(tmp_path: Path) -> None:
    with Registry(f"sqlite:///{tmp_path / 'pp.db'}", actor="monitor@example.com") as reg:
        make_product(reg, tmp_path, extra=PERFORMANCE)
        frame = inputs(500, 18)
        ids = log(reg, frame, at=ago(60))
        predicted = score(frame) >= 0.5
        truth = [bool(x) if i % 5 else not bool(x) for i, x in enumerate(predicted)]  # 80%
        for ident, label in zip(ids[:3], truth[:3], strict=True):
            reg.label_prediction(ident, label)  # POST /v1/predictions/{id}/label
        reg.ingest_labels(PRODUCT, ids[3:400], truth[3:400])  # labels ingest
        run_pass(reg, PRODUCT)
        (performance,) = runs_of(reg, "performance")
        (metric,) = performance.result["chunks"][0]["metrics"]
        expected = float(np.mean(np.array(truth[:400]) == predicted[:400]))
        assert metric["realized"] == pytest.approx(expected)
        assert metric["estimated"] is not None


def test_the_settle_time_keeps_a_just_written_prediction_for_the_next_pass(
    reg: Registry,
) -> None:
    old = log(reg, inputs(50, 19), at=ago(10))
    recent = log(reg, inputs(5, 20), at=datetime.now(UTC) - timedelta(seconds=1))
    run_pass(reg, PRODUCT)  # the default settle time: 5 s
    assert runs_of(reg, "gateway")[-1].result["chunks"][0]["served"] == 50
    assert json.loads(reg.atomic(_watermark))["prediction"] == old[-1]
    run_pass(reg, PRODUCT, settle=0.0)  # the next pass, once it settled
    assert runs_of(reg, "gateway")[-1].result["chunks"][0]["served"] == 5
    assert json.loads(reg.atomic(_watermark))["prediction"] == recent[-1]


def _processed(tx: Any) -> Any:
    from postpilot.registry import monitoring

    return monitoring.processed_batches(tx, tx.product(PRODUCT))


def _watermark(tx: Any) -> str | None:
    return str(_processed(tx).watermark)


def test_an_empty_log_is_no_batch_and_the_pass_time_bounds_the_read(reg: Registry) -> None:
    assert run_pass(reg, PRODUCT).batches == 0
    log(reg, inputs(20, 21), at=ago(60))
    source = GatewaySource(reg.store.reading, PRODUCT, now=ago(61))
    assert source.pending((), None) == []  # --as-of before the traffic: nothing yet
    source.now = None
    (batch,) = source.pending((), None)
    assert source.pending({batch.key}, None) == []  # processed already
    assert source.pending((), batch.watermark) == []  # nothing above the watermark


def test_slices_are_unified_and_the_files_removed(reg: Registry) -> None:
    pid = product_id(reg)
    at = int(ago(60).timestamp() * 1e6) * 1000
    outputs = [
        ({"amount": 1, "region": "north"}, {"prediction": "a", "probabilities": {"a": 1}}),
        ({"amount": 2, "region": "south"}, {"prediction": "b"}),
        ({"amount": 2.5, "tier": 3}, {"prediction": "c", "probabilities": {"c": 0.9}}),
        ({"amount": 4, "consumer": "x", "tags": [1]}, {"prediction": "a"}),
        ({"amount": None, "region": "east"}, {"prediction": None}),
    ]
    rows = [
        {
            "id": f"pr_{at + i:016x}{'0' * 16}",
            "request_id": "rq",
            "product_id": pid,
            "model": None,
            "version": None,
            "consumer": "crm",
            "key_id": "k",
            "inputs": json.dumps(record),
            "output": json.dumps(output),
            "served_by": "fallback",
            "latency_ms": 1.0,
            "created_at": datetime.fromtimestamp((at + i) / 1e9, UTC),
        }
        for i, (record, output) in enumerate(outputs)
    ]
    with reg.store.transaction() as session:
        session.execute(insert(PredictionRow), rows)
    source = GatewaySource(reg.store.reading, PRODUCT, slice_rows=2)
    (batch,) = source.pending((), None)
    frame = pl.read_parquet(batch.data)
    assert frame.columns[:6] == [
        "prediction_id",
        "created_at",
        "consumer",
        "served_by",
        "model_version",
        "latency_ms",
    ]
    assert frame.schema["amount"] == pl.Float64  # an integer in one slice, a float in another
    assert frame["amount"].to_list() == [1.0, 2.0, 2.5, 4.0, None]
    assert frame["tier"].to_list() == [None, None, 3, None, None]  # a field seen in slice 2
    assert frame["probability_c"].to_list() == [None, None, 0.9, None, None]
    assert frame["input_consumer"].to_list() == [None, None, None, "x", None]
    assert frame["tags"].to_list()[3] == "[1]"
    assert frame.schema["created_at"] == pl.Datetime("us", "UTC")
    assert batch.window is not None
    assert batch.window.fallback_share == 1.0
    assert "probability_a" in batch.window.columns
    assert "tier" not in batch.window.columns
    folder = source.folder
    assert sorted(p.name for p in folder.iterdir()) == ["batch-00001.parquet"]  # parts gone
    source.close()
    assert not folder.exists()
    other = open_batch_source(
        {"gateway": True}, reading=reg.store.reading, product=PRODUCT, settle=0.0
    )
    other.pending((), None)
    assert isinstance(other, GatewaySource)
    folder = other.folder
    del other
    gc.collect()
    assert not folder.exists()  # garbage collected: removed too


def test_a_monitor_pass_closes_its_source(reg: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[GatewaySource] = []
    original = GatewaySource.__init__

    def keep(self: GatewaySource, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(GatewaySource, "__init__", keep)
    log(reg, inputs(30, 22), at=ago(60))
    run_pass(reg, PRODUCT)
    (source,) = made
    assert source._folder is None  # closed: its files are gone


@pytest.mark.postgres
def test_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    with Registry(postgres_url, actor="monitor@example.com") as reg:
        make_product(reg, tmp_path)
        log(reg, inputs(300, 23), at=ago(60), fallback=90)
        refuse(reg, 3, [{"field": "amount", "kind": "missing", "message": "m"}], at=ago(61))
        assert run_pass(reg, PRODUCT).batches == 1
        assert run_pass(reg, PRODUCT).batches == 0
        log(reg, inputs(400, 24), at=ago(30))
        assert run_pass(reg, PRODUCT).batches == 1
        chunks = [r.result["chunks"][0] for r in runs_of(reg, "gateway")]
        assert [(c["served"], c["refused"]) for c in chunks] == [(300, 3), (400, 0)]
        assert fired(reg) == ["fields-missing", "on-fallback"]
