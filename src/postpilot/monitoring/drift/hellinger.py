"""Hellinger distance between binned shares.

``H = sqrt(sum_i (sqrt(r_i) - sqrt(c_i))**2 / 2)``: the Euclidean distance of the
square roots of the shares over sqrt(2), in [0, 1] (1 for disjoint supports),
with no epsilon needed for empty bins. It equals
``scipy.spatial.distance.euclidean(sqrt(r), sqrt(c)) / sqrt(2)``, which the
tests check. Drift when ``H > threshold`` (default 0.1, as Evidently).

Bins: those of ``_binned`` (numeric: the reference's deciles by default;
categorical: the categories). Sketch path and its ``error_bound``: see
``_binned``.

>>> import numpy as np
>>> result = Hellinger().from_samples(np.array(["a", "b"]), np.array(["a", "a"]))
>>> (round(result.statistic, 4), result.drifted)
(0.5412, True)
"""

from __future__ import annotations

import math

import numpy as np

from postpilot.monitoring.drift._binned import BinnedDriftTest
from postpilot.monitoring.drift._samples import Floats
from postpilot.monitoring.drift.base import register

__all__ = ["Hellinger"]


@register
class Hellinger(BinnedDriftTest):
    """Hellinger distance over quantile bins or categories."""

    key = "hellinger"
    default_threshold = 0.1
    maximum = 1.0

    @staticmethod
    def terms(reference: Floats, current: Floats) -> Floats:
        half: Floats = np.square(np.sqrt(reference) - np.sqrt(current)) / 2.0
        return half

    @staticmethod
    def finish(total: float) -> float:
        return math.sqrt(max(total, 0.0))
