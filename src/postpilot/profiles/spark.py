"""Profile a Spark DataFrame where its data lives, then merge the parts on the driver.

``profile(spark_df)`` reads the data once. On the executors, ``mapInArrow`` hands
each partition's Arrow record batches to the local engine (``profile()`` on a
``pyarrow.RecordBatchReader``, re-chunked to ``batch_size`` rows), and the
partition's profile comes back as one row of one binary column
(``Profile.to_bytes``). The driver collects those rows and merges them
(``Profile.merge``). The result is the local engine's on the same rows: exactly
for counts, nulls, NaNs, min, max, moments and exact value counts; within the
sketches' stated error for quantiles, distinct counts and frequent items.

Column types are those the local engine gives the Arrow types Spark sends:

========================================  ===============
Spark type                                observed type
========================================  ===============
byte, short, int, long                    ``"int"``
float, double, decimal                    ``"float"``
timestamp, timestamp_ntz                  ``"datetime"``
date                                      ``"date"``
time                                      ``"time"``
interval day to second                    ``"duration"``
string, char, varchar                     ``"string"``
boolean                                   ``"bool"``
void (only nulls, no type)                ``"null"``
========================================  ===============

A user-defined type is profiled as its SQL type. Arrays, maps, structs,
binary, variants and the other types raise InputError naming the column before
any job runs. A ``timestamp`` is an instant: whatever
``spark.sql.session.timeZone`` is, it is profiled in ``"UTC"``, so profiles
taken in sessions with different time zones still merge (``timestamp_ntz``
has no zone). An empty partition contributes nothing; a DataFrame without
rows gives the profile of an empty table with its columns and types.

The executors import postpilot, so it must be installed there (the same
version as on the driver), with PySpark's own needs for ``mapInArrow``
(pyarrow and pandas). The driver receives one partial profile per non-empty
partition, about 9 KiB per numeric column at the default sketch sizes, and
``spark.driver.maxResultSize`` (1 GiB by default) has to allow their sum: for
many thousands of partitions and wide tables, raise it or profile
``df.coalesce(n)``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Final

import pyarrow as pa

from postpilot.errors import InputError, MissingExtraError
from postpilot.profiles.accumulator import Settings
from postpilot.profiles.profile import Profile
from postpilot.profiles.profiler import profile
from postpilot.profiles.readers import _check_columns

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import DataType

__all__ = ["profile_spark"]

_RESULT: Final = "profile"  # the one binary column each partition returns
_UTC: Final = "UTC"


def profile_spark(
    data: object, *, columns: Sequence[str] | None, batch_size: int, settings: Settings
) -> Profile:
    """Profile a Spark DataFrame on its executors; see the module docstring."""
    try:
        from pyspark.errors import PySparkException
        from pyspark.sql import DataFrame
    except ImportError as exc:
        raise MissingExtraError("pyspark", "spark", "Profiling a Spark DataFrame") from exc
    if not isinstance(data, DataFrame):
        kind = type(data)
        raise InputError(
            f"cannot profile a {kind.__module__}.{kind.__qualname__}",
            field="data",
            hint="Pass a pyspark.sql.DataFrame; for a pandas-on-Spark DataFrame, its .to_spark()",
        )
    try:
        selected, names, schema = _select(data, columns)
        job: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]] = functools.partial(
            _profile_partition, names=names, batch_size=batch_size, settings=settings
        )
        rows = selected.mapInArrow(job, f"{_RESULT} binary").collect()
    except PySparkException as exc:
        raise InputError(f"the Spark job failed: {_spark_message(exc)}", field="data") from exc
    if not rows:  # no partition had rows
        return _profile_batches(iter(()), schema, batch_size, settings)
    return functools.reduce(Profile.merge, (Profile.from_bytes(bytes(row[0])) for row in rows))


def _select(
    frame: DataFrame, columns: Sequence[str] | None
) -> tuple[DataFrame, list[str], pa.Schema]:
    """The columns to profile, renamed ``_0``, ``_1``...; their names; their Arrow schema.

    PySpark's ``mapInArrow`` looks each column up by name, which fails for names
    with dots or backticks: the columns travel under positional names instead.
    """
    available = frame.columns
    names = _check_columns(available, columns, label="the Spark DataFrame")
    for name in names:
        if available.count(name) > 1:
            raise InputError(
                f"the Spark DataFrame has column '{name}' more than once",
                field=name,
                hint="Give each column its own name with alias() or withColumnRenamed()",
            )
    positional = [f"_{i}" for i in range(len(available))]
    frame = frame.toDF(*positional).select(*(positional[available.index(n)] for n in names))
    fields = []
    for name, field in zip(names, frame.schema.fields, strict=True):
        arrow = _arrow_type(field.dataType)
        if arrow is None:
            raise InputError(
                f"column '{name}' has type {field.dataType.simpleString()}, "
                "which cannot be profiled",
                field=name,
                hint="Profile numbers, strings, booleans, dates and times; leave this column "
                "out with columns=[...]",
            )
        fields.append(pa.field(name, arrow))
    return frame, names, pa.schema(fields)


def _arrow_type(dtype: DataType) -> pa.DataType | None:
    """The Arrow type of a ``dtype`` column (timestamps in UTC); None if it is unsupported."""
    from pyspark.sql import types as t

    if isinstance(dtype, t.UserDefinedType):
        return _arrow_type(dtype.sqlType())
    if isinstance(dtype, t.TimestampType):
        return pa.timestamp("us", tz=_UTC)
    if isinstance(dtype, t.DecimalType):
        return pa.decimal128(dtype.precision, dtype.scale)
    simple: list[tuple[type[t.DataType] | None, pa.DataType]] = [
        (t.BooleanType, pa.bool_()),
        (t.ByteType, pa.int8()),
        (t.ShortType, pa.int16()),
        (t.IntegerType, pa.int32()),
        (t.LongType, pa.int64()),
        (t.FloatType, pa.float32()),
        (t.DoubleType, pa.float64()),
        (t.StringType, pa.string()),
        (getattr(t, "CharType", None), pa.string()),
        (getattr(t, "VarcharType", None), pa.string()),
        (t.DateType, pa.date32()),
        (t.TimestampNTZType, pa.timestamp("us")),
        (getattr(t, "TimeType", None), pa.time64("ns")),  # Spark 4.1 and later
        (t.DayTimeIntervalType, pa.duration("us")),
        (t.NullType, pa.null()),
    ]
    return next((arrow for kind, arrow in simple if kind and isinstance(dtype, kind)), None)


def _profile_partition(
    batches: Iterator[pa.RecordBatch], *, names: list[str], batch_size: int, settings: Settings
) -> Iterator[pa.RecordBatch]:
    """On an executor: the profile of one partition, as one row; nothing if it has no rows."""
    chunks = _rechunked((_named(batch, names) for batch in batches), batch_size)
    first = next(chunks, None)
    if first is None:
        return
    result = _profile_batches(itertools.chain([first], chunks), first.schema, batch_size, settings)
    yield pa.RecordBatch.from_arrays([pa.array([result.to_bytes()], pa.binary())], [_RESULT])


def _profile_batches(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema, batch_size: int, settings: Settings
) -> Profile:
    """The local engine's profile of these batches."""
    return profile(
        pa.RecordBatchReader.from_batches(schema, batches),
        batch_size=batch_size,
        kll_k=settings.kll_k,
        hll_lg_k=settings.hll_lg_k,
        frequent_lg_size=settings.frequent_lg_size,
        max_exact_values=settings.max_exact_values,
    )


def _named(batch: pa.RecordBatch, names: list[str]) -> pa.RecordBatch:
    """``batch`` under the columns' own names, zoned timestamps in UTC (the same instants)."""
    arrays = [
        column.cast(pa.timestamp(column.type.unit, tz=_UTC))
        if pa.types.is_timestamp(column.type) and column.type.tz not in (None, _UTC)
        else column
        for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _rechunked(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of ``size`` rows (the last may be shorter), from batches of any size."""
    waiting: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        waiting.append(batch)
        rows += batch.num_rows
        if rows < size:
            continue
        whole = _concatenated(waiting)
        start = 0
        while whole.num_rows - start >= size:
            yield whole.slice(start, size)
            start += size
        waiting = [whole.slice(start)] if start < whole.num_rows else []
        rows = whole.num_rows - start
    if waiting:
        yield _concatenated(waiting)


def _concatenated(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches(batches).combine_chunks()
    return table.to_batches()[0]


def _spark_message(exc: Exception) -> str:
    """One line for a failed Spark job; for a Python error on an executor, its last line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[-1] if "Traceback" in str(exc) else lines[0]
    return text if len(text) <= 300 else text[:297] + "..."
