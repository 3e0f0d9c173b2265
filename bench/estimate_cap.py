"""What the reference sample cap of ``postpilot estimate`` costs in accuracy.

The estimator is fitted (and the sampling errors measured) on at most
``postpilot.performance.stream.REFERENCE_SAMPLE_ROWS`` labelled reference rows. This runs
the same estimate with the cap and with no cap, and prints per metric the largest
difference of a chunk's estimate, sampling error and threshold, each run's mean absolute
error of estimate against realized value, and how many chunks alert differently.

    python bench/estimate_cap.py synthetic REF.parquet ANA.parquet   # e.g. 10M / 1M rows
    python bench/estimate_cap.py nannyml                             # NannyML's datasets

The synthetic files come from ``tests/performance/scored_data.py`` (a calibrated binary
model); NannyML's bundled datasets are smaller than the cap, so they are run with caps
of 20,000 and 5,000 rows. Results: docs/performance.md, "Memory and the reference sample".
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import Any

import numpy as np

from postpilot.performance import stream
from postpilot.performance.results import PerformanceReport
from postpilot.performance.run import PerformanceOptions, estimate_performance

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
NO_CAP = 10**12


def _run(ref: Any, ana: Any, options: PerformanceOptions, cap: int) -> PerformanceReport:
    stream.REFERENCE_SAMPLE_ROWS = cap
    return estimate_performance(ref, ana, options)


def _values(report: PerformanceReport, metric: str, field: str) -> list[Any]:
    return [getattr(m, field) for c in report.chunks for m in c.metrics if m.metric == metric]


def _mae(report: PerformanceReport, metric: str) -> float:
    estimated, realized = _values(report, metric, "estimated"), _values(report, metric, "realized")
    pairs = zip(estimated, realized, strict=True)
    errors = [abs(e - r) for e, r in pairs if e is not None and r is not None]
    return float(np.mean(errors)) if errors else float("nan")


def compare(name: str, ref: Any, ana: Any, options: PerformanceOptions, caps: list[int]) -> None:
    start = time.perf_counter()
    full = _run(ref, ana, options, NO_CAP)
    took = time.perf_counter() - start
    print(f"\n{name}: {full.reference_rows:,} reference rows, no cap {took:.0f} s")
    for cap in caps:
        start = time.perf_counter()
        capped = _run(ref, ana, options, cap)
        took = time.perf_counter() - start
        for metric in options.metrics:
            diff = {
                field: max(
                    abs((a or 0.0) - (b or 0.0))
                    for a, b in zip(
                        _values(full, metric, field), _values(capped, metric, field), strict=True
                    )
                )
                for field in ("estimated", "sampling_error")
            }
            t, u = full.thresholds[metric], capped.thresholds[metric]
            threshold = max(
                abs((t.lower or 0.0) - (u.lower or 0.0)), abs((t.upper or 0.0) - (u.upper or 0.0))
            )
            alerts = sum(
                a != b
                for a, b in zip(
                    _values(full, metric, "alert"), _values(capped, metric, "alert"), strict=True
                )
            )
            print(
                f"| {name} | {cap:,} | {metric} | {diff['estimated']:.1e} | "
                f"{diff['sampling_error']:.1e} | {threshold:.1e} | {_mae(full, metric):.4f} | "
                f"{_mae(capped, metric):.4f} | {alerts} | {took:.0f} s |"
            )


def nannyml() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nannyml as nml
        import pandas as pd

        pd.set_option("future.infer_string", False)  # NannyML 0.13's DLE and pandas 3
    caps = [20_000, 5_000]
    ref, ana, targets = nml.datasets.load_synthetic_car_loan_dataset()
    options = PerformanceOptions(
        problem="binary", y_true="repaid", y_pred="y_pred", y_pred_proba="y_pred_proba",
        metrics=["roc_auc", "f1", "accuracy"], chunk_size=5000,
    )  # fmt: skip
    compare("car loan", ref, ana.merge(targets, on="id"), options, caps)
    ref, ana, targets = nml.datasets.load_synthetic_multiclass_classification_dataset()
    classes = ["prepaid_card", "highstreet_card", "upmarket_card"]
    options = PerformanceOptions(
        problem="multiclass", y_true="y_true", y_pred="y_pred",
        y_pred_proba={c: f"y_pred_proba_{c}" for c in classes},
        metrics=["roc_auc", "f1", "accuracy"], chunk_size=6000,
    )  # fmt: skip
    compare("multiclass", ref, ana.merge(targets, on="id"), options, caps)
    ref, ana, targets = nml.datasets.load_synthetic_car_price_dataset()
    features = [
        "car_age", "km_driven", "price_new", "accident_count", "door_count", "fuel",
        "transmission",
    ]  # fmt: skip
    options = PerformanceOptions(
        problem="regression", y_true="y_true", y_pred="y_pred", features=features,
        metrics=["mae", "rmse", "r2"], chunk_size=6000,
    )  # fmt: skip
    compare("car price", ref, ana.merge(targets, on="id"), options, caps)


def main() -> None:
    print(
        "| data | cap | metric | max diff of estimate | of sampling error | of threshold "
        "| MAE vs realized, no cap | MAE, cap | chunks alerting differently | time, cap |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    if sys.argv[1] == "nannyml":
        nannyml()
    else:
        options = PerformanceOptions(
            problem="binary", y_true="y", y_pred="pred", y_pred_proba="score",
            metrics=["roc_auc", "f1", "accuracy", "precision", "recall", "log_loss"],
        )  # fmt: skip
        compare("synthetic", sys.argv[2], sys.argv[3], options, [1_000_000, 100_000])


if __name__ == "__main__":
    main()
