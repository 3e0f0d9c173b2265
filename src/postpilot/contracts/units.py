"""Recognise a unit change: the same distribution, every value rescaled by a known conversion.

A migration that switches amounts from dollars to cents multiplies every value by
100: the shape of the distribution is unchanged. A difference between two
populations (one species' bills against another's) also moves the quantiles, but
not by a known conversion and not uniformly. The rules (docs/contracts.md):

1. **Fit.** :func:`fit_distance` is a two-sample distance between the contract's
   reference and the batch: for every reference quantile ``p01 .. p99``, rescaled
   as ``x * factor + offset``, how far ``p`` lies from the batch's rank of that
   value (the KS distance at those nine points; ties count as a fit). The
   distributions *fit* when the distance is within :func:`fit_tolerance`: the
   two-sample KS critical value at 5% for the two sizes
   (``1.36 * sqrt((n + m) / (n m))``) plus twice the sketch's rank error.
2. **No change.** A column whose reference fits the batch unchanged has no unit change.
3. **A known conversion.** The factor measured from the batch against the reference
   (the median ratio of the quartiles p25, p50, p75, the most precise quantiles of a
   sample; for an affine conversion such as Celsius to Fahrenheit, of the quartiles
   less the conversion's offset) lies within :data:`FACTOR_TOLERANCE` (2%) of a
   conversion in :data:`CONVERSIONS`, and the
   reference rescaled by that exact conversion fits the batch (rule 1).

4. **Enough evidence.** Two populations can differ by about a known factor and keep
   their shape within sampling noise (wine's proline, class 0 against class 1: 59 and
   71 values, about x0.45 with a fitting shape). A unit change is named only when the
   samples are large enough to tell: an effective size ``n m / (n + m)`` of at least
   :data:`MIN_EFFECTIVE_SIZE` (80; the KS tolerance is then 0.15 or less).

Otherwise there is no unit change, and the check reports what it would have
reported anyway (values out of range).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from postpilot.profiles import NumericColumn

__all__ = [
    "CONVERSIONS",
    "FACTOR_TOLERANCE",
    "KS_COEFFICIENT",
    "MIN_EFFECTIVE_SIZE",
    "PROBES",
    "TIES",
    "Conversion",
    "UnitChange",
    "detect_unit_change",
    "enough_evidence",
    "fit_distance",
    "fit_tolerance",
    "known_conversion",
]

PROBES = {
    "p01": 0.01,
    "p05": 0.05,
    "p10": 0.1,
    "p25": 0.25,
    "p50": 0.5,
    "p75": 0.75,
    "p90": 0.9,
    "p95": 0.95,
    "p99": 0.99,
}
"""The reference quantiles a contract keeps (``reference.quantiles``)."""
FACTOR_TOLERANCE = 0.02
"""How far (relative) a measured factor may be from a known conversion's."""
KS_COEFFICIENT = 1.36
"""``c(alpha)`` of the two-sample KS critical value at alpha = 5%."""
MIN_EFFECTIVE_SIZE = 80
"""The least ``n m / (n + m)`` at which a unit change or a swap is named."""
_RATIO_PROBES = ("p25", "p50", "p75")
TIES = 1e-6
"""Relative width around a value within which a tie counts as a fit."""


@dataclass(frozen=True)
class Conversion:
    """``new = old * factor + offset``, and what it likely is."""

    factor: float
    offset: float
    description: str

    @property
    def affine(self) -> bool:
        return self.offset != 0.0

    def inverse(self) -> Conversion:
        name = self.description.split(" (", 1)[-1].rstrip(")")
        return Conversion(1.0 / self.factor, -self.offset / self.factor, f"the reverse of {name}")


def _c(factor: float, description: str, offset: float = 0.0) -> Conversion:
    return Conversion(factor, offset, description)


