"""String and boolean columns: exact counts up to a cap, frequent items, HLL."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest

from postpilot.profiles import CategoricalColumn, Profile, profile


def categorical(frame: pl.DataFrame, name: str, **options: int) -> CategoricalColumn:
    column = profile(frame, **options).column(name)
    assert isinstance(column, CategoricalColumn)
    return column


def test_exact_counts_below_the_cap() -> None:
    values = ["b", "a", None, "b", "", "c", "b", None, "a"]
    col = categorical(pl.DataFrame({"s": values}), "s", batch_size=2)
    counts = col.value_counts()
    assert counts.exact
    assert col.exact_counts
    assert counts.counts == {"b": 3, "a": 2, "": 1, "c": 1}
    assert list(counts.counts) == ["b", "a", "", "c"]  # most frequent first, then by value
    assert counts.lower == counts.upper == counts.counts
    assert (counts.max_error, counts.total) == (0, 7)
    assert (col.rows, col.nulls, col.count) == (9, 2, 7)
    distinct = col.distinct_count()
    assert (distinct.value, distinct.lower, distinct.upper, distinct.exact) == (4, 4, 4, True)


def test_bool_and_categorical_dtypes() -> None:
    frame = pl.DataFrame(
        {
            "flag": [True, False, True, None],
            "cat": pl.Series(["x", "y", "x", "x"], dtype=pl.Categorical),
            "enum": pl.Series(["lo", "hi", "lo", None], dtype=pl.Enum(["lo", "hi"])),
        }
    )
    p = profile(frame)
    flag, cat, enum = (p.column(n) for n in ("flag", "cat", "enum"))
    assert isinstance(flag, CategoricalColumn)
    assert isinstance(cat, CategoricalColumn)
    assert isinstance(enum, CategoricalColumn)
    assert (flag.type, flag.counts) == ("bool", {"true": 2, "false": 1})
    assert (cat.type, cat.counts) == ("string", {"x": 3, "y": 1})
    assert (enum.type, enum.counts, enum.nulls) == ("string", {"lo": 2, "hi": 1}, 1)


def test_counts_are_dropped_past_the_cap() -> None:
    rng = np.random.default_rng(2)
    heavy = ["alpha"] * 30_000 + ["beta"] * 20_000
    tail = [f"id-{i}" for i in rng.integers(0, 50_000, 50_000)]
    values = heavy + tail
    rng.shuffle(values)
    col = categorical(pl.DataFrame({"s": values}), "s", max_exact_values=1_000, batch_size=20_000)
    assert not col.exact_counts
    assert col.counts is None
    counts = col.value_counts()
    assert not counts.exact
    truth = Counter(values)
    assert list(counts.counts)[:2] == ["alpha", "beta"]
    assert counts.max_error > 0
    for value in counts.counts:
        assert counts.lower[value] <= truth[value] <= counts.upper[value]
        assert abs(counts.counts[value] - truth[value]) <= counts.max_error
    assert counts.total == len(values)
    distinct = col.distinct_count(std_devs=3)
    assert not distinct.exact
    assert distinct.lower <= len(truth) <= distinct.upper


def test_cap_reached_by_one_batch_or_by_many() -> None:
    values = [f"v{i}" for i in range(12)]
    at_cap = categorical(pl.DataFrame({"s": values}), "s", max_exact_values=12)
    assert at_cap.exact_counts
    over_in_one = categorical(pl.DataFrame({"s": values}), "s", max_exact_values=11)
    over_in_many = categorical(pl.DataFrame({"s": values}), "s", max_exact_values=11, batch_size=5)
    assert not over_in_one.exact_counts
    assert not over_in_many.exact_counts
    assert over_in_many.distinct_count().value == pytest.approx(12, abs=1e-6)


def test_merge_sums_counts_and_applies_the_smaller_cap() -> None:
    a = profile(pl.DataFrame({"s": ["x", "y", "x"]}), max_exact_values=3)
    b = profile(pl.DataFrame({"s": ["y", "z", None]}), max_exact_values=5)
    merged = a.merge(b).column("s")
    assert isinstance(merged, CategoricalColumn)
    assert merged.counts == {"x": 2, "y": 2, "z": 1}
    assert merged.max_exact_values == 3
    assert (merged.rows, merged.nulls) == (6, 1)
    c = profile(pl.DataFrame({"s": ["w"]}))
    over = a.merge(b).merge(c).column("s")
    assert isinstance(over, CategoricalColumn)
    assert over.counts is None
    assert over.value_counts().counts["x"] == 2  # frequent items still know it


def test_string_and_bool_do_not_merge() -> None:
    from postpilot.errors import InputError

    a = profile(pl.DataFrame({"s": ["x"]}))
    b = profile(pl.DataFrame({"s": [True]}))
    with pytest.raises(InputError, match="'s'"):
        a.merge(b)


def test_round_trip_keeps_counts_and_sketches() -> None:
    values = [f"k{i % 1500}" for i in range(6_000)]
    p = profile(pl.DataFrame({"s": values, "t": values[:3000] * 2}), max_exact_values=2_000)
    again = Profile.from_bytes(p.to_bytes())
    assert again == p
    assert Profile.from_bytes(again.to_bytes()) == p
    changed = profile(
        pl.DataFrame({"s": [*values[:-1], "k1"], "t": values[:3000] * 2}), max_exact_values=2_000
    )
    assert changed != p
    assert again.column("s").value_counts() == p.column("s").value_counts()  # type: ignore[attr-defined]
