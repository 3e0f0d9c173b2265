"""Pearson's chi-square test of homogeneity on the 2 x k table of category counts.

Raw path: ``scipy.stats.chi2_contingency`` with its defaults on the table whose
rows are the reference's and the current's counts and whose columns are the
categories seen on either side (a category one side lacks counts 0 there).
scipy applies Yates' continuity correction only when the table has one degree
of freedom (two categories); with one category there is nothing to test
(statistic 0, p-value 1). Drift when ``p_value < threshold`` (default 0.05).
With large samples any difference is significant: the default rule uses this
test only up to 1,000 values a side (see ``defaults``).

Sketch path: exact counts give the exact answer. From frequent-items sketches
(the estimated table of ``_table``) the statistic and p-value are scipy's on the
estimated counts, and since ``chi2 = N * w * (1 - w) * sum_i (p_i - q_i)**2 /
(w * p_i + (1 - w) * q_i)`` (``p``, ``q`` the two sides' shares, ``w`` the
reference's part of the ``N`` values), ``error_bound`` is that expression's
range over the intervals of the counts (``_bounds``). It bounds the statistic
without Yates' correction (which only a two-bin estimated table gets); the
p-value carries no separate bound.

>>> result = ChiSquare().from_samples(["a"] * 30 + ["b"] * 70, ["a"] * 60 + ["b"] * 40)
>>> (round(result.statistic, 3), round(result.p_value, 6), result.drifted)
(16.99, 3.8e-05, True)
"""

from __future__ import annotations

from functools import partial

import numpy as np

from postpilot.monitoring.drift import _scipy
from postpilot.monitoring.drift._bounds import term_range
from postpilot.monitoring.drift._samples import Floats
from postpilot.monitoring.drift._table import CategoricalDriftTest, Table
from postpilot.monitoring.drift.base import Outcome, register

__all__ = ["ChiSquare", "homogeneity_terms"]


@register
class ChiSquare(CategoricalDriftTest):
    """Chi-square test of homogeneity; drift when ``p_value < threshold``."""

    key = "chi2"
    default_threshold = 0.05
    has_p_value = True

    def _compare_table(self, table: Table) -> Outcome:
        ref, cur = table.reference, table.current
        observed = np.vstack([ref.estimate, cur.estimate])
        statistic, p_value = _scipy.chi2_contingency(observed[:, observed.sum(axis=0) > 0])
        if table.exact:
            return Outcome(statistic, p_value)
        total = ref.total + cur.total
        weight = ref.total / total
        low, high = term_range(
            partial(homogeneity_terms, weight=weight),
            ref.low / ref.total,
            ref.high / ref.total,
            cur.low / cur.total,
            cur.high / cur.total,
        )
        scale = total * weight * (1.0 - weight)
        lowest, highest = scale * float(low.sum()), scale * float(high.sum())
        return Outcome(
            statistic, p_value, "sketch", max(statistic - lowest, highest - statistic, 0.0)
        )


def homogeneity_terms(reference: Floats, current: Floats, *, weight: float) -> Floats:
    """Per bin, ``(p - q)**2 / (w * p + (1 - w) * q)``: chi-square over ``N * w * (1 - w)``."""
    pooled = weight * reference + (1.0 - weight) * current
    gap = np.square(reference - current)
    terms: Floats = np.divide(gap, pooled, out=np.zeros_like(gap), where=pooled > 0)
    return terms
