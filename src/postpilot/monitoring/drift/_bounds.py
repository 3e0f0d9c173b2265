"""Propagating per-bin uncertainty into a statistic's bound.

Binned statistics are sums (or, for L-infinity, a maximum) of per-bin terms
``t(r, c)`` of the two shares of a bin. Every term used here is 0 where
``r == c`` and grows as the shares move apart: it increases in ``c`` and
decreases in ``r`` when ``c > r``, and the reverse when ``c < r``. Over a box
``[r_low, r_high] x [c_low, c_high]`` such a term is therefore smallest at 0
when the box meets the diagonal ``r == c`` and at a corner otherwise, and
largest at a corner. If every bin's true shares lie in their box, the true
statistic lies between the sums of the per-bin smallest and largest terms.

>>> import numpy as np
>>> r_low, r_high, c_low, c_high = (np.array([x]) for x in (0.1, 0.2, 0.4, 0.5))
>>> low, high = term_range(lambda r, c: np.abs(r - c), r_low, r_high, c_low, c_high)
>>> (round(float(low[0]), 6), round(float(high[0]), 6))
(0.2, 0.4)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np

from postpilot.monitoring.drift._samples import Floats

__all__ = ["Term", "box", "term_range"]

Term: TypeAlias = Callable[[Floats, Floats], Floats]


def box(shares: Floats, error: float) -> tuple[Floats, Floats]:
    """The interval ``shares +- error``, clipped to [0, 1]."""
    return np.clip(shares - error, 0.0, 1.0), np.clip(shares + error, 0.0, 1.0)


def term_range(
    term: Term, r_low: Floats, r_high: Floats, c_low: Floats, c_high: Floats
) -> tuple[Floats, Floats]:
    """Per bin, the smallest and largest ``term(r, c)`` over the box of possible shares."""
    corners = np.stack(
        [term(r_low, c_low), term(r_low, c_high), term(r_high, c_low), term(r_high, c_high)]
    )
    meets_diagonal = (r_low <= c_high) & (c_low <= r_high)
    low: Floats = np.where(meets_diagonal, 0.0, corners.min(axis=0))
    high: Floats = corners.max(axis=0)
    return low, high
