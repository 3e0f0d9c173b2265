"""The profile of a string or boolean column, and its accumulator.

Exact value counts are kept while the column has at most ``max_exact_values``
distinct values; past that they are dropped for good (``exact_counts`` is False)
and only the frequent-items sketch answers ``value_counts``. An HLL sketch counts
distinct values whatever their number. Values are strings: booleans are
``"true"`` and ``"false"``. DataSketches' HLL ignores the empty string, so an
estimated ``distinct_count`` leaves it out (exact counts include it).

>>> import polars as pl
>>> from postpilot.profiles import profile
>>> col = profile(pl.DataFrame({"tier": ["gold", "free", "free", None]})).column("tier")
>>> col.value_counts().counts
{'free': 2, 'gold': 1}
>>> col.distinct_count().value
2.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Self

import datasketches as ds

from postpilot.profiles.column import (
    ColumnProfile,
    Estimate,
    check_std_devs,
    hll_estimate,
    type_conflict,
)
from postpilot.profiles.hll import HllAccumulator, hll_union
from postpilot.profiles.summary import CategoricalBatch

__all__ = ["CategoricalAccumulator", "CategoricalColumn", "ValueCounts"]


@dataclass(frozen=True, slots=True)
class ValueCounts:
    """Counts of values, most frequent first.

    When ``exact``, ``counts`` holds every value and its exact count. Otherwise
    it holds the values the frequent-items sketch cannot rule out as frequent,
    with estimates; each true count lies in ``[lower[v], upper[v]]``, and any
    value not listed occurs at most ``max_error`` times.
    """

    counts: dict[str, int]
    exact: bool
    lower: dict[str, int]
    upper: dict[str, int]
    max_error: int
    total: int


class CategoricalColumn(ColumnProfile):
    """A ``string`` or ``bool`` column: exact counts while small; frequent items and HLL."""

    kind = "categorical"
    __slots__ = ("counts", "frequent", "frequent_lg_size", "hll", "max_exact_values")

    def __init__(
        self,
        name: str,
        type: str,
        rows: int,
        nulls: int,
        *,
        counts: dict[str, int] | None,
        max_exact_values: int,
        frequent: ds.frequent_strings_sketch,
        frequent_lg_size: int,
        hll: ds.hll_sketch,
    ) -> None:
        super().__init__(name, type, rows, nulls)
        self.counts = counts
        self.max_exact_values = max_exact_values
        self.frequent = frequent
        self.frequent_lg_size = frequent_lg_size
        self.hll = hll

    @property
    def exact_counts(self) -> bool:
        """True while every distinct value's exact count is kept."""
        return self.counts is not None

    def value_counts(self) -> ValueCounts:
        """Exact counts when kept, else the frequent-items sketch's estimates and bounds."""
        if self.counts is not None:
            ordered = dict(sorted(self.counts.items(), key=lambda item: (-item[1], item[0])))
            return ValueCounts(ordered, True, ordered, ordered, 0, self.count)
        rows = sorted(
            self.frequent.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES),
            key=lambda row: (-row[1], row[0]),
        )
        max_error = math.ceil(
            ds.frequent_strings_sketch.get_apriori_error(self.frequent_lg_size, self.count)
        )
        return ValueCounts(
            counts={item: int(estimate) for item, estimate, _, _ in rows},
            exact=False,
            lower={item: int(lower) for item, _, lower, _ in rows},
            upper={item: int(upper) for item, _, _, upper in rows},
            max_error=max_error,
            total=self.count,
        )

    def distinct_count(self, std_devs: int = 2) -> Estimate:
        if self.counts is not None:
            check_std_devs(std_devs)
            n = float(len(self.counts))
            return Estimate(n, n, n, exact=True)
        return hll_estimate(self.hll, std_devs)

    def unseen_in(self, reference: CategoricalColumn, std_devs: int = 2) -> Estimate:
        """How many of this column's distinct values ``reference`` never holds.

        Exact when both sides kept exact counts; otherwise from the HLL sketches,
        ``|this union reference| - |reference|``, with bounds from the union's and the
        reference's bounds at ``std_devs`` (clipped to ``[0, distinct values here]``):
        a value is counted as unseen only as far as the sketches' error allows.
        """
        if self.counts is not None and reference.counts is not None:
            n = float(len(self.counts.keys() - reference.counts.keys()))
            return Estimate(n, n, n, exact=True)
        check_std_devs(std_devs)
        lg_k = max(self.hll.lg_config_k, reference.hll.lg_config_k)
        union = hll_union([self.hll, reference.hll], lg_k)
        mine = self.distinct_count(std_devs)
        theirs = reference.distinct_count(std_devs)
        both = hll_estimate(union, std_devs)

        def clip(value: float) -> float:
            return min(max(value, 0.0), mine.upper)

        low = clip(both.lower - theirs.upper)
        high = clip(both.upper - theirs.lower)
        return Estimate(min(max(clip(both.value - theirs.value), low), high), low, high)

    def with_missing(self, rows: int) -> Self:
        return self._replace(rows=self.rows + rows, nulls=self.nulls + rows)

    def _merge_same_kind(self, other: Self) -> Self:
        if self.type != other.type:
            raise type_conflict(self.name, self.type, other.type)
        cap = min(self.max_exact_values, other.max_exact_values)
        counts: dict[str, int] | None = None
        if self.counts is not None and other.counts is not None:
            counts = dict(self.counts)
            for value, n in other.counts.items():
                counts[value] = counts.get(value, 0) + n
            if len(counts) > cap:
                counts = None
        lg_size = max(self.frequent_lg_size, other.frequent_lg_size)
        frequent = ds.frequent_strings_sketch(lg_size)
        frequent.merge(self.frequent)
        frequent.merge(other.frequent)
        return self._replace(
            rows=self.rows + other.rows,
            nulls=self.nulls + other.nulls,
            counts=counts,
            max_exact_values=cap,
            frequent=frequent,
            frequent_lg_size=lg_size,
            hll=hll_union([self.hll, other.hll], max(self.hll.lg_config_k, other.hll.lg_config_k)),
        )

    def _replace(self, **changes: Any) -> Self:
        fields: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "rows": self.rows,
            "nulls": self.nulls,
            "counts": self.counts,
            "max_exact_values": self.max_exact_values,
            "frequent": self.frequent,
            "frequent_lg_size": self.frequent_lg_size,
            "hll": self.hll,
        }
        fields.update(changes)
        return type(self)(**fields)

    def _state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        meta = self._base_state()
        meta.update(
            counts=self.counts,
            max_exact_values=self.max_exact_values,
            frequent_lg_size=self.frequent_lg_size,
        )
        return meta, {"frequent": self.frequent.serialize(), "hll": self.hll.serialize_updatable()}

    def _comparable(self) -> object:
        # a frequent-items sketch serializes its hash map in insertion order: compare
        # what it answers (every tracked item with its bounds) instead of its bytes
        meta, sketches = self._state()
        tracked = self.frequent.get_frequent_items(
            ds.frequent_items_error_type.NO_FALSE_NEGATIVES, 0
        )
        sketches["frequent"] = (self.frequent.total_weight, sorted(tracked))  # type: ignore[assignment]
        return meta, sketches

    @classmethod
    def _from_state(cls, meta: dict[str, Any], sketches: dict[str, bytes]) -> Self:
        return cls(
            meta["name"],
            meta["type"],
            meta["rows"],
            meta["nulls"],
            counts=meta["counts"],
            max_exact_values=meta["max_exact_values"],
            frequent=ds.frequent_strings_sketch.deserialize(sketches["frequent"]),
            frequent_lg_size=meta["frequent_lg_size"],
            hll=ds.hll_sketch.deserialize(sketches["hll"]),
        )


