"""Observations from real stored runs: drift, performance and contract runs made by postpilot's
own functions on small data, stored and read back, so the shapes are the real ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import polars as pl
import pytest

from postpilot import Registry
from postpilot.contracts import check_contract, infer_contract
from postpilot.contracts.findings import CheckResult, Kind, Severity
from postpilot.monitoring.results import DriftReport
from postpilot.monitoring.run import DriftOptions, run_drift
from postpilot.performance.results import PerformanceReport
from postpilot.performance.run import PerformanceOptions, estimate_performance
from postpilot.policies.observations import (
    Observation,
    chunk_id,
    observations_from_run,
    orphan_observations,
    silence_observation,
)
from postpilot.registry.monitoring import MonitoringRun

PER_DAY = 800


def cid(run: Any, key: str) -> str:
    """The observation chunk id of the run's chunk ``key``."""
    keys = [str(c.get("key")) for c in run.result["chunks"]]
    return chunk_id(run.id, keys.index(str(key)), str(key))


def _days(rng: np.random.Generator, first: datetime, days: int, shift: float = 0.0) -> pl.DataFrame:
    """``days`` days of ``PER_DAY`` rows; ``x`` is shifted by ``shift`` standard deviations."""
    rows = days * PER_DAY
    step = timedelta(days=1) / PER_DAY
    return pl.DataFrame(
        {
            "ts": [
                first + (i // PER_DAY) * timedelta(days=1) + (i % PER_DAY) * step
                for i in range(rows)
            ],
            "a": rng.normal(0, 1, rows),
            "b": rng.choice(["u", "v", "w"], rows).tolist(),
            "x": rng.normal(shift, 1, rows),
        }
    )


@pytest.fixture
def reg() -> Iterator[Registry]:
    registry = Registry("sqlite:///:memory:", actor="tester@example.com")
    registry.create_product("churn")
    try:
        yield registry
    finally:
        registry.close()


def _store(reg: Registry, kind: str, result: dict[str, Any], alert: bool = False) -> MonitoringRun:
    """Store a run as the CLI does and read it back through the registry (JSON and all)."""
    reg.record_monitoring(
        "churn", kind=kind, reference="ref", current="cur", alert=alert, result=result, chunks=[]
    )
    return reg.monitoring_runs("churn", kind=kind)[-1]


def _values(observations: list[Observation], metric: str) -> dict[tuple[str, str | None], float]:
    return {(o.chunk, o.subject): o.value for o in observations if o.metric == metric}


@pytest.fixture(scope="module")
def drift_report() -> DriftReport:
    """Daily chunks where exactly ``x`` drifts (by 1.5 standard deviations)."""
    rng = np.random.default_rng(7)
    reference = _days(rng, datetime(2026, 3, 1), 4)
    current = _days(rng, datetime(2026, 3, 10), 3, shift=1.5)
    report = run_drift(reference, current, DriftOptions(chunk_period="day", timestamp="ts"))
    assert [c.drifted_columns for c in report.chunks] == [["x"]] * 3
    return report


def test_a_drift_run_where_only_x_drifts(reg: Registry, drift_report: DriftReport) -> None:
    run = _store(reg, "drift", drift_report.to_dict(), drift_report.alert)
    observations = observations_from_run(run)
    keys = ["2026-03-10", "2026-03-11", "2026-03-12"]
    chunks = [cid(run, key) for key in keys]
    features = _values(observations, "drift.feature")
    assert features == {
        (chunk, column): 1.0 if column == "x" else 0.0
        for chunk in chunks
        for column in ("a", "b", "x")
    }
    assert _values(observations, "drift.share") == {(c, None): 1 / 3 for c in chunks}
    assert _values(observations, "drift.multivariate") == {
        (cid(run, c.key), None): c.multivariate.value
        for c in drift_report.chunks
        if c.multivariate is not None
    }
    assert len(_values(observations, "drift.multivariate")) == 3
    for o in observations:
        assert o.run_id == run.id
        assert o.severity is None
        assert o.at == datetime.fromisoformat(o.chunk.split(":", 1)[1]).replace(tzinfo=UTC)
    assert {o.metric for o in observations} == {
        "drift.share",
        "drift.feature",
        "drift.multivariate",
    }


def test_columns_the_run_lost_count_as_drifted_as_in_its_verdict(reg: Registry) -> None:
    rng = np.random.default_rng(8)
    reference = _days(rng, datetime(2026, 3, 1), 3)
    current = _days(rng, datetime(2026, 3, 10), 2, shift=1.5).drop("b")
    report = run_drift(reference, current, DriftOptions(chunk_period="day", timestamp="ts"))
    run = _store(reg, "drift", report.to_dict(), report.alert)
    observations = observations_from_run(run)
    flagged = {o.subject for o in observations if o.metric == "drift.feature" and o.value == 1.0}
    assert flagged == set(run.result["drifted_columns"]) == {"x", "b"}
    shares = _values(observations, "drift.share")
    assert shares == {(cid(run, c.key), None): 2 / 3 for c in report.chunks}  # x, b of a, x, b


def test_a_change_named_for_some_chunks_counts_in_those_only(
    reg: Registry, drift_report: DriftReport
) -> None:
    result = drift_report.to_dict()
    result["schema_changes"] = [
        {"column": "c", "change": "all_null", "severity": "drift", "chunks": ["2026-03-11"]},
        {"column": "d", "change": "new_column", "severity": "info", "chunks": []},
    ]
    observations = observations_from_run(_store(reg, "drift", result))
    shares = [o.value for o in observations if o.metric == "drift.share"]
    assert shares == [1 / 3, 2 / 4, 1 / 3]
    lost = [(o.chunk.split(":", 1)[1], o.value) for o in observations if o.subject in ("c", "d")]
    assert lost == [("2026-03-11", 1.0)]


@pytest.fixture(scope="module")
def performance_report() -> PerformanceReport:
    rng = np.random.default_rng(3)

    def scored(n: int, shift: float) -> pl.DataFrame:
        x = rng.normal(shift, 1.0, n)
        score = 1 / (1 + np.exp(-2 * x))
        y = (rng.random(n) < score).astype(int)
        return pl.DataFrame({"x": x, "score": score, "pred": (score >= 0.5).astype(int), "y": y})

    reference = scored(6000, 0.0)
    analysis = pl.concat([scored(1000, 0.0), scored(1000, 0.8), scored(1000, -0.8)])
    labelled = pl.int_range(pl.len()) < 2000  # the last chunk has no labels yet
    analysis = analysis.with_columns(pl.when(labelled).then(pl.col("y")).alias("y"))
    options = PerformanceOptions(
        problem="binary",
        y_true="y",
        y_pred="pred",
        y_pred_proba="score",
        metrics=["roc_auc", "f1"],
        chunk_size=1000,
    )
    return estimate_performance(reference, analysis, options)


def test_a_performance_run_gives_the_reports_estimates(
    reg: Registry, performance_report: PerformanceReport
) -> None:
    run = _store(reg, "performance", performance_report.to_dict(), performance_report.alert)
    observations = observations_from_run(run)
    estimated = _values(observations, "performance.estimated")
    realized = _values(observations, "performance.realized")
    report = performance_report
    assert estimated == {
        (cid(run, c.key), m.metric): m.estimated for c in report.chunks for m in c.metrics
    }
    assert len(estimated) == 6
    assert realized == {
        (cid(run, c.key), m.metric): m.realized
        for c in report.chunks
        for m in c.metrics
        if m.realized is not None
    }
    assert {chunk for chunk, _ in realized} == {cid(run, "0"), cid(run, "1")}  # chunk 2: no labels
    assert all(o.at == run.created_at for o in observations)  # row chunks have no time
    assert run.created_at.tzinfo is not None


def _contract_result(results: list[tuple[str, str | None, CheckResult]]) -> dict[str, Any]:
    """The result the monitor stores for a contract run (see ``_contract`` in observations)."""
    return {
        "contract": results[0][2].contract,
        "chunks": [
            {
                "key": key,
                "start": start,
                "end": start,
                "rows": result.rows,
                "findings": [f.to_dict() for f in result.findings],
            }
            for key, start, result in results
        ],
    }


def test_a_contract_run_counts_findings_by_kind_and_severity(reg: Registry) -> None:
    rng = np.random.default_rng(9)
    contract = infer_contract(_days(rng, datetime(2026, 3, 1), 2), name="scores")
    clean = check_contract(contract, _days(rng, datetime(2026, 3, 3), 1))
    broken = check_contract(contract, _days(rng, datetime(2026, 3, 4), 1).drop("a", "b"))
    assert clean.findings == []
    assert [(f.kind, f.severity) for f in broken.findings] == [
        (Kind.MISSING_COLUMN, Severity.ERROR)
    ] * 2
    result = _contract_result(
        [("2026-03-03", "2026-03-03", clean), ("2026-03-04", "2026-03-04T06:00:00+02:00", broken)]
    )
    run = _store(reg, "contract", result, alert=True)
    observations = observations_from_run(run)
    every = {(k.value, s.value) for k in Kind for s in Severity}
    for key in ("2026-03-03", "2026-03-04"):
        counts = {
            (o.subject, o.severity): o.value
            for o in observations
            if o.chunk == cid(run, key) and o.metric == "contract.findings"
        }
        assert set(counts) == every
        two = 2.0 if key == "2026-03-04" else 0.0
        assert counts == {
            pair: two if pair == ("missing_column", "error") else 0.0 for pair in every
        }
    ats = sorted({o.at for o in observations})
    assert ats == [datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, 4, tzinfo=UTC)]


