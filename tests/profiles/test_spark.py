"""Profiling a Spark DataFrame on its executors gives the local engine's profile."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from postpilot.errors import InputError, MissingExtraError
from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, TemporalColumn, profile

from .helpers import assert_moments_close, exact_parts

pytestmark = [
    # mapInArrow is built on pandas_udf, which warns on every call that PySpark does not yet
    # fully support pandas 3; mapInArrow passes Arrow batches and never converts to pandas.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

ROWS = 50_000
PARTITIONS = 8
PART_KEYS = 7  # hash-partitioned into PARTITIONS, so at least one partition is empty


@pytest.fixture(scope="module", autouse=True)
def _new_york(spark: SparkSession) -> Iterator[None]:
    """Not UTC, to check that timestamps are profiled as UTC instants whatever the
    session's zone (the session is the suite's one, tests/conftest.py)."""
    key = "spark.sql.session.timeZone"
    saved = spark.conf.get(key)
    spark.conf.set(key, "America/New_York")
    try:
        yield
    finally:
        spark.conf.set(key, saved)


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    """Every kind of column Spark has a profile type for, with nulls, NaN and repeats."""
    rng = np.random.default_rng(11)
    floats = rng.normal(100.0, 25.0, ROWS)
    floats[rng.random(ROWS) < 0.02] = np.nan
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    cents = rng.integers(0, 100_000, ROWS)
    return pl.DataFrame(
        {
            "amount": floats,
            "count": rng.integers(-1_000, 1_000, ROWS),
            "id": rng.integers(0, 10**12, ROWS),
            "price": pl.Series([Decimal(int(c)) / 100 for c in cents], dtype=pl.Decimal(10, 2)),
            "channel": rng.choice(["web", "app", "store", ""], ROWS),
            "member": rng.random(ROWS) < 0.3,
            "at": [start + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 10**8, ROWS)],
            "day": [
                dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 900, ROWS)
            ],
            "empty": pl.Series([None] * ROWS, dtype=pl.Null),
            "part": pl.int_range(ROWS, eager=True) % PART_KEYS,
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) % (13 + i) == 0).then(None).otherwise(pl.col(c)).alias(c)
        for i, c in enumerate(["amount", "count", "id", "price", "channel", "member", "at", "day"])
    )


@pytest.fixture(scope="module")
def spark_frame(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    """``frame`` in Spark, in PARTITIONS partitions, some of them empty."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return spark.createDataFrame(table).repartition(PARTITIONS, "part")


@pytest.fixture(scope="module")
def local(frame: pl.DataFrame) -> Profile:
    return profile(frame)


@pytest.fixture(scope="module")
def distributed(spark_frame: DataFrame) -> Profile:
    return profile(spark_frame)


def test_spark_frame_has_empty_partitions(spark_frame: DataFrame) -> None:
    assert spark_frame.rdd.getNumPartitions() == PARTITIONS
    filled = spark_frame.select(F.spark_partition_id().alias("p")).distinct().count()
    assert 1 < filled < PARTITIONS


def test_exact_parts_equal_the_local_engine(distributed: Profile, local: Profile) -> None:
    assert distributed.columns == local.columns
    assert exact_parts(distributed) == exact_parts(local)
    assert_moments_close(distributed, local)
    assert [c.type for c in distributed] == [
        "float",
        "int",
        "int",
        "float",
        "string",
        "bool",
        "datetime",
        "date",
        "null",
        "int",
    ]
    at, local_at = distributed.column("at"), local.column("at")
    assert isinstance(at, TemporalColumn)
    assert isinstance(local_at, TemporalColumn)
    assert at.timezone == local_at.timezone == "UTC"
    assert (at.earliest, at.latest) == (local_at.earliest, local_at.latest)
    channel = distributed.column("channel")
    assert isinstance(channel, CategoricalColumn)
    assert channel.exact_counts


def test_sketches_within_their_stated_error(distributed: Profile, frame: pl.DataFrame) -> None:
    for name in ("amount", "count", "id", "price", "at", "day"):
        column = distributed.column(name)
        assert isinstance(column, NumericColumn)
        series = frame.get_column(name)
        if series.dtype.is_temporal():
            series = series.dt.epoch("us")
        values = series.cast(pl.Float64).drop_nulls().drop_nans().sort().to_numpy()
        assert column.kll.n == len(values), name
        eps = column.rank_error
        for q in (0.01, 0.1, 0.5, 0.9, 0.99):
            value = column.quantile(q)
            assert value is not None
            assert np.searchsorted(values, value, side="left") / len(values) <= q + eps, name
            assert np.searchsorted(values, value, side="right") / len(values) >= q - eps, name
        estimate = column.distinct_count(std_devs=3)
        assert estimate.lower <= len(np.unique(values)) <= estimate.upper, name


