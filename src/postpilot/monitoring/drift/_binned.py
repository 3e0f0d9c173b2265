"""What the binned distances share (PSI, Jensen-Shannon, Hellinger): bins and both paths.

**Bins.** A numeric column is cut at the reference's quantiles ``1/b, ...,
(b-1)/b`` (``bins=b``, deciles by default), each the smallest value whose share
of reference values at or below it is at least ``q`` (numpy's
``method="inverted_cdf"``, the definition a profile's ``quantile`` uses);
repeated edges (ties) are merged, and the bins are ``(-inf, e1], (e1, e2], ...,
(e_last, +inf)``. A categorical column has one bin per category seen on either
side. A bin's share is its count over the side's count of values.

**Sketch path, numeric.** The edges are the reference sketch's quantiles and the
shares both sketches' ``pmf`` at those edges; each share is within the sketch's
double-sided rank error ``e`` (``kll.normalized_rank_error(True)``, 99%
confidence) of the data's share of that bin. ``error_bound`` is the range of the
statistic over every share vector within ``+-e`` of the estimated one
(``_bounds``): analytic for the bins at the sketch's edges, and a worst case
that is loose (on seeded data at 1M rows with ``kll_k=200`` the observed error
was 10 to 100 times smaller). That the sketch's edges sit close enough to the
exact quantiles for this bound to also cover the raw path's statistic is
*empirical*: the tests check it at 1M rows on seeded normal, shifted, rescaled,
lognormal, uniform and integer data. A sketch that holds every value gives the
raw path's answer (exact).

**Sketch path, categorical.** Exact counts give the exact answer; a
frequent-items sketch gives the estimated table of ``_table``, and
``error_bound`` is the statistic's range over the intervals of its counts.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, Final

import numpy as np

from postpilot.errors import InputError
from postpilot.monitoring.drift._bounds import box, term_range
from postpilot.monitoring.drift._numeric import exact_values, rank_error
from postpilot.monitoring.drift._samples import Floats, Kind, NumericSample, Sample
from postpilot.monitoring.drift._table import (
    counts_of,
    novelty_of,
    table,
    table_of,
    value_counts_of,
)
from postpilot.monitoring.drift.base import DriftTest, Outcome
from postpilot.profiles import ColumnProfile, NumericColumn

__all__ = ["DEFAULT_BINS", "BinnedDriftTest", "bin_shares", "quantile_edges"]

DEFAULT_BINS: Final = 10
MAX_BINS: Final = 1_000


def quantile_edges(reference: Floats, bins: int) -> Floats:
    """The distinct reference quantiles ``1/bins, ..., (bins-1)/bins`` (inverted CDF)."""
    ranks = np.arange(1, bins) / bins
    return np.unique(np.quantile(reference, ranks, method="inverted_cdf"))


def bin_shares(values: Floats, edges: Floats) -> Floats:
    """The share of ``values`` in each bin ``(-inf, e1], (e1, e2], ..., (e_last, +inf)``."""
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    shares: Floats = counts / len(values)
    return shares


class BinnedDriftTest(DriftTest):
    """A distance between the two sides' bin shares; drift when above ``threshold``."""

    kinds: ClassVar[frozenset[Kind]] = frozenset({"numeric", "categorical"})
    has_p_value = False
    maximum: ClassVar[float] = float("inf")
    """The largest value the statistic can take (1 for Jensen-Shannon and Hellinger)."""

    def __init__(self, *, threshold: float | None = None, bins: int = DEFAULT_BINS) -> None:
        super().__init__(threshold=threshold)
        if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= MAX_BINS:
            raise InputError(
                f"bins must be an integer from 2 to {MAX_BINS}, got {bins!r}", field="bins"
            )
        self.bins = bins

    @staticmethod
    @abstractmethod
    def terms(reference: Floats, current: Floats) -> Floats:
        """Each bin's part of the statistic (before ``finish``): 0 where the shares agree."""

    @staticmethod
    def finish(total: float) -> float:
        """The statistic from the sum of the terms."""
        return total

    def statistic(self, reference: Floats, current: Floats) -> float:
        """The statistic of two share vectors over the same bins."""
        return self.finish(max(float(self.terms(reference, current).sum()), 0.0))

    def _compare_samples(self, reference: Sample, current: Sample) -> Outcome:
        if isinstance(reference, NumericSample) and isinstance(current, NumericSample):
            return self._compare_values(reference.values, current.values)
        counts = table(counts_of(reference), counts_of(current))
        return Outcome(self.statistic(counts.reference.shares, counts.current.shares))

    def _compare_values(self, reference: Floats, current: Floats) -> Outcome:
        edges = quantile_edges(reference, self.bins)
        return Outcome(self.statistic(bin_shares(reference, edges), bin_shares(current, edges)))

    def _compare_profiles(self, reference: ColumnProfile, current: ColumnProfile) -> Outcome:
        if isinstance(reference, NumericColumn) and isinstance(current, NumericColumn):
            return self._compare_sketches(reference, current)
        counts = table_of(
            value_counts_of(reference),
            value_counts_of(current),
            novelty=novelty_of(reference, current),
        )
        ref, cur = counts.reference, counts.current
        if counts.exact:
            return Outcome(self.statistic(ref.shares, cur.shares))
        return self._bounded(
            ref.shares,
            cur.shares,
            (ref.low / ref.total, ref.high / ref.total),
            (cur.low / cur.total, cur.high / cur.total),
        )

    def _compare_sketches(self, reference: NumericColumn, current: NumericColumn) -> Outcome:
        ref_values, cur_values = exact_values(reference), exact_values(current)
        if ref_values is not None and cur_values is not None:
            return self._compare_values(ref_values, cur_values)
        quantiles = reference.quantiles([i / self.bins for i in range(1, self.bins)])
        edges = sorted(set(quantiles or ()))
        ref_shares = np.asarray(reference.pmf(edges), dtype=np.float64)
        cur_shares = np.asarray(current.pmf(edges), dtype=np.float64)
        return self._bounded(
            ref_shares,
            cur_shares,
            box(ref_shares, rank_error(reference, pmf=True)),
            box(cur_shares, rank_error(current, pmf=True)),
        )

    def _bounded(
        self,
        reference: Floats,
        current: Floats,
        reference_range: tuple[Floats, Floats],
        current_range: tuple[Floats, Floats],
    ) -> Outcome:
        statistic = self.statistic(reference, current)
        low, high = term_range(self.terms, *reference_range, *current_range)
        lowest = self.finish(float(low.sum()))
        highest = min(self.finish(float(high.sum())), self.maximum)
        bound = max(statistic - lowest, highest - statistic, 0.0)
        return Outcome(statistic, None, "sketch", bound)
