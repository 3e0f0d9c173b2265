"""Two-sample Kolmogorov-Smirnov test: the largest gap between two CDFs.

Raw path: ``scipy.stats.ks_2samp`` (two-sided, ``method="auto"``): the
statistic ``D = max |F_ref(x) - F_cur(x)|`` and its p-value, exact for up to
10,000 values per side and Smirnov's asymptotic distribution above. Drift when
``p_value < threshold`` (default 0.05).

Sketch path: each KLL sketch's CDF is the empirical CDF of its retained items
weighted by their weights, so the gap between the two sketch CDFs is computed
exactly over the union of both sketches' retained items (where either CDF
steps). Each sketch CDF is within its single-sided normalized rank error ``e``
(``kll.normalized_rank_error(False)``, 99% confidence) of the data's, so

    |D_sketch - D| <= e_ref + e_cur        (error_bound)

the same allowance DataSketches' own ``ks_test`` makes. A sketch that has not
compacted holds every value: then the result is the raw path's (exact). The
p-value is scipy's for the estimated statistic at the true sample sizes, by the
method ``method="auto"`` picks for them; it carries no separate bound.

>>> import numpy as np
>>> result = KolmogorovSmirnov().from_samples(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0]))
>>> (round(result.statistic, 4), round(result.p_value, 4), result.drifted)
(0.3333, 1.0, False)
"""

from __future__ import annotations

from typing import Final

import numpy as np

from postpilot.monitoring.drift import _scipy
from postpilot.monitoring.drift._numeric import NumericDriftTest, rank_error, weighted_items
from postpilot.monitoring.drift._samples import Floats
from postpilot.monitoring.drift.base import Outcome, register
from postpilot.profiles import NumericColumn

__all__ = ["KolmogorovSmirnov"]

SCIPY_EXACT_MAX_N: Final = 10_000  # ks_2samp's method="auto" is exact up to this many values


@register
class KolmogorovSmirnov(NumericDriftTest):
    """Two-sample Kolmogorov-Smirnov test; drift when ``p_value < threshold``."""

    key = "ks"
    default_threshold = 0.05
    has_p_value = True

    def _compare_values(self, reference: Floats, current: Floats) -> Outcome:
        statistic, p_value = _scipy.ks_2samp(reference, current)
        return Outcome(statistic, p_value)

    def _compare_sketches(self, reference: NumericColumn, current: NumericColumn) -> Outcome:
        ref_items, ref_weights = weighted_items(reference)
        cur_items, cur_weights = weighted_items(current)
        n_ref, n_cur = int(reference.kll.n), int(current.kll.n)
        bound = rank_error(reference) + rank_error(current)
        if max(n_ref, n_cur) <= SCIPY_EXACT_MAX_N:
            # small enough to hand scipy the stand-in samples: its exact p-value for D
            statistic, p_value = _scipy.ks_2samp(
                np.repeat(ref_items, ref_weights.astype(np.int64)),
                np.repeat(cur_items, cur_weights.astype(np.int64)),
            )
        else:
            statistic = cdf_gap(ref_items, ref_weights, cur_items, cur_weights)
            large, small = sorted((float(n_ref), float(n_cur)), reverse=True)
            p_value = _scipy.kstwo_sf(statistic, round(large * small / (large + small)))
        return Outcome(statistic, p_value, "sketch", bound)


def cdf_gap(
    ref_items: Floats, ref_weights: Floats, cur_items: Floats, cur_weights: Floats
) -> float:
    """``max |F_ref - F_cur|`` of two weighted samples (items sorted)."""
    points = np.concatenate([ref_items, cur_items])
    return float(
        np.max(np.abs(_cdf(ref_items, ref_weights, points) - _cdf(cur_items, cur_weights, points)))
    )


def _cdf(items: Floats, weights: Floats, points: Floats) -> Floats:
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    shares: Floats = cumulative[np.searchsorted(items, points, side="right")] / cumulative[-1]
    return shares
