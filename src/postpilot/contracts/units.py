"""Recognise a unit change: the same distribution, every value scaled by one factor.

A migration that switches amounts from dollars to cents multiplies every value
by 100: the shape of the distribution is unchanged, its quantiles all move by
the same factor. :func:`scale_factor` measures that factor from the contract's
reference quantiles and the batch's, and :func:`known_factor` snaps it to a
common conversion (powers of ten, time, data sizes, imperial units) when it is
within 5%.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping

from postpilot.profiles import NumericColumn

__all__ = ["KNOWN_FACTORS", "UnitChange", "detect_unit_change", "known_factor", "scale_factor"]

_PROBES = ("p10", "p25", "p50", "p75", "p90")
_BASE: dict[float, str] = {
    100.0: "x100 (for example dollars to cents, or a share to a percentage)",
    1000.0: "x1000 (for example kilo to base unit, or seconds to milliseconds)",
    10.0: "x10",
    1e4: "x10^4",
    1e5: "x10^5",
    1e6: "x10^6 (for example units to millionths, or mega to base unit)",
    60.0: "x60 (for example minutes to seconds, or hours to minutes)",
    3600.0: "x3600 (hours to seconds)",
    24.0: "x24 (days to hours)",
    1024.0: "x1024 (for example KiB to bytes)",
    2.54: "x2.54 (inches to centimetres)",
    2.20462: "x2.20462 (kilograms to pounds)",
    1.60934: "x1.60934 (miles to kilometres)",
}
KNOWN_FACTORS: dict[float, str] = {
    **_BASE,
    **{1 / k: f"x1/{k:g} (the reverse of {v.split(' ', 1)[0]})" for k, v in _BASE.items()},
}
_TOLERANCE = 0.05
_CONSISTENCY = 0.04  # the probes' log10 ratios must agree within this (about 10%)


class UnitChange:
    """A detected unit change: ``factor`` (snapped), ``measured`` and what it likely is."""

    __slots__ = ("description", "factor", "measured", "ratios")

    def __init__(self, factor: float, measured: float, ratios: list[float], description: str):
        self.factor = factor
        self.measured = measured
        self.ratios = ratios
        self.description = description


def scale_factor(
    reference: Mapping[str, float], batch: NumericColumn
) -> tuple[float, list[float]] | None:
    """The factor by which every probed quantile moved, or None if they disagree."""
    ratios = []
    for key in _PROBES:
        ref = reference.get(key)
        if ref is None or ref == 0 or not math.isfinite(ref):
            continue
        q = {"p10": 0.1, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p90": 0.9}[key]
        value = batch.quantile(q)
        if value is None or value == 0 or (value > 0) != (ref > 0):
            return None
        ratios.append(value / ref)
    if len(ratios) < 3:
        return None
    logs = [math.log10(r) for r in ratios]
    if max(logs) - min(logs) > 2 * _CONSISTENCY:
        return None
    return 10 ** statistics.median(logs), ratios


def known_factor(measured: float) -> tuple[float, str] | None:
    for factor, description in KNOWN_FACTORS.items():
        if abs(measured / factor - 1) <= _TOLERANCE:
            return factor, description
    return None


def detect_unit_change(
    reference: Mapping[str, float] | None, batch: NumericColumn
) -> UnitChange | None:
    """A unit change between the reference quantiles and the batch, if there is one."""
    if not reference:
        return None
    found = scale_factor(reference, batch)
    if found is None:
        return None
    measured, ratios = found
    if abs(math.log10(measured)) < math.log10(1.5):
        return None
    snapped = known_factor(measured)
    if snapped is None:
        return None
    return UnitChange(snapped[0], measured, ratios, snapped[1])
