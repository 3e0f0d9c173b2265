"""The default test per kind and sample size, and the one-call comparisons."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from postpilot.errors import InputError
from postpilot.monitoring.drift import (
    SMALL_SAMPLE_MAX,
    PopulationStabilityIndex,
    compare,
    compare_profiles,
    default_test,
)
from postpilot.profiles import profile
from tests.monitoring.drift.helpers import profiles


@pytest.mark.parametrize(
    ("kind", "n_reference", "n_current", "key", "threshold"),
    [
        ("numeric", 1_000, 1_000, "ks", 0.05),
        ("numeric", 10, 3, "ks", 0.05),
        ("numeric", 1_001, 1_000, "wasserstein", 0.1),
        ("numeric", 1_000, 1_001, "wasserstein", 0.1),
        ("numeric", 200_000, 50, "wasserstein", 0.1),
        ("categorical", 1_000, 1_000, "chi2", 0.05),
        ("categorical", 1_001, 20, "jensen_shannon", 0.1),
        ("categorical", 20, 1_001, "jensen_shannon", 0.1),
    ],
)
def test_the_default_rule(
    kind: str, n_reference: int, n_current: int, key: str, threshold: float
) -> None:
    test = default_test(kind, n_reference, n_current)
    assert (test.key, test.threshold) == (key, threshold)
    assert SMALL_SAMPLE_MAX == 1_000


def test_default_test_refuses_unknown_kinds_and_bad_sizes() -> None:
    with pytest.raises(InputError, match="numeric, categorical") as info:
        default_test("temporal", 10, 10)
    assert info.value.field == "kind"
    with pytest.raises(InputError) as info:
        default_test("numeric", -1, 10)
    assert info.value.field == "n_reference"
    with pytest.raises(InputError):
        default_test("numeric", 10, 2.5)  # type: ignore[arg-type]


def test_compare_picks_the_default_from_the_values_it_counts() -> None:
    rng = np.random.default_rng(1)
    small = pl.Series("amount", [*rng.normal(0, 1, 1_000), None, None, float("nan")])
    assert compare(small, rng.normal(0, 1, 900)).test == "ks"  # nulls and NaN do not count
    assert compare(rng.normal(0, 1, 1_001), rng.normal(0, 1, 900)).test == "wasserstein"
    labels = ["a", "b", "c"]
    assert compare(rng.choice(labels, 500), rng.choice(labels, 500)).test == "chi2"
    assert compare(rng.choice(labels, 5_000), rng.choice(labels, 500)).test == "jensen_shannon"


def test_every_threshold_can_be_overridden() -> None:
    rng = np.random.default_rng(2)
    reference, current = rng.normal(0, 1, 5_000), rng.normal(0.05, 1, 5_000)
    default = compare(reference, current)
    assert (default.test, default.threshold, default.drifted) == ("wasserstein", 0.1, False)
    strict = compare(reference, current, threshold=0.01)
    assert strict.threshold == 0.01
    assert strict.drifted
    assert strict.statistic == default.statistic

    ks = compare(reference, current, test="ks", threshold=0.5, column="amount")
    assert (ks.test, ks.threshold, ks.column) == ("ks", 0.5, "amount")
    assert ks.drifted == (ks.p_value is not None and ks.p_value < 0.5)

    psi = PopulationStabilityIndex(bins=4)
    tuned = compare(reference, current, test=psi, threshold=0.001)
    assert (tuned.test, tuned.threshold) == ("psi", 0.001)
    assert psi.threshold == 0.1  # the test passed in is not changed


def test_compare_profiles_uses_the_profiles_counts() -> None:
    rng = np.random.default_rng(3)
    frame = pl.DataFrame({"amount": rng.normal(0, 1, 800), "tier": rng.choice(["a", "b"], 800)})
    later = pl.DataFrame({"amount": rng.normal(2, 1, 700), "tier": rng.choice(["a", "b"], 700)})
    before, after = profile(frame), profile(later)
    amount = compare_profiles(before.column("amount"), after.column("amount"))
    assert (amount.test, amount.column, amount.drifted) == ("ks", "amount", True)
    tier = compare_profiles(before.column("tier"), after.column("tier"), test="linf")
    assert (tier.test, tier.method, tier.drifted) == ("linf", "exact", False)
    big = compare_profiles(*profiles(rng.normal(0, 1, 1_500), rng.normal(0, 1, 10)))
    assert big.test == "wasserstein"


def test_compare_refuses_unknown_tests_listing_the_keys() -> None:
    with pytest.raises(InputError, match="unknown drift test 'magic'") as info:
        compare([1.0, 2.0], [1.0, 3.0], test="magic")
    assert info.value.hint is not None
    assert "jensen_shannon" in info.value.hint
    with pytest.raises(InputError, match="key or a DriftTest"):
        compare([1.0, 2.0], [1.0, 3.0], test=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("test", "threshold"),
    [("ks", 0.0), ("ks", 1.0), ("chi2", -0.1), ("psi", -1.0), ("psi", math.inf), ("psi", math.nan)],
)
def test_thresholds_outside_their_range_are_refused(test: str, threshold: float) -> None:
    with pytest.raises(InputError) as info:
        compare([1.0, 2.0], [1.0, 3.0], test=test, threshold=threshold)
    assert info.value.field == "threshold"
