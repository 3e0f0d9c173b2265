"""A monitor pass estimates performance before labels and acts on it (CBPE), and the
default SLA rule of a product with an SLA fires without any rule in the file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from postpilot import Registry
from postpilot.policies import monitor_once
from postpilot.policies.store import apply_policy
from postpilot.registry import Sla


def scored(rows: int, seed: int, *, confident: bool) -> pl.DataFrame:
    """A calibrated binary classifier's output: confident scores (beta(0.4, 0.4)) or,
    after the inputs changed, scores crowding 0.5 (beta(6, 6)), where it errs more."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.4, 0.4, rows) if confident else rng.beta(6, 6, rows)
    return pl.DataFrame(
        {
            "x": rng.normal(0, 1, rows),
            "score": p,
            "predicted": (p >= 0.5).astype(np.int64),
            "churned": (rng.random(rows) < p).astype(np.int64),
        }
    )


POLICY = """\
schema_version: 1
source:
  path: batches/*.parquet
  performance: {problem: binary, y_true: churned, y_pred: predicted, y_score: score,
                metrics: [accuracy]}
rules: []
"""


@pytest.fixture
def product(tmp_path: Path) -> Registry:
    reg = Registry(f"sqlite:///{tmp_path / 'pp.db'}", actor="monitor@example.com")
    reg.add_person("maya@example.com", name="Maya Chen")
    reg.create_product(
        "churn",
        stage="pilot",
        owner="maya@example.com",
        sla=Sla(quality_metric="accuracy", quality_threshold=0.8),
    )
    training = tmp_path / "training.parquet"
    scored(5_000, 1, confident=True).write_parquet(training)
    reg.register_model("churn", artifact="m.joblib", flavor="sklearn", training_data=str(training))
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    apply_policy(reg, tmp_path / "policy.yaml", "churn")
    return reg


def test_estimated_accuracy_below_the_sla_opens_an_incident(
    product: Registry, tmp_path: Path
) -> None:
    batches = tmp_path / "batches"
    batches.mkdir()
    night = datetime(2026, 5, 1, 6, tzinfo=UTC)
    scored(1_000, 2, confident=True).drop("churned").write_parquet(batches / "day1.parquet")
    (first,) = monitor_once(product, "churn", now=night)
    assert first.firings == 0, first.done
    scored(1_000, 3, confident=False).drop("churned").write_parquet(batches / "day2.parquet")
    (second,) = monitor_once(product, "churn", now=night + timedelta(days=1))
    (incident,) = product.incidents(product="churn")
    assert incident.rule == "sla-estimated-accuracy"  # the default rule, from the SLA
    assert incident.assignee == "maya@example.com"
    runs = product.monitoring_runs("churn", kind="performance")
    estimates = [r.result["chunks"][0]["metrics"][0]["estimated"] for r in runs]
    assert estimates[0] > 0.8 > estimates[1]
    assert any("opened incident" in line for line in second.done)
    product.close()
