"""Jensen-Shannon distance (base 2) between binned shares.

The statistic is the Jensen-Shannon *distance* with base-2 logarithms, what
``scipy.spatial.distance.jensenshannon(r, c, base=2)`` returns: the square
root of the Jensen-Shannon divergence ``(KL(r||m) + KL(c||m)) / 2`` with
``m = (r + c) / 2``. It is a metric, lies in [0, 1] (1 for disjoint
supports), and needs no epsilon: an empty bin contributes ``0 * log 0 = 0``.
Shares are normalized to sum to 1 first, as scipy does. Drift when the distance
exceeds ``threshold`` (default 0.1). Evidently also thresholds the distance at
0.1 but with natural logarithms, which gives values ``sqrt(ln 2)`` (0.83) times
these: the same threshold is a little stricter here.

Bins: those of ``_binned`` (numeric: the reference's deciles by default;
categorical: the categories). Raw path: equal to scipy's ``jensenshannon`` on
the shares. Sketch path and its ``error_bound``: see ``_binned``.

>>> import numpy as np
>>> result = JensenShannon().from_samples(np.array(["a", "a", "b"]), np.array(["b", "b", "c"]))
>>> (round(result.statistic, 4), result.drifted)
(0.7354, True)
"""

from __future__ import annotations

import math

import numpy as np

from postpilot.monitoring.drift import _scipy
from postpilot.monitoring.drift._binned import BinnedDriftTest
from postpilot.monitoring.drift._samples import Floats
from postpilot.monitoring.drift.base import register

__all__ = ["JensenShannon"]


@register
class JensenShannon(BinnedDriftTest):
    """Jensen-Shannon distance, base 2, over quantile bins or categories."""

    key = "jensen_shannon"
    default_threshold = 0.1
    maximum = 1.0

    @staticmethod
    def terms(reference: Floats, current: Floats) -> Floats:
        middle = (reference + current) / 2.0
        # Halving the smallest subnormal share underflows to 0, and rel_entr(x, 0) is inf:
        # keep such a middle at the larger share (a difference far below any real share).
        middle = np.where(
            (middle == 0) & (np.maximum(reference, current) > 0),
            np.maximum(reference, current),
            middle,
        )
        half: Floats = (_scipy.rel_entr(reference, middle) + _scipy.rel_entr(current, middle)) / 2
        return half

    @staticmethod
    def finish(total: float) -> float:
        return math.sqrt(max(total, 0.0) / math.log(2.0))

    def statistic(self, reference: Floats, current: Floats) -> float:
        return super().statistic(reference / reference.sum(), current / current.sum())
