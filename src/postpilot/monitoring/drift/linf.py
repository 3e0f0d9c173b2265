"""L-infinity distance: the largest change in any one category's share.

``L = max_v |r_v - c_v|`` over the categories seen on either side, ``r_v`` and
``c_v`` the reference's and current's shares of category ``v``: equal to
``scipy.spatial.distance.chebyshev`` of the share vectors. In [0, 1]; drift
when ``L > threshold`` (default 0.1: some category gained or lost more than 10
points).

Sketch path: exact counts give the exact answer. From frequent-items sketches
the maximum runs over the surely frequent values (see ``_table``); each share
lies in the interval its count bounds give, and a value merged into *other*
has at most ``2 * max_error / total`` of either side, so ``error_bound`` is
``L``'s range over those intervals: a deterministic bound (frequent-items
bounds are not probabilistic).

>>> result = LInfinity().from_samples(["a", "a", "b", "b"], ["a", "b", "b", "b"])
>>> (result.statistic, result.drifted)
(0.25, True)
"""

from __future__ import annotations

import numpy as np

from postpilot.monitoring.drift._bounds import term_range
from postpilot.monitoring.drift._samples import Floats
from postpilot.monitoring.drift._table import CategoricalDriftTest, Table
from postpilot.monitoring.drift.base import Outcome, register

__all__ = ["LInfinity"]


@register
class LInfinity(CategoricalDriftTest):
    """The largest absolute change of a category's share; drift above ``threshold``."""

    key = "linf"
    default_threshold = 0.1
    has_p_value = False

    def _compare_table(self, table: Table) -> Outcome:
        ref, cur = table.reference, table.current
        values = table.labelled
        statistic = _largest(np.abs(ref.shares[values] - cur.shares[values]))
        if table.exact:
            return Outcome(statistic)
        low, high = term_range(
            _gap,
            ref.low[values] / ref.total,
            ref.high[values] / ref.total,
            cur.low[values] / cur.total,
            cur.high[values] / cur.total,
        )
        merged = max(ref.other_value_max / ref.total, cur.other_value_max / cur.total)
        lowest, highest = _largest(low), max(_largest(high), merged)
        return Outcome(statistic, None, "sketch", max(statistic - lowest, highest - statistic, 0.0))


def _gap(reference: Floats, current: Floats) -> Floats:
    gap: Floats = np.abs(reference - current)
    return gap


def _largest(values: Floats) -> float:
    return float(values.max()) if len(values) else 0.0
