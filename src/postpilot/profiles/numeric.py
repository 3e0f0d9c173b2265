"""The profile of a numeric (int or float) column, and its accumulator.

Exact parts: counts (``rows``, ``nulls``, ``nans``), ``min``, ``max`` and the
moments (count, mean, M2). Sketches: a KLL quantiles sketch (``kll``, ranks within
``rank_error`` of the truth at 99% confidence) and an HLL distinct-count sketch,
which a profile made without one (``hll`` None: a drift run's float and temporal
columns, see :class:`~postpilot.profiles.accumulator.Settings`) does not hold.
NaN is counted in ``nans`` and left out of everything else; infinities are
values (they make ``mean`` and ``std`` infinite or NaN). Integers enter the
sketches as doubles, exact up to 2**53.

>>> import polars as pl
>>> from postpilot.profiles import profile
>>> col = profile(pl.DataFrame({"x": [1.0, 2.0, None, 4.0]})).column("x")
>>> (col.rows, col.nulls, col.min, col.max, col.mean, col.quantile(0.5))
(4, 1, 1.0, 4.0, 2.3333333333333335, 2.0)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Self

import datasketches as ds

from postpilot.errors import InputError
from postpilot.profiles.column import ColumnProfile, Estimate, hll_estimate, type_conflict
from postpilot.profiles.hll import HllAccumulator, hll_union
from postpilot.profiles.moments import Moments
from postpilot.profiles.summary import NumericBatch

__all__ = ["NumericAccumulator", "NumericColumn"]

Number = int | float


class NumericColumn(ColumnProfile):
    """An ``int`` or ``float`` column: exact counts, min, max and moments; KLL and HLL."""

    kind = "numeric"
    __slots__ = ("hll", "kll", "max", "min", "moments", "nans")

    def __init__(
        self,
        name: str,
        type: str,
        rows: int,
        nulls: int,
        *,
        nans: int,
        min: Number | None,
        max: Number | None,
        moments: Moments,
        kll: ds.kll_doubles_sketch,
        hll: ds.hll_sketch | None,
    ) -> None:
        super().__init__(name, type, rows, nulls)
        self.nans = nans
        self.min = min
        self.max = max
        self.moments = moments
        self.kll = kll
        self.hll = hll

    @property
    def mean(self) -> float | None:
        """The mean of the non-null, non-NaN values; None when there are none."""
        return self.moments.mean if self.moments.count else None

    @property
    def variance(self) -> float | None:
        """The sample variance (``ddof=1``); None with fewer than two values."""
        return self.moments.variance

    @property
    def std(self) -> float | None:
        """The sample standard deviation (``ddof=1``); None with fewer than two values."""
        return self.moments.std

    @property
    def rank_error(self) -> float:
        """The KLL sketch's single-sided normalized rank error (99% confidence)."""
        return float(self.kll.normalized_rank_error(False))

    def quantile(self, q: float) -> float | None:
        """The smallest value whose rank (share of values <= it) is at least ``q``.

        ``quantile(0)`` and ``quantile(1)`` are the exact minimum and maximum.
        """
        _check_rank(q, "q")
        return None if self.kll.is_empty() else self._quantile(q)

    def quantiles(self, qs: Sequence[float]) -> list[float] | None:
        """``quantile(q)`` for each of ``qs``; None when there are no values."""
        for q in qs:
            _check_rank(q, "qs")
        return None if self.kll.is_empty() else [self._quantile(q) for q in qs]

    def _quantile(self, q: float) -> float:
        if q == 0.0:
            return float(self.kll.get_min_value())
        if q == 1.0:
            return float(self.kll.get_max_value())
        return float(self.kll.get_quantile(q, True))

    def rank(self, x: float) -> float | None:
        """The estimated share of values <= ``x``; None when there are no values."""
        if math.isnan(x):
            raise InputError("rank of NaN is undefined", field="x")
        return None if self.kll.is_empty() else float(self.kll.get_rank(x, True))

    def cdf(self, values: Sequence[float]) -> list[float] | None:
        """``rank(v)`` for each of ``values``, in any order; None when there are no values."""
        if any(math.isnan(v) for v in values):
            raise InputError("cdf of NaN is undefined", field="values")
        if self.kll.is_empty():
            return None
        return [float(self.kll.get_rank(v, True)) for v in values]

    def pmf(self, split_points: Sequence[float]) -> list[float] | None:
        """The share of values in each bin ``(-inf, p0], (p0, p1], ..., (pn, +inf)``.

        ``split_points`` must be strictly increasing. The error of each share is
        at most ``kll.normalized_rank_error(True)``.
        """
        points = [float(p) for p in split_points]
        if any(math.isnan(p) for p in points) or any(a >= b for a, b in itertools.pairwise(points)):
            raise InputError(
                "split_points must be strictly increasing numbers", field="split_points"
            )
        return None if self.kll.is_empty() else list(self.kll.get_pmf(points, True))

    def distinct_count(self, std_devs: int = 2) -> Estimate:
        if self.hll is None:
            raise InputError(
                f"the profile of column '{self.name}' has no distinct count: it was made "
                "without one, as a drift run makes float and temporal columns' profiles",
                field=self.name,
                hint="Profile the data with postpilot.profiles.profile() for distinct counts",
            )
        return hll_estimate(self.hll, std_devs)

    def with_missing(self, rows: int) -> Self:
        return self._replace(rows=self.rows + rows, nulls=self.nulls + rows)

    def _merge_same_kind(self, other: Self) -> Self:
        merged_type = self._merged_type(other)
        kll = ds.kll_doubles_sketch(max(self.kll.k, other.kll.k))
        kll.merge(self.kll)
        kll.merge(other.kll)
        return self._replace(
            type=merged_type,
            rows=self.rows + other.rows,
            nulls=self.nulls + other.nulls,
            nans=self.nans + other.nans,
            min=_pick(min, self.min, other.min),
            max=_pick(max, self.max, other.max),
            moments=self.moments.merge(other.moments),
            kll=kll,
            hll=_union(self.hll, other.hll),
        )

    def _merged_type(self, other: NumericColumn) -> str:
        if self.type == other.type:
            return self.type
        if {self.type, other.type} == {"int", "float"}:
            return "float"
        raise type_conflict(self.name, self.type, other.type)

    def _replace(self, **changes: Any) -> Self:
        fields = self._fields()
        fields.update(changes)
        return type(self)(**fields)

    def _fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "rows": self.rows,
            "nulls": self.nulls,
            "nans": self.nans,
            "min": self.min,
            "max": self.max,
            "moments": self.moments,
            "kll": self.kll,
            "hll": self.hll,
        }

    def _state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        meta = self._base_state()
        meta.update(
            nans=self.nans,
            min=self.min,
            max=self.max,
            moments=[self.moments.count, self.moments.mean, self.moments.m2],
        )
        sketches = {"kll": self.kll.serialize()}
        if self.hll is not None:
            sketches["hll"] = self.hll.serialize_updatable()
        return meta, sketches

    @classmethod
    def _from_state(cls, meta: dict[str, Any], sketches: dict[str, bytes]) -> Self:
        count, mean, m2 = meta["moments"]
        return cls(
            meta["name"],
            meta["type"],
            meta["rows"],
            meta["nulls"],
            nans=meta["nans"],
            min=meta["min"],
            max=meta["max"],
            moments=Moments(int(count), float(mean), float(m2)),
            kll=ds.kll_doubles_sketch.deserialize(sketches["kll"]),
            hll=ds.hll_sketch.deserialize(sketches["hll"]) if "hll" in sketches else None,
        )