_MM_PER_IN, _G_PER_LB, _G_PER_OZ = 25.4, 453.59237, 28.349523125
_BASE = [
    _c(10.0, "x10 (a metric prefix, for example centimetres to millimetres)"),
    _c(100.0, "x100 (dollars to cents, a share to a percentage, or metres to centimetres)"),
    _c(1000.0, "x1000 (a metric prefix: kilo to the base unit, or seconds to milliseconds)"),
    _c(1e4, "x10^4 (a metric prefix step)"),
    _c(1e5, "x10^5 (a metric prefix step)"),
    _c(1e6, "x10^6 (a metric prefix: mega to the base unit, or units to millionths)"),
    _c(1e9, "x10^9 (a metric prefix: giga to the base unit, or seconds to nanoseconds)"),
    _c(60.0, "x60 (minutes to seconds, or hours to minutes)"),
    _c(3600.0, "x3600 (hours to seconds)"),
    _c(24.0, "x24 (days to hours)"),
    _c(1440.0, "x1440 (days to minutes)"),
    _c(86400.0, "x86400 (days to seconds)"),
    _c(1024.0, "x1024 (KiB to bytes)"),
    _c(1 / _MM_PER_IN, "x1/25.4 (millimetres to inches)"),
    _c(10 / _MM_PER_IN, "x1/2.54 (centimetres to inches)"),
    _c(1000 / _MM_PER_IN, "x39.37 (metres to inches)"),
    _c(1 / (12 * _MM_PER_IN), "x1/304.8 (millimetres to feet)"),
    _c(10 / (12 * _MM_PER_IN), "x1/30.48 (centimetres to feet)"),
    _c(1000 / (12 * _MM_PER_IN), "x3.28084 (metres to feet)"),
    _c(1 / _G_PER_LB, "x1/453.6 (grams to pounds)"),
    _c(1 / _G_PER_OZ, "x1/28.35 (grams to ounces)"),
    _c(1000 / _G_PER_LB, "x2.20462 (kilograms to pounds)"),
    _c(1000 / _G_PER_OZ, "x35.274 (kilograms to ounces)"),
    _c(1.8, "x1.8 + 32 (degrees Celsius to Fahrenheit)", 32.0),
]
CONVERSIONS: tuple[Conversion, ...] = tuple(_BASE + [c.inverse() for c in _BASE])
"""Every conversion recognised, each way round: metric prefixes (10^1..10^6, 10^9),
time (seconds, minutes, hours, days), KiB, mm/cm/m to inches and feet, g/kg to
pounds and ounces, degrees Celsius to Fahrenheit (affine),
currency minor units and percentages (x100)."""


@dataclass(frozen=True)
class UnitChange:
    """A detected unit change: the ``conversion``, the ``measured`` factor (and offset)
    and the fit ``distance`` of the rescaled reference against the batch."""

    conversion: Conversion
    measured: float
    measured_offset: float
    distance: float
    tolerance: float
    ratios: list[float]

    @property
    def factor(self) -> float:
        return self.conversion.factor

    @property
    def description(self) -> str:
        return self.conversion.description


def fit_tolerance(reference_count: int, batch: NumericColumn) -> float:
    """The largest :func:`fit_distance` at which the two samples still fit: the two-sample
    KS critical value at 5% for ``n`` reference and ``m`` batch values, plus twice the
    sketch's rank error (the reference and the batch are both sketched)."""
    n, m = max(reference_count, 1), max(batch.count - batch.nans, 1)
    return KS_COEFFICIENT * math.sqrt((n + m) / (n * m)) + 2 * batch.rank_error


def enough_evidence(reference_count: int, batch: NumericColumn) -> bool:
    """True when the samples are large enough to tell a unit change (or a swap) from a
    difference between populations: ``n m / (n + m) >= MIN_EFFECTIVE_SIZE``."""
    n, m = reference_count, batch.count - batch.nans
    return n > 0 and m > 0 and n * m / (n + m) >= MIN_EFFECTIVE_SIZE


