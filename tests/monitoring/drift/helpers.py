"""Reference computations, written independently of the code under test, and profiling helpers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial import distance
from scipy.special import rel_entr

from postpilot.profiles import ColumnProfile, profile

Floats = NDArray[np.float64]

PSI_FLOOR = 1e-4


def profiles(reference: object, current: object, **settings: int) -> tuple[ColumnProfile, ...]:
    """The column profiles of two samples, each profiled on its own (fresh sketches)."""
    return tuple(
        profile(pl.DataFrame({"x": pl.Series("x", values)}), **settings).column("x")
        for values in (reference, current)
    )


def decile_shares(reference: Floats, current: Floats, bins: int = 10) -> tuple[Floats, Floats]:
    """Shares of both samples in bins cut at the reference's inverted-CDF quantiles."""
    edges = sorted(
        set(np.quantile(reference, [i / bins for i in range(1, bins)], method="inverted_cdf"))
    )

    def shares(values: Floats) -> Floats:
        at_or_below = [0] + [int(np.count_nonzero(values <= e)) for e in edges] + [len(values)]
        return np.diff(np.array(at_or_below, dtype=np.float64)) / len(values)

    return shares(reference), shares(current)


def category_shares(reference: Sequence[str], current: Sequence[str]) -> tuple[Floats, Floats]:
    """Shares of every category seen on either side, in one order."""
    ref, cur = Counter(reference), Counter(current)
    labels = sorted(set(ref) | set(cur))
    return (
        np.array([ref[v] for v in labels], dtype=np.float64) / len(reference),
        np.array([cur[v] for v in labels], dtype=np.float64) / len(current),
    )


def category_table(reference: Sequence[str], current: Sequence[str]) -> NDArray[np.int64]:
    ref, cur = Counter(reference), Counter(current)
    labels = sorted(set(ref) | set(cur))
    return np.array([[ref[v] for v in labels], [cur[v] for v in labels]], dtype=np.int64)


def psi(r: Floats, c: Floats) -> float:
    r, c = np.maximum(r, PSI_FLOOR), np.maximum(c, PSI_FLOOR)
    return float(rel_entr(c, r).sum() + rel_entr(r, c).sum())


def jensen_shannon(r: Floats, c: Floats) -> float:
    return float(distance.jensenshannon(r, c, base=2))


def hellinger(r: Floats, c: Floats) -> float:
    return float(distance.euclidean(np.sqrt(r), np.sqrt(c)) / np.sqrt(2))


def linf(r: Floats, c: Floats) -> float:
    return float(distance.chebyshev(r, c))


def wasserstein_normed(reference: Floats, current: Floats) -> float:
    return float(stats.wasserstein_distance(reference, current) / np.std(reference))


BINNED = {"psi": psi, "jensen_shannon": jensen_shannon, "hellinger": hellinger}