class CategoricalAccumulator:
    """Folds batch summaries of one string or boolean column into a CategoricalColumn."""

    def __init__(
        self,
        name: str,
        type: str,
        *,
        max_exact_values: int,
        frequent_lg_size: int,
        hll_lg_k: int,
    ) -> None:
        self.name = name
        self.type = type
        self.rows = 0
        self.nulls = 0
        self.counts: dict[str, int] | None = {}
        self.max_exact_values = max_exact_values
        self.frequent_lg_size = frequent_lg_size
        self.frequent = ds.frequent_strings_sketch(frequent_lg_size)
        self.hll = HllAccumulator(hll_lg_k)

    def add_missing(self, rows: int) -> None:
        """Count ``rows`` rows in which the column is null or absent."""
        self.rows += rows
        self.nulls += rows

    def update(self, batch: CategoricalBatch) -> None:
        """Add one batch."""
        self.rows += batch.rows
        self.nulls += batch.nulls
        update = self.frequent.update
        for value, n in zip(batch.values, batch.counts, strict=True):
            update(value, n)
        self.hll.update_strings(batch.values)
        if self.counts is not None:
            if len(batch.values) > self.max_exact_values:
                self.counts = None
                return
            exact = self.counts
            for value, n in zip(batch.values, batch.counts, strict=True):
                exact[value] = exact.get(value, 0) + n
            if len(exact) > self.max_exact_values:
                self.counts = None

    def finish(self) -> CategoricalColumn:
        """The profile of everything added so far."""
        return CategoricalColumn(
            self.name,
            self.type,
            self.rows,
            self.nulls,
            counts=self.counts,
            max_exact_values=self.max_exact_values,
            frequent=self.frequent,
            frequent_lg_size=self.frequent_lg_size,
            hll=self.hll.result(),
        )
