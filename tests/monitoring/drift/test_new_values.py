"""The frequent-items path sees values never seen in the reference (issue 14)."""

from __future__ import annotations

import polars as pl
import pytest

from postpilot.monitoring.drift import get_test
from postpilot.profiles import CategoricalColumn, profile

ROWS = 100_000


@pytest.fixture(scope="module")
def sides() -> tuple[CategoricalColumn, CategoricalColumn, CategoricalColumn]:
    reference = pl.DataFrame({"x": [f"a{i}" for i in range(ROWS)]})
    disjoint = pl.DataFrame({"x": [f"b{i}" for i in range(ROWS)]})
    shuffled = reference.sample(fraction=1.0, shuffle=True, seed=3)
    columns = [profile(frame).column("x") for frame in (reference, disjoint, shuffled)]
    assert all(isinstance(c, CategoricalColumn) and not c.exact_counts for c in columns)
    return columns[0], columns[1], columns[2]  # type: ignore[return-value]


@pytest.mark.parametrize("key", ["jensen_shannon", "hellinger", "psi", "chi2"])
def test_disjoint_categories_drift_with_a_real_bound(
    key: str, sides: tuple[CategoricalColumn, CategoricalColumn, CategoricalColumn]
) -> None:
    reference, disjoint, _ = sides
    result = get_test(key)().from_profiles(reference, disjoint)
    raw_statistic = {"jensen_shannon": 1.0, "hellinger": 1.0}.get(key)
    assert result.drifted
    assert result.method == "sketch"
    assert result.error_bound > 0.0
    if raw_statistic is not None:  # the raw answer (disjoint supports) is within the bound
        assert result.statistic > 0.9
        assert abs(raw_statistic - result.statistic) <= result.error_bound
        assert result.statistic + result.error_bound <= 1.0 + 1e-12 or result.error_bound <= 1.0


def test_unseen_values_are_counted_from_the_sketches(
    sides: tuple[CategoricalColumn, CategoricalColumn, CategoricalColumn],
) -> None:
    reference, disjoint, shuffled = sides
    unseen = disjoint.unseen_in(reference)
    assert unseen.lower <= ROWS <= unseen.upper
    assert unseen.lower > 0.85 * ROWS  # the HLL bounds at 2 sd (lg_k 12) cost a few %
    assert shuffled.unseen_in(reference).lower == 0.0


@pytest.mark.parametrize("key", ["jensen_shannon", "hellinger"])
def test_the_same_values_in_another_order_do_not_drift(
    key: str, sides: tuple[CategoricalColumn, CategoricalColumn, CategoricalColumn]
) -> None:
    reference, _, shuffled = sides
    result = get_test(key)().from_profiles(reference, shuffled)
    assert result.statistic == 0.0
    assert not result.drifted
    assert result.error_bound <= 1.0
