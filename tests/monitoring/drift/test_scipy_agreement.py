"""The raw path equals scipy's reference implementations to 1e-9, on seeded data.

The test feeds polars Series (with nulls and, for numbers, NaN) to the code
under test and the cleaned numpy arrays to scipy, so reading the samples is
checked too.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from postpilot.monitoring.drift import get_test
from tests.monitoring.drift.helpers import (
    BINNED,
    category_shares,
    category_table,
    decile_shares,
    linf,
    wasserstein_normed,
)

TOL = {"rel": 1e-9, "abs": 1e-9}


def _numeric_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20240611)
    return {
        "normal": (rng.normal(0, 1, 2_000), rng.normal(0, 1, 2_000)),
        "shifted": (rng.normal(0, 1, 3_000), rng.normal(0.3, 1.2, 3_000)),
        "sizes": (rng.normal(5, 2, 3_000), rng.normal(5.2, 2, 700)),
        "large": (rng.lognormal(0, 1, 30_000), rng.lognormal(0.05, 1, 12_000)),
        "ties": (
            rng.poisson(3, 4_000).astype(np.float64),
            rng.poisson(3.4, 2_500).astype(np.float64),
        ),
        "tiny": (np.array([1.0, 2.0, 2.0, 7.0]), np.array([2.0, 3.0])),
    }


NUMERIC = _numeric_cases()


def _with_gaps(values: np.ndarray, seed: int) -> pl.Series:
    """``values`` as a Float64 Series with nulls and NaN mixed in (the drift tests drop both)."""
    rng = np.random.default_rng(seed)
    nulls = max(1, len(values) // 20)
    mixed: list[float | None] = [*values.tolist(), *([None] * nulls), *([float("nan")] * nulls)]
    order = rng.permutation(len(mixed))
    return pl.Series("x", [mixed[i] for i in order], dtype=pl.Float64)


@pytest.mark.parametrize("case", sorted(NUMERIC))
def test_ks_equals_scipy(case: str) -> None:
    reference, current = NUMERIC[case]
    result = get_test("ks")().from_samples(_with_gaps(reference, 1), _with_gaps(current, 2))
    expected = stats.ks_2samp(reference, current)
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert (result.method, result.error_bound) == ("exact", 0.0)
    assert result.drifted == (expected.pvalue < 0.05)


def test_ks_falls_back_to_the_asymptotic_p_value_like_scipy_but_without_the_warning() -> None:
    reference = np.arange(5_000.0)
    current = reference.copy()
    current[:2] = -1.0  # D = 0.0004: scipy's exact computation gives up on it
    with pytest.warns(RuntimeWarning, match="Exact calculation unsuccessful"):
        expected = stats.ks_2samp(reference, current)
    result = get_test("ks")().from_samples(reference, current)  # no warning: pytest errors on one
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert expected.pvalue == stats.ks_2samp(reference, current, method="asymp").pvalue


@pytest.mark.parametrize("case", sorted(NUMERIC))
def test_wasserstein_equals_scipy_normed_by_reference_std(case: str) -> None:
    reference, current = NUMERIC[case]
    result = get_test("wasserstein")().from_samples(
        _with_gaps(reference, 3), _with_gaps(current, 4)
    )
    assert result.statistic == pytest.approx(wasserstein_normed(reference, current), **TOL)
    assert result.p_value is None


@pytest.mark.parametrize("key", sorted(BINNED))
@pytest.mark.parametrize("case", sorted(NUMERIC))
def test_binned_numeric_equals_scipy_on_decile_shares(key: str, case: str) -> None:
    reference, current = NUMERIC[case]
    result = get_test(key)().from_samples(_with_gaps(reference, 5), _with_gaps(current, 6))
    assert result.statistic == pytest.approx(BINNED[key](*decile_shares(reference, current)), **TOL)


@pytest.mark.parametrize("bins", [2, 4, 20])
def test_bins_are_configurable(bins: int) -> None:
    reference, current = NUMERIC["shifted"]
    for key, reference_statistic in BINNED.items():
        result = get_test(key)(bins=bins).from_samples(reference, current)  # type: ignore[call-arg]
        expected = reference_statistic(*decile_shares(reference, current, bins))
        assert result.statistic == pytest.approx(expected, **TOL)


def _categorical_cases() -> dict[str, tuple[list[str], list[str]]]:
    rng = np.random.default_rng(99)
    labels = ["web", "app", "store", "phone", "partner"]
    return {
        "same": (
            rng.choice(labels, 3_000, p=[0.4, 0.3, 0.15, 0.1, 0.05]).tolist(),
            rng.choice(labels, 2_000, p=[0.4, 0.3, 0.15, 0.1, 0.05]).tolist(),
        ),
        "moved": (
            rng.choice(labels, 3_000, p=[0.4, 0.3, 0.15, 0.1, 0.05]).tolist(),
            rng.choice(labels, 900, p=[0.3, 0.4, 0.15, 0.1, 0.05]).tolist(),
        ),
        "unseen": (  # "kiosk" only in current, "partner" only in reference
            rng.choice(labels, 2_500, p=[0.4, 0.3, 0.15, 0.1, 0.05]).tolist(),
            rng.choice(
                ["web", "app", "store", "phone", "kiosk"], 2_500, p=[0.4, 0.3, 0.15, 0.1, 0.05]
            ).tolist(),
        ),
        "two": (["yes"] * 70 + ["no"] * 30, ["yes"] * 55 + ["no"] * 45),  # Yates' correction
        "one": (["only"] * 10, ["only"] * 4),
        "empty string": (["", "a", "a", "b"], ["", "", "a", "c"]),
    }


CATEGORICAL = _categorical_cases()


def _categorical_series(values: list[str], seed: int) -> pl.Series:
    rng = np.random.default_rng(seed)
    mixed: list[str | None] = [*values, *([None] * (len(values) // 10 + 1))]
    return pl.Series("tier", [mixed[i] for i in rng.permutation(len(mixed))], dtype=pl.String)


@pytest.mark.parametrize("case", sorted(CATEGORICAL))
def test_chi2_equals_scipy_contingency(case: str) -> None:
    reference, current = CATEGORICAL[case]
    result = get_test("chi2")().from_samples(
        _categorical_series(reference, 1), _categorical_series(current, 2)
    )
    expected = stats.chi2_contingency(category_table(reference, current))
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.column == "tier"


@pytest.mark.parametrize("key", [*sorted(BINNED), "linf"])
@pytest.mark.parametrize("case", sorted(CATEGORICAL))
def test_categorical_distances_equal_scipy(key: str, case: str) -> None:
    reference, current = CATEGORICAL[case]
    expected = {**BINNED, "linf": linf}[key](*category_shares(reference, current))
    result = get_test(key)().from_samples(
        _categorical_series(reference, 3), _categorical_series(current, 4)
    )
    assert result.statistic == pytest.approx(expected, **TOL)
    assert result.method == "exact"


def test_booleans_are_categories_like_in_profiles() -> None:
    reference = pl.Series("flag", [True] * 80 + [False] * 20 + [None] * 5)
    current = np.array([True] * 50 + [False] * 50)
    result = get_test("chi2")().from_samples(reference, current)
    expected = stats.chi2_contingency(np.array([[20, 80], [50, 50]]))
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    assert result.column == "flag"


def test_temporal_values_compare_as_numbers() -> None:
    rng = np.random.default_rng(3)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    reference = start + rng.integers(0, 10**9, 500).astype("timedelta64[us]")
    current = start + rng.integers(10**8, 2 * 10**9, 400).astype("timedelta64[us]")
    result = get_test("ks")().from_samples(pl.Series(reference), pl.Series(current))
    expected = stats.ks_2samp(reference.astype(np.int64), current.astype(np.int64))
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
