"""Profiles without the distinct-count sketch of float and temporal columns (a drift run's).

``Settings(continuous_distinct=False)`` leaves out the HLL sketch that only answers
``distinct_count``; everything else in the profile is what it would be with it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from postpilot.errors import InputError
from postpilot.monitoring.chunked import SETTINGS as DRIFT_SETTINGS
from postpilot.monitoring.run import DriftOptions, run_drift
from postpilot.profiles import NumericColumn, Profile, profile
from postpilot.profiles.accumulator import ColumnAccumulator, Settings
from postpilot.profiles.summary import summarize

FULL = Settings(kll_k=200, hll_lg_k=12, frequent_lg_size=10, max_exact_values=1_000)
LEAN = Settings(
    kll_k=200, hll_lg_k=12, frequent_lg_size=10, max_exact_values=1_000, continuous_distinct=False
)


def frame(seed: int = 0, rows: int = 3_000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = dt.datetime(2026, 1, 1)
    return pl.DataFrame(
        {
            "amount": rng.lognormal(3, 0.5, rows),
            "visits": rng.integers(0, 40, rows),
            "tier": rng.choice(["gold", "silver", "bronze"], rows).tolist(),
            "seen": [start + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 10**6, rows)],
        }
    )


def profile_with(settings: Settings, data: pl.DataFrame, batch: int = 1_000) -> Profile:
    accumulators = [ColumnAccumulator(name, settings) for name in data.columns]
    for offset in range(0, data.height, batch):
        summaries = summarize(data.slice(offset, batch))
        for accumulator in accumulators:
            accumulator.update(summaries[accumulator.name])
    return Profile(data.height, [a.finish() for a in accumulators])


def test_a_drift_run_profiles_without_float_and_temporal_distinct_counts() -> None:
    assert DRIFT_SETTINGS.continuous_distinct is False
    assert FULL.continuous_distinct is True  # the default: profile() counts every column


def test_float_and_temporal_columns_have_no_hll_the_others_keep_theirs() -> None:
    lean = profile_with(LEAN, frame())
    full = profile_with(FULL, frame())
    for name in ("amount", "seen"):
        column = lean.column(name)
        assert isinstance(column, NumericColumn)
        assert column.hll is None
        with pytest.raises(InputError, match=f"column '{name}' has no distinct count") as info:
            column.distinct_count()
        assert info.value.field == name
    assert lean.column("visits").distinct_count() == full.column("visits").distinct_count()
    assert lean.column("tier").distinct_count() == full.column("tier").distinct_count()
    for name in ("amount", "visits", "seen"):
        a, b = lean.column(name), full.column(name)
        assert isinstance(a, NumericColumn)
        assert isinstance(b, NumericColumn)
        assert (a.rows, a.nulls, a.nans, a.min, a.max, a.moments) == (
            b.rows,
            b.nulls,
            b.nans,
            b.min,
            b.max,
            b.moments,
        )


def test_a_lean_profile_round_trips_and_merges() -> None:
    lean = profile_with(LEAN, frame(1))
    again = Profile.from_bytes(lean.to_bytes())
    assert again == lean
    amount = again.column("amount")
    assert isinstance(amount, NumericColumn)
    assert amount.hll is None
    # merged with a profile that counted: the distinct count of the whole is unknown
    merged = lean.merge(profile(frame(2)))
    merged_amount = merged.column("amount")
    assert isinstance(merged_amount, NumericColumn)
    assert merged_amount.hll is None
    assert merged_amount.count == 6_000
    assert merged.column("visits").distinct_count().value == pytest.approx(40, abs=2)


def test_an_int_column_widened_to_float_keeps_counting() -> None:
    accumulator = ColumnAccumulator("x", LEAN)
    accumulator.update(summarize(pl.DataFrame({"x": [1, 2, 3]}))["x"])
    accumulator.update(summarize(pl.DataFrame({"x": [2.5, 3.5]}))["x"])
    column = accumulator.finish()
    assert column.type == "float"
    assert column.distinct_count().value == pytest.approx(5, abs=0.5)


def test_drift_still_tells_an_int_identifier_and_does_not_compare_it() -> None:
    def batch(seed: int, rows: int) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        return pl.DataFrame(
            {
                "customer_id": np.arange(seed * 10**6, seed * 10**6 + rows),
                "amount": rng.lognormal(3, 0.5, rows),
            }
        )

    report = run_drift(batch(1, 5_000), batch(2, 1_000), DriftOptions(multivariate=False))
    assert report.settings["skipped_columns"]["customer_id"].startswith("an identifier")
    assert report.columns == ["amount"]
