"""Numeric column profiles against numpy."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from postpilot.errors import InputError
from postpilot.profiles import NumericColumn, profile


def numeric(frame: pl.DataFrame, name: str, **options: int) -> NumericColumn:
    column = profile(frame, **options).column(name)
    assert isinstance(column, NumericColumn)
    return column


def true_rank(sorted_values: np.ndarray, x: float, *, inclusive: bool) -> float:
    side = "right" if inclusive else "left"
    return float(np.searchsorted(sorted_values, x, side=side)) / len(sorted_values)


def test_float_column_exact_parts() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(3.0, 1.0, 50_000)
    values[::97] = np.nan
    frame = pl.DataFrame({"x": values}).with_columns(
        pl.when(pl.int_range(pl.len()) % 89 == 0).then(None).otherwise(pl.col("x")).alias("x")
    )
    col = numeric(frame, "x", batch_size=7_000)
    series = frame.get_column("x")
    valid = series.drop_nulls().drop_nans().to_numpy()

    assert (col.type, col.rows, col.nulls) == ("float", 50_000, series.null_count())
    assert col.nans == int(series.is_nan().sum())
    assert col.count == col.rows - col.nulls
    assert col.null_rate == col.nulls / col.rows
    assert (col.min, col.max) == (valid.min(), valid.max())
    assert col.moments.count == len(valid)
    assert col.mean == pytest.approx(valid.mean(), rel=1e-12)
    assert col.std == pytest.approx(valid.std(ddof=1), rel=1e-9)
    assert col.variance == pytest.approx(valid.var(ddof=1), rel=1e-9)


def test_quantiles_within_stated_rank_error() -> None:
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(0, 1, 120_000), rng.exponential(5, 80_000)])
    col = numeric(pl.DataFrame({"x": values}), "x", batch_size=30_000)
    ordered = np.sort(values)
    eps = col.rank_error
    assert eps == pytest.approx(col.kll.normalized_rank_error(False))
    assert 0 < eps < 0.02
    assert col.kll.n == len(values)
    qs = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]
    got = col.quantiles(qs)
    assert got is not None
    for q, x in zip(qs, got, strict=True):
        assert col.quantile(q) == x
        assert true_rank(ordered, x, inclusive=False) <= q + eps
        assert true_rank(ordered, x, inclusive=True) >= q - eps
    assert got[0] == ordered[0]
    assert got[-1] == ordered[-1]
    probes = [-2.0, 0.0, 1.5, 10.0]
    cdf = col.cdf(probes)
    assert cdf is not None
    for x, r in zip(probes, cdf, strict=True):
        assert r == col.rank(x)
        assert abs(r - true_rank(ordered, x, inclusive=True)) <= eps
    pmf = col.pmf([-1.0, 0.0, 1.0])
    assert pmf is not None
    assert len(pmf) == 4
    assert sum(pmf) == pytest.approx(1.0)
    truth = np.histogram(values, bins=[-np.inf, -1.0, 0.0, 1.0, np.inf])[0] / len(values)
    assert np.abs(np.array(pmf) - truth).max() <= col.kll.normalized_rank_error(True)


def test_kll_k_is_configurable() -> None:
    values = np.random.default_rng(0).normal(size=20_000)
    small = numeric(pl.DataFrame({"x": values}), "x", kll_k=50)
    large = numeric(pl.DataFrame({"x": values}), "x", kll_k=400)
    assert small.kll.k == 50
    assert large.kll.k == 400
    assert small.rank_error > large.rank_error


def test_int_column_keeps_exact_integers() -> None:
    big = [2**62 + 1, 2**62 + 3, None, -(2**63)]
    col = numeric(pl.DataFrame({"n": big}), "n")
    assert col.type == "int"
    assert (col.min, col.max) == (-(2**63), 2**62 + 3)
    assert isinstance(col.min, int)
    assert col.nans == 0
    assert col.nulls == 1


@pytest.mark.parametrize("dtype", [pl.Int8, pl.UInt16, pl.UInt64, pl.Float32, pl.Decimal(10, 2)])
def test_other_numeric_dtypes(dtype: pl.DataType) -> None:
    frame = pl.DataFrame({"x": pl.Series([1, 2, 3, None], dtype=pl.Int64).cast(dtype)})
    col = numeric(frame, "x")
    assert col.type == ("int" if dtype.is_integer() else "float")
    assert (col.min, col.max, col.mean, col.nulls) == (1, 3, 2.0, 1)


def test_distinct_count_small_and_large() -> None:
    rng = np.random.default_rng(5)
    frame = pl.DataFrame(
        {
            "few": rng.integers(0, 7, 100_000),
            "many": rng.integers(0, 10**9, 100_000),
        }
    )
    p = profile(frame, batch_size=25_000)
    few = p.column("few").distinct_count(std_devs=1)
    assert few.value == pytest.approx(7, abs=1e-6)
    many = p.column("many").distinct_count(std_devs=3)
    truth = frame.get_column("many").n_unique()
    assert many.lower <= truth <= many.upper
    assert not many.exact


def test_all_null_and_empty() -> None:
    col = numeric(pl.DataFrame({"x": pl.Series([None, None], dtype=pl.Float64)}), "x")
    assert (col.rows, col.nulls, col.count, col.null_rate) == (2, 2, 0, 1.0)
    assert col.min is None
    assert col.max is None
    assert col.mean is None
    assert col.std is None
    assert col.quantile(0.5) is None
    assert col.rank(1.0) is None
    assert col.cdf([1.0]) is None
    assert col.pmf([1.0]) is None
    assert col.distinct_count().value == 0
    empty = numeric(pl.DataFrame({"x": pl.Series([], dtype=pl.Float64)}), "x")
    assert (empty.rows, empty.null_rate) == (0, 0.0)


def test_nan_and_infinity() -> None:
    col = numeric(pl.DataFrame({"x": [1.0, math.nan, math.inf, None, -2.0]}), "x")
    assert (col.nulls, col.nans, col.count) == (1, 1, 4)
    assert (col.min, col.max) == (-2.0, math.inf)
    assert col.moments.count == 3
    assert col.quantile(1.0) == math.inf
    assert col.mean == math.inf


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.quantile(1.5), "q"),
        (lambda c: c.quantiles([0.5, -0.1]), "qs"),
        (lambda c: c.rank(math.nan), "x"),
        (lambda c: c.cdf([math.nan]), "values"),
        (lambda c: c.pmf([2.0, 1.0]), "split_points"),
        (lambda c: c.distinct_count(std_devs=4), "std_devs"),
    ],
)
def test_bad_arguments(call: object, field: str) -> None:
    col = numeric(pl.DataFrame({"x": [1.0, 2.0]}), "x")
    with pytest.raises(InputError) as info:
        call(col)  # type: ignore[operator]
    assert info.value.field == field
