"""One batch of one column, reduced to what the accumulators fold into sketches.

``summarize`` runs on the reading thread, ahead of the sketching on the main
thread: it does the work that releases the GIL (sorting, counting, value counts)
in few, large numpy and polars calls. Numeric values come out sorted, which
makes the KLL update about twice as fast, gives min and max for free and the
distinct values (all the HLL needs) in one comparison.

>>> import polars as pl
>>> batch = summarize(pl.DataFrame({"x": [3.0, None, 1.0, 3.0]}))["x"]
>>> (batch.rows, batch.nulls, batch.min, batch.max, batch.distinct.tolist())
(4, 1, 1.0, 3.0, [1.0, 3.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from postpilot.profiles.dtypes import CATEGORICAL_TYPES, TEMPORAL_TYPES, observed_type
from postpilot.profiles.moments import Moments

__all__ = ["CategoricalBatch", "ColumnBatch", "NullBatch", "NumericBatch", "summarize", "to_micros"]

Number = int | float


@dataclass(frozen=True, slots=True)
class NumericBatch:
    """A batch of an int, float or temporal (as microseconds) column."""

    kind: str
    timezone: str | None
    rows: int
    nulls: int
    nans: int
    min: Number | None
    max: Number | None
    moments: Moments
    values: NDArray[np.float64]  # non-null, non-NaN, sorted, writable (as KLL needs)
    distinct: NDArray[np.float64]  # the distinct values among them


@dataclass(frozen=True, slots=True)
class CategoricalBatch:
    """A batch of a string or bool column, as its distinct values and their counts."""

    kind: str
    rows: int
    nulls: int
    values: list[str]
    counts: list[int]


@dataclass(frozen=True, slots=True)
class NullBatch:
    """A batch of a column with no type (all null)."""

    kind: str
    rows: int


ColumnBatch = NumericBatch | CategoricalBatch | NullBatch


def summarize(frame: pl.DataFrame) -> dict[str, ColumnBatch]:
    """Summarize every column of ``frame``; InputError for a column that cannot be profiled."""
    return {series.name: _summarize(series) for series in frame.iter_columns()}


def _summarize(series: pl.Series) -> ColumnBatch:
    kind = observed_type(series.dtype, column=series.name)
    if kind == "null":
        return NullBatch(kind, len(series))
    if kind in CATEGORICAL_TYPES:
        return _categorical(kind, series)
    if kind in TEMPORAL_TYPES:
        zone = getattr(series.dtype, "time_zone", None)
        return _numeric(kind, zone, to_micros(series), len(series), series.null_count())
    return _numeric(kind, None, series, len(series), series.null_count())


def _numeric(kind: str, zone: str | None, series: pl.Series, rows: int, nulls: int) -> NumericBatch:
    low: Number | None = None
    high: Number | None = None
    if series.dtype.is_float() or series.dtype.is_decimal():
        ordered = _sorted(series.cast(pl.Float64).to_numpy())  # nulls become NaN, sorted last
        valid = int(np.searchsorted(ordered, np.nan))  # the first NaN
        values = ordered[:valid]
        nans = len(ordered) - valid - nulls
        if len(values):
            low, high = float(values[0]), float(values[-1])
    else:
        integers = (series.drop_nulls() if nulls else series).to_numpy()
        nans = 0
        if len(integers):
            low, high = integers.min().item(), integers.max().item()
        values = _sorted(integers.astype(np.float64))
    return NumericBatch(
        kind, zone, rows, nulls, nans, low, high, Moments.of(values), values, _distinct(values)
    )


def _sorted(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sorted in place when the array is a private copy already, else into a new one."""
    if values.flags.writeable and values.flags.owndata:
        values.sort()
        return values
    return np.sort(values)


def _distinct(ordered: NDArray[np.float64]) -> NDArray[np.float64]:
    if len(ordered) < 2:
        return ordered
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered if first.all() else ordered[first]


def _categorical(kind: str, series: pl.Series) -> CategoricalBatch:
    nulls = series.null_count()
    if nulls == len(series):
        return CategoricalBatch(kind, len(series), nulls, [], [])
    counted = series.cast(pl.String).drop_nulls().rename("value").value_counts(name="n")
    return CategoricalBatch(
        kind,
        len(series),
        nulls,
        counted.get_column("value").to_list(),
        counted.get_column("n").to_list(),
    )


def to_micros(series: pl.Series) -> pl.Series:
    """Int64 microseconds of a temporal series (epoch, since midnight, or length)."""
    dtype = series.dtype
    if dtype == pl.Time:
        return series.cast(pl.Int64) // 1_000
    if dtype == pl.Duration:
        return series.dt.total_microseconds()
    return series.dt.epoch("us")
