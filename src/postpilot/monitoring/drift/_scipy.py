"""Typed doors to the scipy functions the drift tests use.

scipy ships no type hints, so this is the one module that imports it: every
value that comes back is turned into a plain ``float`` here. scipy is imported
on first use (``scipy.stats`` alone takes about 1.5 s to import), so commands
that never run a test do not pay for it. The default tests of large samples
(Wasserstein for numbers, Jensen-Shannon through ``rel_entr``) are scipy's own
algorithms here and import none of it. scipy is the
reference implementation the raw path agrees with (see the tests).
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["chi2_contingency", "ks_2samp", "kstwo_sf", "rel_entr", "wasserstein_distance"]

Floats = NDArray[np.float64]


def _stats() -> Any:
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    return stats


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
    """The first Wasserstein distance between two (weighted) samples.

    scipy's own algorithm (``scipy.stats.wasserstein_distance``: the area between the
    two CDFs, its ``_cdf_distance`` with ``p=1``), step for step in numpy, so the default
    test of every large numeric column does not import ``scipy.stats`` (about 0.8 s of
    CPU, a fifth of a drift run over 1M rows). Equal to scipy's result bit for bit (the
    tests compare them); its input checks are kept.
    """
    u_values, u_w = _distribution(u, u_weights)
    v_values, v_w = _distribution(v, v_weights)
    u_sorter = np.argsort(u_values)
    v_sorter = np.argsort(v_values)
    all_values = np.concatenate((u_values, v_values))
    all_values.sort(kind="mergesort")
    deltas = np.diff(all_values)
    u_cdf = _cdf(u_values, u_sorter, u_w, all_values[:-1])
    v_cdf = _cdf(v_values, v_sorter, v_w, all_values[:-1])
    gaps = np.abs(u_cdf - v_cdf)
    if hasattr(np, "vecdot"):  # numpy 2, as scipy does
        return float(np.vecdot(gaps, deltas))
    return float(np.sum(gaps * deltas))  # pragma: no cover - numpy 1.x


def _distribution(values: Floats, weights: Floats | None) -> tuple[Floats, Floats | None]:
    """scipy's checks of one empirical distribution (ValueError, with its messages)."""
    out = np.asarray(values, dtype=float)
    if len(out) == 0:
        raise ValueError("Distribution can't be empty.")
    if weights is None:
        return out, None
    w = np.asarray(weights, dtype=float)
    if len(w) != len(out):
        raise ValueError(
            "Value and weight array-likes for the same empirical distribution must be of "
            "the same size."
        )
    if np.any(w < 0):
        raise ValueError("All weights must be non-negative.")
    if not 0 < np.sum(w) < np.inf:
        raise ValueError(
            "Weight array-like sum must be positive and finite. Set as None for an equal "
            "distribution of weight."
        )
    return out, w


def _cdf(values: Floats, sorter: Any, weights: Floats | None, at: Floats) -> Floats:
    """The (weighted) empirical CDF of ``values`` at each of ``at``, as scipy computes it."""
    indices = values[sorter].searchsorted(at, "right")
    if weights is None:
        out: Floats = indices / values.size
        return out
    cumulative = np.concatenate(([0], np.cumsum(weights[sorter])))
    result: Floats = cumulative[indices] / cumulative[-1]
    return result


def chi2_contingency(table: Floats) -> tuple[float, float]:
    """Pearson's chi-square statistic and p-value of a contingency table (scipy's defaults)."""
    result = _stats().chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def rel_entr(x: Floats, y: Floats) -> Floats:
    """Elementwise ``x * log(x / y)``, 0 where ``x`` is 0 (no warning).

    scipy's ``special.rel_entr`` (the branches of its C++ ``xsf::rel_entr``, which uses
    ``log1p`` when ``x / y`` is near 1) computed here with the C library's ``log`` and
    ``log1p`` as scipy does, so the Jensen-Shannon test imports no scipy (about 0.2 s
    of CPU). Bit for bit scipy's result (the tests compare them); numpy's vectorised
    ``log`` is not (it differs in the last bit on some values), so this loops: the
    arrays are bins and categories, at most a few thousand values.
    """
    xs, ys = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    values = [
        _rel_entr(a, b) for a, b in zip(xs.ravel().tolist(), ys.ravel().tolist(), strict=True)
    ]
    out: Floats = np.array(values, dtype=np.float64).reshape(xs.shape)
    return out


def _rel_entr(x: float, y: float) -> float:
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x <= 0.0 or y <= 0.0:
        return 0.0 if x == 0.0 and y >= 0.0 else math.inf
    ratio = x / y
    if 0.5 < ratio < 2.0:
        return x * math.log1p((x - y) / y)
    if _TINY < ratio < math.inf:
        return x * math.log(ratio)
    return x * (math.log(x) - math.log(y))


_TINY = sys.float_info.min
