"""Category counts of the two sides over the same bins, exact or estimated.

From raw samples, or profiles that kept exact counts, every category is a bin
and every count is exact. A profile past ``max_exact_values`` distinct values
keeps only a frequent-items sketch: each listed value's true count lies in
``[lower, upper]`` and an unlisted value occurs at most ``max_error`` times
(``ValueCounts``). The bins are then the values that are surely frequent on
either side (``lower > max_error``) plus one last *other* bin for everything
else, with the interval of counts each bin can hold:

- a bin's count on an estimated side is ``[lower, upper]`` if listed, else
  ``[0, max_error]``; the *other* bin holds the rest of the side's total, so
  ``[total - sum(upper), total - sum(lower)]``;
- a single value inside *other* occurs at most ``2 * max_error`` times (its
  lower bound is at most ``max_error``, and upper - lower is at most that too).

Values never seen on the other side. Merged into one *other* bin, the rare values
of two sides that share none (100,000 new values, none seen before) would look
identical. So when the sides are estimated and both distinct-count sketches are
there (``table_of(..., novelty=...)``), *other* is split in three: values both
sides may hold, values only the current data holds, values only the reference
holds. How many distinct values each side holds that the other never does comes
from the HLL sketches (``CategoricalColumn.unseen_in``, its lower bound: counted
as unseen only beyond the sketches' error), and the rows of a side's *other* bin
are split by that count: each such value holds at least one row, so the split is
the least the sketches make sure of (an estimate that errs low, like the merge).
The intervals of the three bins are ``[0, high of *other*]`` on the sides that
may hold them (0 where they cannot): the statistic's bound then spans everything
from no value being new to every rare value being new, which is what the
sketches cannot tell apart.

Merging values into *other* can only lower a divergence (Jensen-Shannon,
Hellinger, chi-square; the data-processing inequality), so drift confined to
rare values may be understated on that path. PSI's floor on tiny shares breaks
that rule: many rare values each under the floor count as equal, merged they
may not, so the merged PSI can be higher. The error bounds cover the estimated
counts, not the merge.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from postpilot.monitoring.drift._samples import CategoricalSample, Floats, Kind, Sample
from postpilot.monitoring.drift.base import DriftTest, Outcome
from postpilot.profiles import CategoricalColumn, ColumnProfile, ValueCounts

__all__ = [
    "CategoricalDriftTest",
    "Counts",
    "Novelty",
    "Table",
    "counts_of",
    "exact_counts",
    "table",
    "table_of",
    "value_counts_of",
]


@dataclass(frozen=True, slots=True)
class Counts:
    """One side of a table: per bin, the estimated count and the interval of true ones."""

    estimate: Floats
    low: Floats
    high: Floats
    total: int
    other_value_max: int  # most times one value merged into the other bin can occur

    @property
    def shares(self) -> Floats:
        share: Floats = self.estimate / self.total
        return share


@dataclass(frozen=True, slots=True)
class Table:
    """The reference's and current's counts over ``labels`` (plus *other* if ``has_other``)."""

    labels: tuple[str, ...]
    reference: Counts
    current: Counts
    has_other: bool

    @property
    def exact(self) -> bool:
        """True when both sides' counts are exact (then no value is merged into *other*)."""
        return not self.has_other

    @property
    def labelled(self) -> slice:
        """The bins that are single values (all but *other*)."""
        return slice(0, len(self.labels))


@dataclass(frozen=True, slots=True)
class Novelty:
    """Distinct values each side holds that the other never does (lower bounds), and each
    side's distinct values (estimates)."""

    new_in_current: float
    gone_from_reference: float
    current_distinct: float
    reference_distinct: float


def novelty_of(reference: ColumnProfile, current: ColumnProfile) -> Novelty | None:
    """The Novelty of two categorical profiles (None unless both are categorical)."""
    if not (isinstance(reference, CategoricalColumn) and isinstance(current, CategoricalColumn)):
        return None
    return Novelty(
        current.unseen_in(reference).lower,
        reference.unseen_in(current).lower,
        current.distinct_count().value,
        reference.distinct_count().value,
    )


def exact_counts(counts: Mapping[str, int]) -> ValueCounts:
    """Exact counts as the ValueCounts a profile with exact counts gives."""
    ordered = dict(counts)
    return ValueCounts(ordered, True, ordered, ordered, 0, sum(ordered.values()))


