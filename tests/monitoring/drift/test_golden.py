"""Golden test: a seeded 20-column dataset where exactly five columns drift.

200,000 rows a side; 10 float, 5 integer and 5 categorical columns. The drifts
are modest but real: a mean shift of 0.2 sd, a 1.3x standard deviation, a
Poisson mean 10% higher (0.2 of its sd), 10 points of share moved from the
largest category to the smallest, and a boolean's true share from 10% to 20%.
With the default tests (Wasserstein normed and Jensen-Shannon at this size)
exactly those five are flagged, on the raw path and on the sketch path, and a
shuffled split of the reference flags nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from postpilot.monitoring.drift import DriftResult, compare, compare_profiles
from postpilot.profiles import profile

ROWS = 200_000
DRIFTED = {"f1", "f6", "i2", "c1", "c3"}
TIERS = ["gold", "silver", "bronze", "trial"]

Draw = Callable[[np.random.Generator, int, bool], object]


def _columns() -> dict[str, Draw]:
    """Each column's generator; ``drift`` is True for the current side."""
    return {
        "f0": lambda g, n, d: g.normal(100.0, 15.0, n),
        "f1": lambda g, n, d: g.normal(50.0 + (0.2 * 8.0 if d else 0.0), 8.0, n),
        "f2": lambda g, n, d: g.lognormal(3.0, 0.6, n),
        "f3": lambda g, n, d: _with_nulls(g, g.uniform(-1.0, 1.0, n), 0.05),
        "f4": lambda g, n, d: g.exponential(20.0, n),
        "f5": lambda g, n, d: g.gamma(2.0, 3.0, n),
        "f6": lambda g, n, d: g.normal(0.0, 1.3 if d else 1.0, n),
        "f7": lambda g, n, d: np.where(
            g.random(n) < 0.3, g.normal(-2.0, 1.0, n), g.normal(3.0, 1.5, n)
        ),
        "f8": lambda g, n, d: g.beta(2.0, 5.0, n),
        "f9": lambda g, n, d: np.round(g.normal(20.0, 4.0, n), 1),  # many ties
        "i0": lambda g, n, d: g.integers(0, 100, n),
        "i1": lambda g, n, d: g.binomial(5, 0.3, n),
        "i2": lambda g, n, d: g.poisson(4.4 if d else 4.0, n),
        "i3": lambda g, n, d: g.geometric(0.2, n),
        "i4": lambda g, n, d: g.integers(10**6, 10**6 + 5_000, n),
        "c0": lambda g, n, d: g.choice(TIERS, n, p=[0.1, 0.2, 0.3, 0.4]),
        "c1": lambda g, n, d: g.choice(
            ["web", "app", "store", "phone"],
            n,
            p=[0.4, 0.3, 0.15, 0.15] if d else [0.5, 0.3, 0.15, 0.05],
        ),
        "c2": lambda g, n, d: g.choice([f"region-{i:02d}" for i in range(40)], n),
        "c3": lambda g, n, d: g.random(n) < (0.2 if d else 0.1),
        "c4": lambda g, n, d: _with_nulls(g, g.choice(["x", "y", ""], n, p=[0.6, 0.3, 0.1]), 0.1),
    }


def _with_nulls(g: np.random.Generator, values: np.ndarray, share: float) -> pl.Series:
    return pl.Series(values).set(pl.Series(g.random(len(values)) < share), None)


def _frame(seed: int, drift: bool) -> pl.DataFrame:
    g = np.random.default_rng(seed)
    return pl.DataFrame({name: draw(g, ROWS, drift) for name, draw in _columns().items()})


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    return _frame(2024, False), _frame(2025, True)


def _raw(reference: pl.DataFrame, current: pl.DataFrame) -> dict[str, DriftResult]:
    return {name: compare(reference[name], current[name]) for name in reference.columns}


def _sketched(reference: pl.DataFrame, current: pl.DataFrame) -> dict[str, DriftResult]:
    before, after = profile(reference), profile(current)
    return {
        name: compare_profiles(before.column(name), after.column(name))
        for name in reference.columns
    }


def _flagged(results: dict[str, DriftResult]) -> set[str]:
    return {name for name, result in results.items() if result.drifted}


def test_the_dataset_has_the_documented_shape(frames: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    reference, _ = frames
    kinds = [dtype for dtype in reference.dtypes]
    assert reference.shape == (ROWS, 20)
    assert sum(d.is_float() for d in kinds) == 10
    assert sum(d.is_integer() for d in kinds) == 5
    assert sum(d in (pl.String, pl.Boolean) for d in kinds) == 5


def test_exactly_the_drifted_columns_are_flagged_on_the_raw_path(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    results = _raw(*frames)
    assert _flagged(results) == DRIFTED
    assert {r.test for r in results.values()} == {"wasserstein", "jensen_shannon"}
    assert all(r.method == "exact" for r in results.values())


def test_exactly_the_drifted_columns_are_flagged_on_the_sketch_path(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    raw, sketched = _raw(*frames), _sketched(*frames)
    assert _flagged(sketched) == DRIFTED
    for name, result in sketched.items():
        assert result.test == raw[name].test
        assert abs(result.statistic - raw[name].statistic) <= result.error_bound, name
        assert result.method == ("exact" if name.startswith("c") else "sketch"), name


def test_a_shuffled_split_of_the_reference_flags_nothing(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    reference, _ = frames
    shuffled = reference.sample(fraction=1.0, shuffle=True, seed=7)
    first, second = shuffled[: ROWS // 2], shuffled[ROWS // 2 :]
    assert _flagged(_raw(first, second)) == set()
    assert _flagged(_sketched(first, second)) == set()
