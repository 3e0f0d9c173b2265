"""``--engine spark`` gives the local engine's answers: the same drifted columns, the same
per-chunk estimates (to 1e-6), the same contract findings, on the same files.

Local mode, one session for the module (tests/spark/conftest.py); small files split
into several Spark partitions (``spark.sql.files.maxPartitionBytes``), so that rows are
numbered across partitions and files and partial profiles are merged.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from pyspark.sql import SparkSession

from postpilot.contracts import check_contract
from postpilot.errors import InputError, MissingExtraError
from postpilot.monitoring.run import DriftOptions, run_drift
from postpilot.performance.run import PerformanceOptions, estimate_performance
from postpilot.spark import estimate_performance_spark, run_drift_spark, session
from tests.contracts.data import crm, migrated
from tests.helpers import Run, as_json
from tests.monitoring.planted import DRIFTED, frame
from tests.spark.conftest import PANDAS_3

pytestmark = pytest.mark.filterwarnings(PANDAS_3)

ROWS = 4_000


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark-engine")
    frame(ROWS, 1).write_parquet(folder / "reference.parquet", row_group_size=500)
    frame(ROWS, 2, drift=True).write_parquet(folder / "current.parquet", row_group_size=500)
    frame(300, 2).write_csv(folder / "small.csv")
    reference, analysis = _scored(3_000, 1, 0.0), _scored(5_000, 2, 0.6)
    reference.write_parquet(folder / "scored_reference.parquet", row_group_size=400)
    analysis.write_parquet(folder / "scored.parquet")  # the local engine reads one file
    parts = folder / "scored_parts"  # Spark reads the folder: rows in the files' path order
    parts.mkdir()
    analysis.slice(0, 2_000).write_parquet(parts / "part-0.parquet", row_group_size=400)
    analysis.slice(2_000).write_parquet(parts / "part-1.parquet", row_group_size=400)
    crm(4_000, seed=1).write_parquet(folder / "train.parquet")
    migrated(1_500, seed=3).write_parquet(folder / "migrated.parquet")
    return folder


@pytest.fixture(scope="module")
def small_partitions(spark: SparkSession) -> Iterator[None]:
    key = "spark.sql.files.maxPartitionBytes"
    saved = spark.conf.get(key)
    spark.conf.set(key, "48000")  # a few partitions per file
    try:
        yield
    finally:
        spark.conf.set(key, saved)


def _scored(rows: int, seed: int, shift: float) -> pl.DataFrame:
    """A binary classifier's outputs and labels; ``shift`` moves its input."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, rows)
    score = 1 / (1 + np.exp(-2 * x))
    start = datetime(2026, 3, 2)
    return pl.DataFrame(
        {
            "x": x,
            "noise": rng.normal(size=rows),
            "score": score,
            "pred": (score > 0.5).astype(np.int64),
            "label": (rng.random(rows) < score).astype(np.int64),
            "ts": [start + timedelta(minutes=5 * k) for k in range(rows)],
        }
    )


def _flags(report: Any) -> list[tuple[str, list[str]]]:
    return [(c.key, c.drifted_columns) for c in report.chunks]


def test_drift_flags_the_local_engines_columns_on_planted_drift(
    cli: Run, files: Path, spark: SparkSession
) -> None:
    reference, current = str(files / "reference.parquet"), str(files / "current.parquet")
    args = ["drift", reference, current, "--chunk-size", "1000", "-f", "json", "--engine", "spark"]
    on_spark = as_json(cli(*args, expect=1))
    local = run_drift(reference, current, DriftOptions(chunk_size=1_000))
    assert on_spark["drifted_columns"] == local.drifted_columns == DRIFTED
    flagged = [[r["column"] for r in c["columns"] if r["drifted"]] for c in on_spark["chunks"]]
    assert [(c["key"], c["rows"]) for c in on_spark["chunks"]] == [
        (c.key, c.rows) for c in local.chunks
    ]
    assert flagged == [c.drifted_columns for c in local.chunks]
    assert [c["key"] for c in on_spark["chunks"]] == ["0", "1", "2", "3"]
    # the multivariate detector ran on its per-chunk samples (every row: chunks < cap)
    values = [c["multivariate"]["value"] for c in on_spark["chunks"]]
    assert values == pytest.approx([c.multivariate.value for c in local.chunks], rel=1e-9)

    weekly = DriftOptions(chunk_period="week", timestamp="ts", multivariate=False)
    key = "spark.sql.files.maxPartitionBytes"
    saved = spark.conf.get(key)
    spark.conf.set(key, "48000")  # several partitions per file: partial profiles merged
    try:
        by_week = run_drift_spark(reference, current, weekly, spark=spark)
    finally:
        spark.conf.set(key, saved)
    assert _flags(by_week) == _flags(run_drift(reference, current, weekly))
    assert by_week.drifted_columns == DRIFTED