class NumericAccumulator:
    """Folds batch summaries of one numeric column into a NumericColumn."""

    def __init__(self, name: str, type: str, *, kll_k: int, hll_lg_k: int | None) -> None:
        """``hll_lg_k`` None: no distinct-count sketch (``distinct_count`` raises)."""
        self.name = name
        self.type = type
        self.rows = 0
        self.nulls = 0
        self.nans = 0
        self.min: Number | None = None
        self.max: Number | None = None
        self.moments = Moments()
        self.kll = ds.kll_doubles_sketch(kll_k)
        self.hll = HllAccumulator(hll_lg_k) if hll_lg_k is not None else None

    def add_missing(self, rows: int) -> None:
        """Count ``rows`` rows in which the column is null or absent."""
        self.rows += rows
        self.nulls += rows

    def update(self, batch: NumericBatch) -> None:
        """Add one batch."""
        self.rows += batch.rows
        self.nulls += batch.nulls
        self.nans += batch.nans
        if batch.moments.count == 0:
            return
        self.min = _pick(min, self.min, batch.min)
        self.max = _pick(max, self.max, batch.max)
        self.moments = self.moments.merge(batch.moments)
        self.kll.update(batch.values)
        if self.hll is not None:
            self.hll.update_doubles(batch.distinct)

    def finish(self) -> NumericColumn:
        """The profile of everything added so far."""
        return NumericColumn(
            self.name,
            self.type,
            self.rows,
            self.nulls,
            nans=self.nans,
            min=self.min,
            max=self.max,
            moments=self.moments,
            kll=self.kll,
            hll=self.hll.result() if self.hll is not None else None,
        )


def _union(a: ds.hll_sketch | None, b: ds.hll_sketch | None) -> ds.hll_sketch | None:
    """The union of two distinct-count sketches; None (not counted) when either is None."""
    if a is None or b is None:
        return None
    return hll_union([a, b], max(a.lg_config_k, b.lg_config_k))


def _pick(choose: Any, a: Number | None, b: Number | None) -> Number | None:
    if a is None:
        return b
    if b is None:
        return a
    result: Number = choose(a, b)
    return result


def _check_rank(q: float, field: str) -> None:
    if not 0.0 <= q <= 1.0:
        raise InputError(f"a rank must be between 0 and 1, got {q!r}", field=field)
