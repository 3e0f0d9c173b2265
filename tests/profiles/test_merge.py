"""Merging profiles gives the profile of the union: exactly, or within sketch error."""

from __future__ import annotations

import itertools
import math
from functools import reduce

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpilot.errors import InputError
from postpilot.profiles import (
    CategoricalColumn,
    NullColumn,
    NumericColumn,
    Profile,
    profile,
)

from .helpers import assert_moments_close, exact_parts

rows = st.integers(min_value=0, max_value=60)
maybe_int = st.one_of(st.none(), st.integers(min_value=-(10**6), max_value=10**6))
maybe_float = st.one_of(
    st.none(), st.just(math.nan), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
)
maybe_text = st.one_of(st.none(), st.sampled_from(["", "a", "b", "c", "long value", "é"]))


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(rows)
    return pl.DataFrame(
        {
            "i": pl.Series(draw(st.lists(maybe_int, min_size=n, max_size=n)), dtype=pl.Int64),
            "f": pl.Series(draw(st.lists(maybe_float, min_size=n, max_size=n)), dtype=pl.Float64),
            "s": pl.Series(draw(st.lists(maybe_text, min_size=n, max_size=n)), dtype=pl.String),
        }
    )


@st.composite
def split_frames(draw: st.DrawFn) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    frame = draw(frames())
    cuts = sorted(draw(st.lists(st.integers(0, frame.height), max_size=4)))
    bounds = [0, *cuts, frame.height]
    return frame, [frame.slice(a, b - a) for a, b in itertools.pairwise(bounds)]


def small(frame: pl.DataFrame, batch_size: int = 7) -> Profile:
    return profile(frame, batch_size=batch_size, max_exact_values=4)


@given(split_frames(), st.integers(1, 50))
@settings(max_examples=60, deadline=None)
def test_merged_parts_equal_the_whole(
    split: tuple[pl.DataFrame, list[pl.DataFrame]], batch_size: int
) -> None:
    frame, parts = split
    whole = small(frame, batch_size)
    merged = reduce(Profile.merge, [small(part) for part in parts])
    assert exact_parts(merged) == exact_parts(whole)
    assert_moments_close(merged, whole)
    assert merged.columns == whole.columns


@given(frames(), frames())
@settings(max_examples=40, deadline=None)
def test_merge_commutes_on_exact_parts(a: pl.DataFrame, b: pl.DataFrame) -> None:
    pa_, pb = small(a), small(b)
    ab, ba = pa_.merge(pb), pb.merge(pa_)
    assert exact_parts(ab) == exact_parts(ba)
    for name in ("i", "f"):
        left, right = ab.column(name), ba.column(name)
        assert isinstance(left, NumericColumn)
        assert isinstance(right, NumericColumn)
        assert left.moments == right.moments  # Chan's update is exactly symmetric


@given(frames(), frames(), frames())
@settings(max_examples=40, deadline=None)
def test_merge_is_associative_on_exact_parts(
    a: pl.DataFrame, b: pl.DataFrame, c: pl.DataFrame
) -> None:
    pa_, pb, pc = small(a), small(b), small(c)
    left = pa_.merge(pb).merge(pc)
    right = pa_.merge(pb.merge(pc))
    assert exact_parts(left) == exact_parts(right)
    assert_moments_close(left, right)


def test_union_quantiles_and_distinct_counts_within_sketch_error() -> None:
    rng = np.random.default_rng(4)
    parts = [rng.normal(loc, 1.0, 40_000) for loc in (0.0, 3.0, -2.0)]
    ids = [rng.integers(0, 10**12, 40_000) for _ in parts]
    profiles = [
        profile(pl.DataFrame({"x": x, "id": i, "key": i.astype(str)}), batch_size=16_384)
        for x, i in zip(parts, ids, strict=True)
    ]
    merged = reduce(Profile.merge, profiles)
    union = np.sort(np.concatenate(parts))
    x = merged.column("x")
    assert isinstance(x, NumericColumn)
    assert x.kll.n == len(union)
    eps = x.rank_error
    for q in (0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
        value = x.quantile(q)
        assert value is not None
        assert np.searchsorted(union, value, side="left") / len(union) <= q + eps
        assert np.searchsorted(union, value, side="right") / len(union) >= q - eps
    truth = len(np.unique(np.concatenate(ids)))
    for name in ("id", "key"):
        estimate = merged.column(name).distinct_count(std_devs=3)
        assert estimate.lower <= truth <= estimate.upper, name
    key = merged.column("key")
    assert isinstance(key, CategoricalColumn)
    assert not key.exact_counts


def test_columns_missing_on_one_side_count_as_nulls() -> None:
    left = profile(pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    right = profile(pl.DataFrame({"c": [1.5, None, 2.5], "a": [3, None, 5]}))
    merged = left.merge(right)
    assert merged.columns == ("a", "b", "c")
    assert merged.rows == 5
    assert [merged.column(n).nulls for n in merged.columns] == [1, 3, 3]
    assert all(merged.column(n).rows == 5 for n in merged.columns)
    # the same as profiling the two stacked, missing columns filled with nulls
    stacked = pl.concat(
        [
            pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
            pl.DataFrame({"c": [1.5, None, 2.5], "a": [3, None, 5]}),
        ],
        how="diagonal",
    )
    assert exact_parts(merged) == exact_parts(profile(stacked))


def test_untyped_null_column_takes_the_other_type() -> None:
    nulls = profile(pl.DataFrame({"a": pl.Series([None, None], dtype=pl.Null)}))
    assert isinstance(nulls.column("a"), NullColumn)
    typed = profile(pl.DataFrame({"a": ["x"]}))
    for merged in (nulls.merge(typed), typed.merge(nulls)):
        column = merged.column("a")
        assert isinstance(column, CategoricalColumn)
        assert (column.rows, column.nulls, column.counts) == (3, 2, {"x": 1})
    both_null = nulls.merge(nulls).column("a")
    assert isinstance(both_null, NullColumn)
    assert both_null.rows == 4


def test_int_and_float_merge_into_float() -> None:
    ints = profile(pl.DataFrame({"a": [1, 2, 3]}))
    floats = profile(pl.DataFrame({"a": [0.5, 4.5]}))
    merged = ints.merge(floats).column("a")
    assert isinstance(merged, NumericColumn)
    assert (merged.type, merged.min, merged.max, merged.mean) == (
        "float",
        0.5,
        4.5,
        pytest.approx(2.2),
    )
    whole = profile(pl.DataFrame({"a": [1.0, 2.0, 3.0, 0.5, 4.5]})).column("a")
    assert merged.distinct_count().value == pytest.approx(whole.distinct_count().value)


@pytest.mark.parametrize(
    ("left", "right"),
    [([1, 2], ["x"]), (["x"], [1.5]), ([True], [1])],
)
def test_type_conflict_names_the_column(left: list[object], right: list[object]) -> None:
    a = profile(pl.DataFrame({"price": left}))
    b = profile(pl.DataFrame({"price": right}))
    with pytest.raises(InputError) as info:
        a.merge(b)
    assert info.value.field == "price"
    assert "'price'" in str(info.value)


def test_merge_leaves_its_inputs_alone() -> None:
    a = profile(pl.DataFrame({"x": [1.0, 2.0], "s": ["p", "q"]}))
    b = profile(pl.DataFrame({"x": [3.0], "s": ["p"]}))
    before_a, before_b = a.to_bytes(), b.to_bytes()
    a.merge(b)
    b.merge(a)
    assert Profile.from_bytes(before_a) == a
    assert Profile.from_bytes(before_b) == b