def table(reference: Mapping[str, int], current: Mapping[str, int]) -> Table:
    """The exact table of two samples' category counts."""
    return table_of(exact_counts(reference), exact_counts(current))


def table_of(
    reference: ValueCounts, current: ValueCounts, *, novelty: Novelty | None = None
) -> Table:
    """The table of two sides' value counts, exact or estimated (see the module docstring);
    with ``novelty``, an estimated table splits *other* by values one side never holds."""
    labels = tuple(sorted(set(_bins(reference)) | set(_bins(current))))
    has_other = not (reference.exact and current.exact)
    ref = _side(reference, labels, has_other)
    cur = _side(current, labels, has_other)
    if has_other and novelty is not None:
        ref, cur = _split_other(ref, cur, novelty)
    return Table(labels, ref, cur, has_other)


def _split_other(ref: Counts, cur: Counts, novelty: Novelty) -> tuple[Counts, Counts]:
    """Split the *other* bin into values both may hold, only current, only reference."""

    def split(side: Counts, unseen: float, theirs_only: bool) -> Counts:
        rest, high = side.estimate[-1], side.high[-1]
        only = min(rest, unseen)  # each unseen value holds at least one row: no more is sure
        extra = [rest - only, 0.0, only] if theirs_only else [rest - only, only, 0.0]
        extra_high = [high, 0.0, high] if theirs_only else [high, high, 0.0]
        return Counts(
            np.append(side.estimate[:-1], extra),
            np.append(side.low[:-1], [0.0, 0.0, 0.0]),
            np.append(side.high[:-1], extra_high),
            side.total,
            side.other_value_max,
        )

    # bins after the values: [other, only in the current data, only in the reference]
    return (
        split(ref, novelty.gone_from_reference, theirs_only=True),
        split(cur, novelty.new_in_current, theirs_only=False),
    )


def _bins(counts: ValueCounts) -> Iterable[str]:
    if counts.exact:
        return counts.counts
    return (value for value, low in counts.lower.items() if low > counts.max_error)


def _side(counts: ValueCounts, labels: tuple[str, ...], has_other: bool) -> Counts:
    unlisted = 0 if counts.exact else counts.max_error
    estimate = np.array([counts.counts.get(v, 0) for v in labels], dtype=np.float64)
    low = np.array([counts.lower.get(v, 0) for v in labels], dtype=np.float64)
    high = np.array([counts.upper.get(v, unlisted) for v in labels], dtype=np.float64)
    if has_other:
        total = float(counts.total)
        rest = (total - estimate.sum(), total - high.sum(), total - low.sum())
        estimate = np.append(estimate, max(rest[0], 0.0))
        low = np.append(low, max(rest[1], 0.0))
        high = np.append(high, min(max(rest[2], 0.0), total))
    return Counts(estimate, low, high, counts.total, 2 * unlisted)


class CategoricalDriftTest(DriftTest):
    """A drift test of categorical columns, computed on a Table."""

    kinds: ClassVar[frozenset[Kind]] = frozenset({"categorical"})

    @abstractmethod
    def _compare_table(self, table: Table) -> Outcome:
        """The outcome on a table; exact when the table is."""

    def _compare_samples(self, reference: Sample, current: Sample) -> Outcome:
        return self._compare_table(table(counts_of(reference), counts_of(current)))

    def _compare_profiles(self, reference: ColumnProfile, current: ColumnProfile) -> Outcome:
        return self._compare_table(
            table_of(
                value_counts_of(reference),
                value_counts_of(current),
                novelty=novelty_of(reference, current),
            )
        )


def counts_of(sample: Sample) -> dict[str, int]:
    """A categorical sample's counts (the caller checked the kind)."""
    if isinstance(sample, CategoricalSample):
        return sample.counts
    raise TypeError(f"expected a categorical sample, got {sample.kind}")


def value_counts_of(profile: ColumnProfile) -> ValueCounts:
    """A categorical profile's value counts (the caller checked the kind)."""
    if isinstance(profile, CategoricalColumn):
        return profile.value_counts()
    raise TypeError(f"expected a categorical profile, got {profile.kind}")