@pytest.mark.usefixtures("small_partitions")
def test_estimate_per_chunk_equals_the_local_engine(
    cli: Run, files: Path, spark: SparkSession
) -> None:
    reference = str(files / "scored_reference.parquet")
    local_file, folder = str(files / "scored.parquet"), str(files / "scored_parts")
    binary = PerformanceOptions(
        problem="binary",
        y_true="label",
        metrics=["roc_auc", "f1", "accuracy"],
        y_pred="pred",
        y_pred_proba="score",
    )
    args = ["estimate", "--reference", reference, "--analysis", folder, "--problem", "binary"]
    args += ["--y-true", "label", "--y-pred", "pred", "--y-pred-proba", "score"]
    args += ["-m", "roc_auc,f1,accuracy", "-f", "json", "--engine", "spark"]
    local = estimate_performance(reference, local_file, binary)
    result = cli(*args, "--spark-format", "parquet", expect=1 if local.alert else 0)
    on_spark = json.loads(result.stdout)
    _assert_same_chunks(on_spark, local.to_dict())
    assert len(on_spark["chunks"]) == 10  # the default: ten chunks of the analysis rows
    weekly = PerformanceOptions(
        problem="regression",
        y_true="label",
        metrics=["mae", "rmse"],
        y_pred="score",
        features=["x", "noise"],
        chunk_period="week",
        timestamp="ts",
    )
    by_week = estimate_performance_spark(reference, folder, weekly, spark=spark)
    _assert_same_chunks(
        by_week.to_dict(), estimate_performance(reference, local_file, weekly).to_dict()
    )
    assert [c.key for c in by_week.chunks] == ["2026-03-02", "2026-03-09", "2026-03-16"]


def _assert_same_chunks(on_spark: dict[str, Any], local: dict[str, Any]) -> None:
    for side in ("chunks", "reference_chunks"):
        assert [(c["key"], c["rows"], c["labelled"]) for c in on_spark[side]] == [
            (c["key"], c["rows"], c["labelled"]) for c in local[side]
        ]
        for mine, theirs in zip(on_spark[side], local[side], strict=True):
            for a, b in zip(mine["metrics"], theirs["metrics"], strict=True):
                assert a["metric"] == b["metric"]
                for field in ("estimated", "realized", "lower", "upper"):
                    if b[field] is None:
                        assert a[field] is None
                    else:
                        assert abs(a[field] - b[field]) <= 1e-6, (mine["key"], a["metric"], field)
                assert a["alert"] == b["alert"]
    assert on_spark["thresholds"] == local["thresholds"]


def test_contract_check_gives_the_local_findings(
    cli: Run, files: Path, spark: SparkSession
) -> None:
    contract = files / "crm.yaml"
    cli("contract", "infer", str(files / "train.parquet"), "-o", str(contract), "--no-store")
    spark.read.parquet(str(files / "migrated.parquet")).write.saveAsTable("migrated_batch")
    on_spark = as_json(
        cli(
            "contract",
            "check",
            str(contract),
            "migrated_batch",
            "-f",
            "json",
            "--engine",
            "spark",
            expect=1,
        )
    )
    local = check_contract(contract, str(files / "migrated.parquet")).to_dict()
    assert (on_spark["ok"], on_spark["rows"]) == (local["ok"], local["rows"])
    # the same findings; a message that quotes a quantile may differ in its last digits
    # (KLL sketches are randomised: two local runs differ as much)
    assert _findings(on_spark) == _findings(local)
    assert "likely_rename" in {f["kind"] for f in on_spark["findings"]}
    path = str(files / "migrated.parquet")
    args = ["contract", "check", str(contract), path, "-f", "json", "--engine", "spark"]
    assert _findings(as_json(cli(*args, "--spark-format", "parquet", expect=1))) == _findings(local)