def fit_distance(
    quantiles: Mapping[str, float] | None,
    batch: NumericColumn,
    factor: float = 1.0,
    offset: float = 0.0,
) -> float | None:
    """Max over the reference quantiles of the distance between ``p`` and the batch's rank
    of ``quantile * factor + offset`` (0 where ``p`` lies within the ties at that value).
    None when either side has no values."""
    if not quantiles or batch.kll.is_empty():
        return None
    probed = [
        (p, quantiles[k] * factor + offset)
        for k, p in PROBES.items()
        if k in quantiles and math.isfinite(quantiles[k])
    ]
    if not probed:
        return None
    # one sketch query for every point: just below and just above each value
    points = sorted(
        {x - (TIES * abs(x) or 1e-300) for _, x in probed}
        | {x + (TIES * abs(x) or 1e-300) for _, x in probed}
    )
    ranks = dict(zip(points, batch.kll.get_cdf(points, True), strict=False))
    distance = 0.0
    for p, x in probed:
        width = TIES * abs(x) or 1e-300
        below, upto = ranks[x - width], ranks[x + width]
        gap = below - p if p < below else (p - upto if p > upto else 0.0)
        distance = max(distance, gap)
    return float(distance)


def _pairs(reference: Mapping[str, float], batch: NumericColumn) -> list[tuple[float, float]]:
    keys = [k for k in _RATIO_PROBES if k in reference and math.isfinite(reference[k])]
    values = batch.quantiles([PROBES[k] for k in keys])
    if values is None:
        return []
    return [(reference[k], v) for k, v in zip(keys, values, strict=True) if math.isfinite(v)]


def _scale(pairs: list[tuple[float, float]]) -> tuple[float, list[float]] | None:
    ratios = [y / x for x, y in pairs if x != 0 and y != 0 and (x > 0) == (y > 0)]
    if len(ratios) < len(_RATIO_PROBES) or len(ratios) < len(pairs):
        return None
    return statistics.median(ratios), ratios


def known_conversion(factor: float, tolerance: float = FACTOR_TOLERANCE) -> Conversion | None:
    """The pure rescaling whose factor is within ``tolerance`` (relative) of ``factor``."""
    for conversion in CONVERSIONS:
        if not conversion.affine and abs(factor / conversion.factor - 1) <= tolerance:
            return conversion
    return None


def detect_unit_change(
    reference: Mapping[str, float] | None,
    batch: NumericColumn,
    reference_count: int | None = None,
) -> UnitChange | None:
    """A unit change between the reference quantiles and the batch, if there is one
    (the rules are in the module docstring)."""
    if not reference or batch.count - batch.nans <= 0:
        return None
    count = reference_count or batch.count
    if not enough_evidence(count, batch):
        return None
    tolerance = fit_tolerance(count, batch)
    within = FACTOR_TOLERANCE
    unchanged = fit_distance(reference, batch)
    if unchanged is None or unchanged <= tolerance:
        return None
    pairs = _pairs(reference, batch)
    candidates: list[tuple[Conversion, float, float, list[float]]] = []
    scaled = _scale(pairs)
    if scaled is not None:
        conversion = known_conversion(scaled[0], within)
        if conversion is not None:
            candidates.append((conversion, scaled[0], 0.0, scaled[1]))
    for conversion in CONVERSIONS:
        if conversion.affine:
            shifted = _scale([(x, y - conversion.offset) for x, y in pairs])
            if shifted is not None and abs(shifted[0] / conversion.factor - 1) <= within:
                candidates.append((conversion, shifted[0], conversion.offset, shifted[1]))
    for conversion, measured, measured_offset, ratios in candidates:
        distance = fit_distance(reference, batch, conversion.factor, conversion.offset)
        if distance is not None and distance <= tolerance:
            return UnitChange(conversion, measured, measured_offset, distance, tolerance, ratios)
    return None
