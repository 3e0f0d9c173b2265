"""Typed doors to the scipy functions the drift tests use.

scipy ships no type hints, so this is the one module that imports it: every
value that comes back is turned into a plain ``float`` here. scipy is the
reference implementation the raw path agrees with (see the tests).
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats  # type: ignore[import-untyped, unused-ignore]

__all__ = ["chi2_contingency", "ks_2samp", "kstwo_sf", "rel_entr", "wasserstein_distance"]

Floats = NDArray[np.float64]

_EXACT_FAILED = "ks_2samp: Exact calculation unsuccessful"


def ks_2samp(reference: Floats, current: Floats) -> tuple[float, float]:
    """The two-sided two-sample KS statistic and p-value (``method="auto"``).

    When its exact p-value computation fails (it does for some tiny statistics
    on equal sample sizes, a rounding check), scipy warns and falls back to the
    asymptotic one. The fallback is done here explicitly, with the same result
    and no warning for the caller.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("error", _EXACT_FAILED, RuntimeWarning)
        try:
            result = stats.ks_2samp(reference, current)
        except RuntimeWarning:
            result = stats.ks_2samp(reference, current, method="asymp")
    return float(result.statistic), float(result.pvalue)


def kstwo_sf(statistic: float, n: float) -> float:
    """The survival function of the two-sided one-sample KS distribution with ``n`` values."""
    return float(np.clip(stats.kstwo.sf(statistic, n), 0.0, 1.0))


def wasserstein_distance(
    u: Floats, v: Floats, u_weights: Floats | None = None, v_weights: Floats | None = None
) -> float:
    """The first Wasserstein distance between two (weighted) samples."""
    return float(stats.wasserstein_distance(u, v, u_weights, v_weights))


def chi2_contingency(table: Floats) -> tuple[float, float]:
    """Pearson's chi-square statistic and p-value of a contingency table (scipy's defaults)."""
    result = stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def rel_entr(x: Floats, y: Floats) -> Floats:
    """Elementwise ``x * log(x / y)``, 0 where ``x`` is 0 (no warning)."""
    out: Floats = np.asarray(special.rel_entr(x, y), dtype=np.float64)
    return out