def test_options_reach_the_executors(spark_frame: DataFrame, frame: pl.DataFrame) -> None:
    options = {"kll_k": 64, "hll_lg_k": 8, "frequent_lg_size": 7, "max_exact_values": 3}
    columns = ["channel", "amount"]
    distributed = profile(spark_frame, columns=columns, batch_size=1_000, **options)
    local = profile(frame, columns=columns, **options)
    assert distributed.columns == ("channel", "amount")
    assert exact_parts(distributed) == exact_parts(local)
    amount = distributed.column("amount")
    assert isinstance(amount, NumericColumn)
    assert amount.kll.k == 64
    assert amount.hll.lg_config_k == 8
    channel = distributed.column("channel")
    assert isinstance(channel, CategoricalColumn)
    assert not channel.exact_counts  # four values, over max_exact_values
    assert channel.frequent_lg_size == 7


def test_no_rows_gives_the_typed_empty_profile(spark_frame: DataFrame, frame: pl.DataFrame) -> None:
    distributed = profile(spark_frame.where(F.lit(False)))
    local = profile(frame.clear())
    assert distributed.rows == 0
    assert exact_parts(distributed) == exact_parts(local)
    at = distributed.column("at")
    assert isinstance(at, TemporalColumn)
    assert at.timezone == "UTC"


def test_unsupported_type_names_the_column(spark_frame: DataFrame) -> None:
    nested = spark_frame.withColumn("tags", F.array(F.col("channel")))
    with pytest.raises(InputError, match="array<string>") as info:
        profile(nested)
    assert info.value.field == "tags"


def test_unknown_column_is_named(spark_frame: DataFrame) -> None:
    with pytest.raises(InputError, match="the Spark DataFrame has no column 'nope'") as info:
        profile(spark_frame, columns=["nope"])
    assert info.value.field == "nope"


def test_names_with_dots_and_backticks(spark: SparkSession) -> None:
    odd = spark.sql("SELECT 1.5 AS `a.b`, 'x' AS `c``d`, 3 AS a, 4 AS a")
    picked = profile(odd, columns=["c`d", "a.b"])
    assert picked.columns == ("c`d", "a.b")
    dotted = picked.column("a.b")
    assert isinstance(dotted, NumericColumn)
    assert (dotted.type, dotted.max) == ("float", 1.5)
    with pytest.raises(InputError, match="has column 'a' more than once") as info:
        profile(odd)
    assert info.value.field == "a"


def test_failed_job_is_an_input_error(spark_frame: DataFrame) -> None:
    broken = spark_frame.select(F.raise_error(F.lit("the source is gone")))
    with pytest.raises(InputError, match=r"the Spark job failed: .*the source is gone") as info:
        profile(broken)
    assert info.value.field == "data"
    assert "\n" not in str(info.value)


def test_other_pyspark_objects_are_refused() -> None:
    with pytest.raises(InputError, match=r"cannot profile a pyspark\.sql\.types\.Row"):
        profile(Row(a=1))


def test_missing_pyspark_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'postpilot\[spark\]'") as info:
        profile(Row(a=1))
    assert info.value.package == "pyspark"
    assert info.value.extra == "spark"


def test_daily_chunks_profiled_by_spark_give_drift_without_raw_data(spark: SparkSession) -> None:
    """A table too big for one machine: Spark profiles each day, drift runs on the profiles."""
    from postpilot.monitoring.chunked import ChunkProfile
    from postpilot.monitoring.chunking import Chunk
    from postpilot.monitoring.run import drift_from_profiles

    rng = np.random.default_rng(7)
    days = [f"2026-11-{d:02d}" for d in range(20, 25)]
    rows = [
        Row(day=day, amount=float(v), plan=str(p))
        for day in days
        for v, p in zip(
            rng.normal(150.0 if day == days[-1] else 100.0, 15.0, 4000),
            rng.choice(["basic", "pro"], 4000),
            strict=True,
        )
    ]
    table = spark.createDataFrame(rows).repartition(4)
    reference = profile(
        spark.createDataFrame(
            [Row(amount=float(v), plan=str(p)) for v, p in zip(
                rng.normal(100.0, 15.0, 8000), rng.choice(["basic", "pro"], 8000), strict=True
            )]
        ),
        kll_k=1000,
    )  # fmt: skip
    chunks = [
        ChunkProfile(
            Chunk(key=day, start=day, end=day, rows=4000),
            profile(table.filter(F.col("day") == day).drop("day"), kll_k=1000),
        )
        for day in days
    ]
    report = drift_from_profiles(reference, chunks)
    assert report.drifted_columns == ["amount"]
    assert [c.key for c in report.chunks if c.drifted_columns] == [days[-1]]
