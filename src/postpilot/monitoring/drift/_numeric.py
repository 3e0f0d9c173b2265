"""What numeric drift tests share: reading KLL sketches, and the exact shortcut.

A KLL sketch retains items with weights; the share of values <= x it reports is
the weight of the retained items <= x over ``n``. So the retained items,
repeated by weight, are a stand-in sample of size ``n`` whose empirical CDF is
the sketch's CDF. Until a sketch compacts (``is_estimation_mode()`` is False)
every item has weight 1 and the stand-in *is* the data: tests then run the raw
path and the result is exact.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from postpilot.errors import InputError
from postpilot.monitoring.drift._samples import Floats, Kind, NumericSample, Sample
from postpilot.monitoring.drift.base import DriftTest, Outcome
from postpilot.profiles import ColumnProfile, NumericColumn

__all__ = ["NumericDriftTest", "exact_values", "rank_error", "require_finite", "weighted_items"]


def rank_error(column: NumericColumn, *, pmf: bool = False) -> float:
    """The sketch's normalized rank error at 99% confidence; 0 while it holds every value.

    ``pmf=False`` is the single-sided error of one rank (a CDF value); ``pmf=True``
    the double-sided error of the share of one bin.
    """
    if not column.kll.is_estimation_mode():
        return 0.0
    return float(column.kll.normalized_rank_error(pmf))


def weighted_items(column: NumericColumn) -> tuple[Floats, Floats]:
    """The sketch's retained items, sorted and distinct, and their weights (which sum to
    ``n``).

    The weights are read off the sketch's own CDF at its items, not from iterating the
    sketch: the Python binding's iterator reports weight 1 for every item of a sketch
    built by merging (measured with datasketches 5: 2,003 items of weight 1 standing for
    25,000 values), which skewed every statistic computed from a merged reference, the
    reference of every chunked run.
    """
    sketch = column.kll
    if sketch.is_empty():
        return np.zeros(0), np.zeros(0)
    items = np.unique(np.fromiter((item for item, _ in sketch), dtype=np.float64))
    ranks = np.asarray(sketch.get_cdf(items.tolist(), True), dtype=np.float64)[: len(items)]
    weights = np.rint(np.diff(ranks, prepend=0.0) * sketch.n)  # KLL weights are whole
    return items, weights


def exact_values(column: NumericColumn) -> Floats | None:
    """Every value the sketch was given, sorted, while it holds them all; else None."""
    if column.kll.is_estimation_mode():
        return None
    items, weights = weighted_items(column)
    return np.repeat(items, weights.astype(np.int64))


def require_finite(values: Floats, *, role: str, test: str) -> None:
    """InputError (naming no column: the caller adds it) if a sample has infinite values."""
    if len(values) and not (np.isfinite(values[0]) and np.isfinite(values[-1])):
        raise InputError(
            f"the {role} sample has infinite values; the '{test}' distance is undefined for them",
            hint="Drop or clip infinite values, or use a rank-based test such as 'ks' or 'psi'",
        )


class NumericDriftTest(DriftTest):
    """A drift test of numeric columns: on values, or on two KLL sketches."""

    kinds: ClassVar[frozenset[Kind]] = frozenset({"numeric"})

    @abstractmethod
    def _compare_values(self, reference: Floats, current: Floats) -> Outcome:
        """The exact outcome on two sorted samples of non-NaN doubles."""

    @abstractmethod
    def _compare_sketches(self, reference: NumericColumn, current: NumericColumn) -> Outcome:
        """The outcome estimated from two profiles, at least one of them compacted."""

    def _compare_samples(self, reference: Sample, current: Sample) -> Outcome:
        return self._compare_values(_values(reference), _values(current))

    def _compare_profiles(self, reference: ColumnProfile, current: ColumnProfile) -> Outcome:
        ref, cur = _numeric(reference), _numeric(current)
        ref_values, cur_values = exact_values(ref), exact_values(cur)
        if ref_values is not None and cur_values is not None:
            return self._compare_values(ref_values, cur_values)
        return self._compare_sketches(ref, cur)


def _values(sample: Sample) -> Floats:
    if isinstance(sample, NumericSample):
        return sample.values
    raise TypeError(f"expected a numeric sample, got {sample.kind}")  # the caller checked kinds


def _numeric(profile: ColumnProfile) -> NumericColumn:
    if isinstance(profile, NumericColumn):
        return profile
    raise TypeError(f"expected a numeric profile, got {profile.kind}")  # the caller checked kinds
