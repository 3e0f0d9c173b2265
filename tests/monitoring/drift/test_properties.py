"""Hypothesis properties of the drift statistics and of the bound propagation."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from postpilot.monitoring.drift import (
    Hellinger,
    JensenShannon,
    LInfinity,
    PopulationStabilityIndex,
    get_test,
)
from postpilot.monitoring.drift._bounds import term_range
from postpilot.monitoring.drift.chi2 import homogeneity_terms
from tests.monitoring.drift.helpers import profiles

numbers = st.one_of(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.integers(-4, 4).map(float), min_size=1, max_size=60),  # ties
)
categories = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=60)
DISTANCES = ["psi", "jensen_shannon", "hellinger", "linf"]


@settings(max_examples=80, deadline=None)
@given(numbers, numbers)
def test_ks_is_symmetric_and_a_probability(a: list[float], b: list[float]) -> None:
    ks = get_test("ks")()
    forward, backward = ks.from_samples(a, b), ks.from_samples(b, a)
    assert forward.statistic == backward.statistic
    assert forward.p_value == pytest.approx(backward.p_value)
    assert 0.0 <= forward.statistic <= 1.0
    assert forward.p_value is not None
    assert 0.0 <= forward.p_value <= 1.0


@settings(max_examples=80, deadline=None)
@given(
    numbers,
    numbers,
    st.floats(0.01, 100.0),
    st.floats(-1e3, 1e3),
)
def test_wasserstein_is_non_negative_and_unit_free(
    a: list[float], b: list[float], scale: float, shift: float
) -> None:
    assume(np.std(a) > 1e-3 * (1.0 + np.abs(a).max()))
    test = get_test("wasserstein")()
    statistic = test.from_samples(a, b).statistic
    assert statistic >= 0.0
    assert test.from_samples(a, a).statistic == 0.0
    moved = test.from_samples(np.array(a) * scale + shift, np.array(b) * scale + shift)
    assert moved.statistic == pytest.approx(statistic, rel=1e-6, abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(numbers, numbers, st.integers(2, 20))
def test_binned_distances_of_numbers_are_in_range(
    a: list[float], b: list[float], bins: int
) -> None:
    psi = PopulationStabilityIndex(bins=bins).from_samples(a, b).statistic
    js = JensenShannon(bins=bins).from_samples(a, b).statistic
    hellinger = Hellinger(bins=bins).from_samples(a, b).statistic
    assert psi >= 0.0
    assert 0.0 <= js <= 1.0
    assert 0.0 <= hellinger <= 1.0
    assert PopulationStabilityIndex(bins=bins).from_samples(a, a).statistic == 0.0


@settings(max_examples=80, deadline=None)
@given(categories, categories)
def test_categorical_distances_are_symmetric_and_in_range(a: list[str], b: list[str]) -> None:
    for key in DISTANCES:
        test = get_test(key)()
        forward, backward = test.from_samples(a, b), test.from_samples(b, a)
        assert forward.statistic == pytest.approx(backward.statistic, abs=1e-12), key
        assert forward.statistic >= 0.0, key
        if key != "psi":
            assert forward.statistic <= 1.0 + 1e-12, key
        assert test.from_samples(a, a).statistic == pytest.approx(0.0, abs=1e-12), key
    chi2 = get_test("chi2")()
    forward, backward = chi2.from_samples(a, b), chi2.from_samples(b, a)
    assert forward.statistic == pytest.approx(backward.statistic)
    assert forward.p_value is not None
    assert 0.0 <= forward.p_value <= 1.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-3, 50).map(float), min_size=1, max_size=150), numbers)
def test_profiles_holding_every_value_give_the_raw_answer(a: list[float], b: list[float]) -> None:
    ref_profile, cur_profile = profiles(a, b)
    for key in ["ks", "wasserstein", "psi", "jensen_shannon", "hellinger"]:
        test = get_test(key)()
        assert test.from_profiles(ref_profile, cur_profile) == test.from_samples(a, b, column="x")


TERMS = {
    "psi": PopulationStabilityIndex.terms,
    "jensen_shannon": JensenShannon.terms,
    "hellinger": Hellinger.terms,
    "chi2 (w=0.2)": partial(homogeneity_terms, weight=0.2),
    "chi2 (w=0.7)": partial(homogeneity_terms, weight=0.7),
    "linf": lambda r, c: np.abs(r - c),
}
share = st.floats(0.0, 1.0)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(TERMS)),
    st.tuples(share, share, share),
    st.tuples(share, share, share),
)
def test_a_term_inside_its_box_lies_within_the_propagated_range(
    name: str, r: tuple[float, float, float], c: tuple[float, float, float]
) -> None:
    """The monotonicity every bound relies on: the corners and the diagonal bracket a box."""
    r_low, r_mid, r_high = sorted(r)
    c_low, c_mid, c_high = sorted(c)
    term = TERMS[name]
    low, high = term_range(term, *(np.array([x]) for x in (r_low, r_high, c_low, c_high)))
    inside = float(term(np.array([r_mid]), np.array([c_mid]))[0])
    slack = 1e-12 * (1.0 + abs(inside))
    assert float(low[0]) - slack <= inside <= float(high[0]) + slack, (name, low, high)
    assert math.isfinite(float(high[0]))


def test_linf_is_the_largest_share_change() -> None:
    result = LInfinity().from_samples(["a"] * 6 + ["b"] * 4, ["a"] * 3 + ["b"] * 5 + ["c"] * 2)
    assert result.statistic == pytest.approx(0.3)
