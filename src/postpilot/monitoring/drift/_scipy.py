"""Typed doors to the scipy functions the drift tests use.

scipy ships no type hints, so this is the one module that imports it: every
value that comes back is turned into a plain ``float`` here. scipy is imported
on first use (``scipy.stats`` alone takes about 1.5 s to import), so commands
that never run a test do not pay for it. scipy is the
reference implementation the raw path agrees with (see the tests).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["chi2_contingency", "ks_2samp", "kstwo_sf", "rel_entr", "wasserstein_distance"]

Floats = NDArray[np.float64]


def _stats() -> Any:
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    return stats


def _special() -> Any:
    from scipy import special  # type: ignore[import-untyped, unused-ignore]

    return special


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
            result = _stats().ks_2samp(reference, current)
        except RuntimeWarning:
            result = _stats().ks_2samp(reference, current, method="asymp")
    return float(result.statistic), float(result.pvalue)


def kstwo_sf(statistic: float, n: float) -> float:
    """The survival function of the two-sided one-sample KS distribution with ``n`` values."""
    return float(np.clip(_stats().kstwo.sf(statistic, n), 0.0, 1.0))


def wasserstein_distance(
    u: Floats, v: Floats, u_weights: Floats | None = None, v_weights: Floats | None = None
) -> float:
    """The first Wasserstein distance between two (weighted) samples."""
    return float(_stats().wasserstein_distance(u, v, u_weights, v_weights))


def chi2_contingency(table: Floats) -> tuple[float, float]:
    """Pearson's chi-square statistic and p-value of a contingency table (scipy's defaults)."""
    result = _stats().chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def rel_entr(x: Floats, y: Floats) -> Floats:
    """Elementwise ``x * log(x / y)``, 0 where ``x`` is 0 (no warning)."""
    out: Floats = np.asarray(_special().rel_entr(x, y), dtype=np.float64)
    return out
