"""Mergeable moments against numpy, and the algebra of their merge."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from postpilot.profiles import Moments

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
chunks = st.lists(finite, max_size=30)


def close(a: float, b: float, scale: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale)


def test_of_matches_numpy() -> None:
    values = np.random.default_rng(0).normal(1e6, 3.0, 10_001)
    m = Moments.of(values)
    assert m.count == len(values)
    assert math.isclose(m.mean, float(values.mean()), rel_tol=1e-12)
    assert m.variance is not None
    assert math.isclose(m.variance, float(values.var(ddof=1)), rel_tol=1e-9)
    assert m.std is not None
    assert math.isclose(m.std, float(values.std(ddof=1)), rel_tol=1e-9)


def test_empty_and_single() -> None:
    empty = Moments.of(np.array([]))
    assert empty == Moments()
    assert empty.variance is None
    one = Moments.of(np.array([4.0]))
    assert (one.count, one.mean, one.m2, one.variance, one.std) == (1, 4.0, 0.0, None, None)
    assert empty.merge(one) == one
    assert one.merge(empty) == one


def test_infinities_do_not_warn() -> None:
    m = Moments.of(np.array([1.0, np.inf, -np.inf]))
    assert math.isnan(m.mean)


@given(chunks, chunks)
@settings(max_examples=200, deadline=None)
def test_merge_equals_whole_and_commutes(a: list[float], b: list[float]) -> None:
    merged = Moments.of(np.array(a)).merge(Moments.of(np.array(b)))
    whole = Moments.of(np.array(a + b))
    scale = max([abs(x) for x in a + b], default=1.0)
    assert merged.count == whole.count
    assert close(merged.mean, whole.mean, scale)
    assert close(merged.m2, whole.m2, scale * scale * max(1, len(a + b)))
    # exactly commutative
    assert Moments.of(np.array(b)).merge(Moments.of(np.array(a))) == merged


@given(chunks, chunks, chunks)
@settings(max_examples=200, deadline=None)
def test_merge_is_associative(a: list[float], b: list[float], c: list[float]) -> None:
    ma, mb, mc = (Moments.of(np.array(x)) for x in (a, b, c))
    left = ma.merge(mb).merge(mc)
    right = ma.merge(mb.merge(mc))
    scale = max([abs(x) for x in a + b + c], default=1.0)
    assert left.count == right.count
    assert close(left.mean, right.mean, scale)
    assert close(left.m2, right.m2, scale * scale * max(1, len(a + b + c)))