def _findings(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((f["kind"], str(f["column"]), f["severity"]) for f in result["findings"])


def test_a_missing_table_is_one_line_naming_it(cli: Run, spark: SparkSession) -> None:
    result = cli("drift", "no_such_db.events", "no_such_db.events", "--engine", "spark", expect=2)
    assert "no_such_db.events" in result.stderr
    assert "TABLE_OR_VIEW_NOT_FOUND" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the message and its hint


def test_chunks_of_rows_need_a_row_order(files: Path, spark: SparkSession) -> None:
    csv = str(files / "small.csv")
    with pytest.raises(InputError, match="no row order for Spark") as caught:
        run_drift_spark(csv, csv, DriftOptions(chunk_size=100), spark=spark)
    assert caught.value.field == "chunk_size"
    filtered = spark.read.parquet(str(files / "reference.parquet")).where("f2 > 10")
    with pytest.raises(InputError, match="left out") as caught:
        run_drift_spark(filtered, filtered, DriftOptions(chunk_size=100), spark=spark)
    assert caught.value.field == "chunk_size"
    # by period, a CSV needs no order
    daily = DriftOptions(chunk_period="day", timestamp="ts", multivariate=False)
    report = run_drift_spark(csv, csv, daily, spark=spark)
    assert [c.rows for c in report.chunks] == [144, 144, 12]


def test_spark_format_reads_a_path_whose_suffix_says_nothing(
    cli: Run, files: Path, spark: SparkSession
) -> None:
    """CSV files named ``.txt``: read as CSV with ``--spark-format csv`` (without it, the
    engine would read them as Parquet, the default for a path without a known suffix)."""
    small, scored = files / "small.txt", files / "scored_reference.txt"
    small.write_text((files / "small.csv").read_text())
    _scored(600, 1, 0.0).write_csv(scored)
    fmt = ["--engine", "spark", "--spark-format", "csv", "-f", "json"]
    drift = as_json(cli("drift", str(small), str(small), "--no-multivariate", *fmt))
    assert sum(c["rows"] for c in drift["chunks"]) == 300
    args = ["--reference", str(scored), "--analysis", str(scored), "--problem", "binary"]
    args += ["--y-true", "label", "--y-pred", "pred", "--y-pred-proba", "score", "-m", "accuracy"]
    args += ["--chunk-period", "day", "--timestamp", "ts"]  # a CSV has no row order
    estimate = as_json(cli("estimate", *args, *fmt))
    assert sum(c["rows"] for c in estimate["chunks"]) == 600
    contract = files / "small.yaml"
    cli("contract", "infer", str(files / "small.csv"), "-o", str(contract), "--no-store")
    checked = as_json(cli("contract", "check", str(contract), str(small), *fmt))
    assert checked["rows"] == 300


ESTIMATE = ["--problem", "binary", "--y-true", "label", "-m", "accuracy"]


@pytest.mark.parametrize(
    "command",
    [
        ["drift", "{path}", "{path}"],
        ["estimate", "--reference", "{path}", "--analysis", "{path}", *ESTIMATE],
        ["contract", "check", "{path}.yaml", "{path}"],
    ],
    ids=["drift", "estimate", "contract check"],
)
def test_spark_format_needs_the_spark_engine(cli: Run, files: Path, command: list[str]) -> None:
    path = str(files / "reference.parquet")
    args = [arg.format(path=path) for arg in command]
    result = cli(*args, "--spark-format", "parquet", expect=2)
    assert "--spark-format is for --engine spark" in result.stderr


def test_without_pyspark_the_error_names_the_extra(
    cli: Run, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    with pytest.raises(MissingExtraError, match="pyspark"):
        session()
    path = str(files / "reference.parquet")
    result = cli("drift", path, path, "--engine", "spark", expect=2)
    assert "pip install 'postpilot[spark]'" in result.stderr