def test_chunk_ids_are_unique_across_runs_with_the_same_chunk_keys(
    reg: Registry, drift_report: DriftReport
) -> None:
    first = observations_from_run(_store(reg, "drift", drift_report.to_dict()))
    second = observations_from_run(_store(reg, "drift", drift_report.to_dict()))
    assert {o.chunk for o in first}.isdisjoint({o.chunk for o in second})
    assert [(o.metric, o.subject, o.value) for o in first] == [
        (o.metric, o.subject, o.value) for o in second
    ]


def test_other_kinds_of_run_give_nothing() -> None:
    run = MonitoringRun(
        1, "churn", "profile", "", "", False, {"chunks": [{"key": "0"}]}, "t", datetime.now(UTC)
    )
    assert observations_from_run(run) == []


def test_silence_is_hours_since_the_last_data_or_since_monitoring_began() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    began = datetime(2026, 3, 1, tzinfo=UTC)
    last = datetime(2026, 3, 8, 12, tzinfo=timezone(timedelta(hours=2)))  # 10:00 UTC
    got = silence_observation(last, now, since=began)
    assert got == Observation("data.silence", 50.0, now, f"silence/{now.isoformat()}")
    assert silence_observation(None, now, since=began).value == 9.5 * 24
    assert silence_observation(now + timedelta(hours=1), now, since=began).value == 0.0


def test_an_orphaned_role_is_one_and_the_others_zero(reg: Registry) -> None:
    reg.add_person("maya@example.com", name="Maya Chen")
    reg.add_person("dev@example.com", name="Dev Patel")
    reg.assign_role("churn", "owner", "maya@example.com")
    reg.assign_role("churn", "monitoring_lead", "dev@example.com")
    reg.add_source("churn", "events", steward="dev@example.com")
    now = datetime(2026, 3, 10, tzinfo=UTC)
    before = {o.subject: o.value for o in orphan_observations(reg.product("churn"), now)}
    assert before == dict.fromkeys(
        ["owner", "data_steward", "integration_lead", "training_lead", "monitoring_lead"], 0.0
    )
    reg.deactivate_person("dev@example.com")
    after = orphan_observations(reg.product("churn"), now)
    assert {o.subject: o.value for o in after} == {
        **before,
        "monitoring_lead": 1.0,
        "data_steward": 1.0,  # the steward of a source
    }
    assert {(o.metric, o.chunk, o.at) for o in after} == {
        ("roles.orphaned", f"roles/{now.isoformat()}", now)
    }
