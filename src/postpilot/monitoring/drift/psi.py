"""Population Stability Index: a symmetric divergence of binned shares.

``PSI = sum_i (c_i - r_i) * ln(c_i / r_i)`` over the bins of ``_binned``
(numeric: the reference's deciles by default; categorical: the categories),
with ``r_i``/``c_i`` the reference/current shares. It is the sum of the two
Kullback-Leibler divergences ``KL(c||r) + KL(r||c)``, so it is >= 0 and
symmetric. A share under ``PSI_EPSILON`` (1e-4) counts as 1e-4 on both sides,
so an empty bin contributes a large but finite term (Evidently replaces only
exact zeros by the same 1e-4; a floor gives the same value for empty bins and
changes continuously as a bin empties). Drift when ``PSI > threshold``
(default 0.1, Evidently's; 0.25 is the classic "major shift" level).

Raw path: equal to ``scipy.special.rel_entr(c, r).sum() + rel_entr(r, c).sum()``
on the floored shares. Sketch path and its ``error_bound``: see ``_binned``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> reference, current = rng.normal(0, 1, 5_000), rng.normal(1, 1, 5_000)
>>> result = PopulationStabilityIndex().from_samples(reference, current)
>>> (round(result.statistic, 2), result.drifted)
(0.96, True)
"""

from __future__ import annotations

from typing import Final

import numpy as np

from postpilot.monitoring.drift._binned import BinnedDriftTest
from postpilot.monitoring.drift._samples import Floats
from postpilot.monitoring.drift.base import register

__all__ = ["PSI_EPSILON", "PopulationStabilityIndex"]

PSI_EPSILON: Final = 1e-4


@register
class PopulationStabilityIndex(BinnedDriftTest):
    """Population Stability Index over quantile bins or categories."""

    key = "psi"
    default_threshold = 0.1

    @staticmethod
    def terms(reference: Floats, current: Floats) -> Floats:
        r = np.maximum(reference, PSI_EPSILON)
        c = np.maximum(current, PSI_EPSILON)
        contribution: Floats = (c - r) * np.log(c / r)
        return contribution
