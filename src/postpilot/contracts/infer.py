"""Infer a contract from the profile of the data a model was trained on.

The data is a sample; the contract must hold for the next sample of the same
source, so every rule allows for the sample's size ``n`` (the rows profiled). Each
rule's result is written into the YAML, where the steward can change it:

- ``type``: the observed type.
- ``nullable`` / ``max_null_rate``: with nulls seen (``k`` of ``n``), the allowed
  rate is the larger of the rate seen plus ``max(0.02, half of it)`` and the
  one-sided 95% upper confidence bound of the rate (Clopper-Pearson). With no
  nulls seen, a null rate up to about ``3/n`` is still plausible (the rule of
  three): the column is ``nullable: false`` only when ``3/n`` is at most 0.1%
  (``n >= 3000``, :data:`NOT_NULL_MIN_ROWS`); otherwise it is nullable with
  ``max_null_rate`` = that bound. ``contract check`` adds sampling slack for the
  batch size on top.
- ``identifier``: a string column, or an int column whose name ends in
  ``id``/``key``/``uuid``, with at least 50 values, nearly all distinct (>= 95%);
  identifiers get no range or categories.
- ``categories``: a string or bool column with exact counts and at most
  :data:`MAX_CATEGORIES` distinct values, unless the sample says the set is open:
  most of its distinct values were seen once, fewer than
  :data:`MIN_PER_CATEGORY` (5) values per distinct value on average, or the values
  seen once make up more than :data:`OPEN_SET_SINGLETON_SHARE` (5%) of the values (the Good-Turing
  estimate of the share of the next values that will be new). Free text
  (comments), dates written as text and codes are open; such a column gets no
  category list. The number of values seen once is kept in ``reference.singletons``;
  the check allows that many new values, scaled to the batch, as sampling noise.
- ``range``: each end is the furthest of three: ``t*span`` beyond the extreme
  (``t = range_tolerance``, 0.1), the tail's own length beyond it (``min`` to
  p01, p99 to ``max``), and the point an exponential tail fitted through p90 and
  the maximum (p10 and the minimum) reaches at a tail probability of 1e-3
  (:data:`TAIL_PROBABILITY`): ``p90 + (max - p90) * ln(100) / ln(n / 10)``. The
  last term is what makes the margin depend on ``n``: the extremes of a small
  sample are far from the population's, so a sample of 200 rows gets about 1.5
  times its p90-to-max distance beyond p90; from about 1,000 rows the term falls
  inside the maximum plus the other pads. Never below 0 when no negative value was seen;
  rounded outwards; only finite values count (an end with no finite bound is open).
- ``reference``: count, null rate, distinct count, values seen once, mean, std,
  min, max, quantiles p01..p99 and the top category shares, for explaining
  findings and recognising renames and unit changes.

A profile with no rows, or in which every column is entirely null, cannot say what
the data looks like: inference refuses it (:class:`~postpilot.errors.InputError`)
rather than writing a contract that rejects every batch.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from scipy.special import betaincinv  # type: ignore[import-untyped, unused-ignore]

from postpilot.contracts.model import (
    ColumnSpec,
    Contract,
    Range,
    Reference,
    finite,
)
from postpilot.contracts.units import PROBES
from postpilot.errors import InputError
from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, TemporalColumn
from postpilot.profiles.column import ColumnProfile, is_identifier

__all__ = [
    "MAX_CATEGORIES",
    "MIN_PER_CATEGORY",
    "NOT_NULL_MIN_ROWS",
    "OPEN_SET_SINGLETON_SHARE",
    "QUANTILES",
    "TAIL_PROBABILITY",
    "check_sample",
    "infer_contract",
    "is_open_set",
    "reference_of",
]

MAX_CATEGORIES = 50
NOT_NULL_MIN_ROWS = 3000
"""With no null in ``n`` rows a null rate up to about ``3/n`` is plausible; at 3,000 rows
that is 0.1%, small enough to promise "never null"."""
OPEN_SET_SINGLETON_SHARE = 0.05
MIN_PER_CATEGORY = 5
"""A closed category set shows each of its values this many times on average."""
TAIL_PROBABILITY = 1e-3
"""Range ends reach where an exponential tail fitted to the sample falls to this."""
QUANTILES = PROBES
_TOP = 20
_CONFIDENCE = 0.95


def check_sample(profile: Profile, *, file: str | None = None) -> None:
    """Refuse a profile that cannot describe its source: no rows, or only nulls."""
    if profile.rows == 0 or not profile.columns:
        raise InputError(
            "the training data has no rows"
            if profile.columns
            else "the training data has no columns",
            file=file,
            hint="Infer a contract from data that has rows; a contract inferred from "
            "nothing would reject every batch",
        )
    if all(col.count == 0 for col in profile):
        raise InputError(
            f"every column of the training data is entirely null ({profile.rows} rows)",
            file=file,
            hint="Infer a contract from data that has values",
        )


def infer_contract(
    profile: Profile,
    *,
    name: str,
    range_tolerance: float = 0.1,
    source: str | None = None,
    product: str | None = None,
    steward: str | None = None,
    created_by: str | None = None,
    file: str | None = None,
) -> Contract:
    """A contract that the profiled data satisfies, with room for what the next sample
    of the same source plausibly holds. ``file`` names the data in errors."""
    if not (math.isfinite(range_tolerance) and range_tolerance >= 0):
        raise InputError(
            f"the range tolerance must be a finite number >= 0, got {range_tolerance}",
            field="range_tolerance",
        )
    check_sample(profile, file=file)
    columns = {col.name: _column_spec(col, range_tolerance) for col in profile}
    return Contract(
        name=name,
        source=source,
        product=product,
        steward=steward,
        created_at=datetime.now(UTC).replace(microsecond=0),
        created_by=created_by,
        range_tolerance=range_tolerance,
        columns=columns,
    )


def _null_rule(col: ColumnProfile) -> tuple[bool, float | None]:
    n, k = col.rows, col.nulls
    if k == 0:
        if n >= NOT_NULL_MIN_ROWS:
            return False, None
        return True, min(1.0, _round_up(1 - (1 - _CONFIDENCE) ** (1 / max(n, 1)), 4))
    seen = col.null_rate
    upper = 1.0 if k >= n else float(betaincinv(k + 1, n - k, _CONFIDENCE))
    return True, min(1.0, _round_up(max(seen + max(0.02, seen / 2), upper), 4))


def _singletons(col: CategoricalColumn) -> int | None:
    counts = col.value_counts()
    return sum(1 for c in counts.counts.values() if c == 1) if counts.exact else None


def is_open_set(col: CategoricalColumn) -> bool:
    """True when the sample says more values will come: too many distinct values, most
    of them seen once, fewer than 5 values per distinct value, or the values seen once
    over 5% of all (Good-Turing)."""
    if col.type == "bool":
        return False
    counts = col.value_counts()
    distinct = len(counts.counts)
    if not counts.exact or distinct == 0 or distinct > MAX_CATEGORIES:
        return True
    once = sum(1 for c in counts.counts.values() if c == 1)
    if distinct >= 3 and once > distinct / 2:
        return True
    if col.count < MIN_PER_CATEGORY * distinct:
        return True
    return once / max(col.count, 1) > OPEN_SET_SINGLETON_SHARE


def _column_spec(col: ColumnProfile, tolerance: float) -> ColumnSpec:
    nullable, max_null_rate = _null_rule(col)
    identifier = is_identifier(col)
    value_range = None
    categories = None
    if isinstance(col, NumericColumn) and not isinstance(col, TemporalColumn):
        if not identifier:
            value_range = _range(col, tolerance)
    elif isinstance(col, CategoricalColumn) and not identifier and not is_open_set(col):
        categories = sorted(col.value_counts().counts)
    return ColumnSpec(
        type=col.type,  # type: ignore[arg-type]
        nullable=nullable,
        max_null_rate=max_null_rate,
        identifier=identifier,
        range=value_range,
        categories=categories,
        reference=reference_of(col, identifier=identifier),
    )


def reference_of(col: ColumnProfile, *, identifier: bool = False) -> Reference:
    """A compact, YAML-friendly summary of a column profile (finite numbers only)."""
    distinct = col.distinct_count()
    ref: dict[str, object] = {
        "count": col.count,
        "null_rate": round(col.null_rate, 6),
        "distinct": round(distinct.value),
    }
    if isinstance(col, NumericColumn) and not isinstance(col, TemporalColumn) and col.count:
        ref.update(
            mean=_sig(col.mean), std=_sig(col.std), min=_sig(_f(col.min)), max=_sig(_f(col.max))
        )
        values = col.quantiles(list(QUANTILES.values()))
        if values:
            kept = {k: _sig(v) for k, v in zip(QUANTILES, values, strict=True)}
            finite_only = {k: v for k, v in kept.items() if v is not None}
            if finite_only:
                ref["quantiles"] = finite_only
    elif isinstance(col, CategoricalColumn) and col.count and not identifier:
        counts = col.value_counts()
        top = list(counts.counts.items())[:_TOP]
        ref["top"] = {k: round(v / col.count, 6) for k, v in top}
        ref["singletons"] = _singletons(col)
    return Reference.model_validate(ref)


def _range(col: NumericColumn, tolerance: float) -> Range | None:
    """The allowed range of a numeric column (rules in the module docstring)."""
    qs = col.quantiles([0.01, 0.1, 0.9, 0.99])
    lo, hi = finite(_f(col.min)), finite(_f(col.max))
    if qs is None or (lo is None and hi is None):
        return None
    p01, p10, p90, p99 = qs
    finite_qs = [q for q in (p01, p10, p90, p99) if math.isfinite(q)]
    low_end = lo if lo is not None else (min(finite_qs) if finite_qs else None)
    high_end = hi if hi is not None else (max(finite_qs) if finite_qs else None)
    if low_end is None or high_end is None:
        return None
    span = high_end - low_end
    pad = tolerance * span if span > 0 else tolerance * max(abs(low_end), 1.0)
    # An exponential tail through p90 and max reaches the tail probability at
    # p90 + (max - p90) * ln(0.1 / P) / ln(0.1 n): far beyond max for small n.
    n = max(col.count - col.nans, 1)
    reach = math.log(0.1 / TAIL_PROBABILITY) / max(math.log(0.1 * n), 1.0)
    low = high = None
    if lo is not None:
        tail = p01 - lo if math.isfinite(p01) else 0.0
        low = lo - max(pad, tail)
        if math.isfinite(p10):
            low = min(low, p10 - (p10 - lo) * reach)
        if lo >= 0:
            low = max(low, 0.0)
    if hi is not None:
        tail = hi - p99 if math.isfinite(p99) else 0.0
        high = hi + max(pad, tail)
        if math.isfinite(p90):
            high = max(high, p90 + (hi - p90) * reach)
    if col.type == "int":
        return Range(
            min=None if low is None else math.floor(low),
            max=None if high is None else math.ceil(high),
        )
    return Range(
        min=None if low is None else _round_down(low),
        max=None if high is None else _round_up(high),
    )


def _f(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _sig(value: float | None, digits: int = 6) -> float | None:
    value = finite(value)
    if value is None or value == 0:
        return value
    return float(f"{value:.{digits}g}")


def _round_up(value: float, digits: int = 6) -> float:
    return _round(value, digits, math.ceil)


def _round_down(value: float, digits: int = 6) -> float:
    return _round(value, digits, math.floor)


def _round(value: float, digits: int, direction: object) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10 ** (digits - 1 - math.floor(math.log10(abs(value))))
    return float(direction(value * scale) / scale)  # type: ignore[operator]
