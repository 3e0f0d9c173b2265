"""Shared data for the profiles tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest


@pytest.fixture
def mixed() -> pl.DataFrame:
    """Every kind of column, with nulls, NaN, empty strings and repeats."""
    rng = np.random.default_rng(7)
    n = 5_000
    floats = rng.normal(10.0, 3.0, n)
    floats[rng.random(n) < 0.02] = np.nan
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return pl.DataFrame(
        {
            "amount": floats,
            "count": rng.integers(-50, 50, n),
            "big": rng.integers(2**62, 2**62 + 1_000, n),
            "channel": rng.choice(["web", "app", "store", ""], n),
            "member": rng.random(n) < 0.3,
            "at": [start + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 10**6, n)],
            "day": [
                dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 90, n)
            ],
            "empty": pl.Series([None] * n, dtype=pl.Null),
        }
    ).with_columns(
        [
            pl.when(pl.int_range(pl.len()) % (11 + i) == 0).then(None).otherwise(pl.col(c)).alias(c)
            for i, c in enumerate(["amount", "count", "big", "channel", "member", "at", "day"])
        ]
    )
