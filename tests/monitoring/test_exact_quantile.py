"""The gateway window's p99 latency: exact (polars' linear quantile) in bounded memory."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from postpilot.monitoring.sources.gateway import exact_quantile


def _polars(frame: pl.DataFrame, q: float) -> float | None:
    values = frame.get_column("x").cast(pl.Float64)
    values = values.filter(values.is_not_nan()).drop_nulls()
    result = values.quantile(q, "linear")
    return None if result is None else float(result)


CASES = {
    "latencies": lambda rng: rng.lognormal(1.0, 0.8, 20_000),
    "few distinct": lambda rng: rng.integers(0, 5, 20_000).astype(float),
    "one value": lambda rng: np.full(5_000, 3.25),
    "two adjacent floats": lambda rng: np.where(
        rng.random(5_000) < 0.995, 1.0, np.nextafter(1.0, 2.0)
    ),
    "heavy tail": lambda rng: np.concatenate([rng.normal(10, 1, 19_000), rng.pareto(1.0, 1_000)]),
    "one row": lambda rng: np.array([7.5]),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("q", [0.0, 0.5, 0.99, 0.999, 1.0])
@pytest.mark.parametrize("max_rows", [1, 64, 1 << 20])
def test_the_quantile_equals_polars_whatever_it_may_hold(
    case: str, q: float, max_rows: int
) -> None:
    rng = np.random.default_rng(7)
    frame = pl.DataFrame({"x": CASES[case](rng)})
    assert exact_quantile(frame.lazy(), "x", q, max_rows=max_rows) == _polars(frame, q)


def test_nulls_and_nans_are_left_out_and_nothing_is_none() -> None:
    frame = pl.DataFrame({"x": [None, 1.0, float("nan"), 3.0, 2.0, None]})
    assert exact_quantile(frame.lazy(), "x", 0.5, max_rows=1) == 2.0
    empty = pl.DataFrame({"x": [None, float("nan")]}, schema={"x": pl.Float64})
    assert exact_quantile(empty.lazy(), "x", 0.99) is None


def test_an_integer_column_is_read_as_numbers() -> None:
    frame = pl.DataFrame({"x": list(range(1, 1001))})
    assert exact_quantile(frame.lazy(), "x", 0.99, max_rows=10) == _polars(frame, 0.99)
