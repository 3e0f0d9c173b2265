"""Infer a contract from the profile of the data a model was trained on.

The rules (each written into the YAML, where the steward can change it):

- ``type``: the observed type. ``nullable``: nulls were seen.
- ``max_null_rate``: the null rate seen plus ``max(0.02, half of it)``;
  ``contract check`` adds sampling slack for the batch size on top.
- ``identifier``: a string column, or an int column whose name ends in
  ``id``/``key``/``uuid``, with at least 50 values, nearly all distinct (>= 95%);
  identifiers get no range or categories.
- ``categories``: a string or bool column with exact counts and at most
  :data:`MAX_CATEGORIES` distinct values.
- ``range``: ``[min - pad_low, max + pad_high]`` where each pad is the larger
  of ``t*span`` (``t = range_tolerance``, 0.1) and that tail's length
  (``min`` to p01, p99 to ``max``): long tails reach further in the next
  sample. Never below 0 when no negative value was seen; rounded outwards.
- ``reference``: count, null rate, distinct count, mean, std, min, max,
  quantiles p01..p99 and the top category shares, for explaining findings and
  recognising renames and unit changes.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from postpilot.contracts.model import (
    ColumnSpec,
    Contract,
    Range,
    Reference,
    finite,
)
from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, TemporalColumn
from postpilot.profiles.column import ColumnProfile

__all__ = ["MAX_CATEGORIES", "QUANTILES", "infer_contract", "reference_of"]

MAX_CATEGORIES = 50
QUANTILES = {
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
_ID_NAME = re.compile(r"(^|[_\-\s.])(id|key|uuid|guid)$|Id$|ID$", re.IGNORECASE)
_TOP = 20


def infer_contract(
    profile: Profile,
    *,
    name: str,
    range_tolerance: float = 0.1,
    source: str | None = None,
    product: str | None = None,
    steward: str | None = None,
    created_by: str | None = None,
) -> Contract:
    """A contract that the profiled data satisfies, with room for normal variation."""
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


def _column_spec(col: ColumnProfile, tolerance: float) -> ColumnSpec:
    nullable = col.nulls > 0
    max_null_rate = None
    if nullable:
        seen = col.null_rate
        max_null_rate = min(1.0, _round_up(seen + max(0.02, seen / 2), 4))
    identifier = _is_identifier(col)
    value_range = None
    categories = None
    if isinstance(col, NumericColumn) and not isinstance(col, TemporalColumn):
        if not identifier and col.min is not None and col.max is not None:
            tails = col.quantiles([0.01, 0.99]) or [float(col.min), float(col.max)]
            value_range = _widen(
                float(col.min), float(col.max), tails, tolerance, col.type == "int"
            )
    elif isinstance(col, CategoricalColumn) and not identifier:
        counts = col.value_counts()
        if counts.exact and 0 < len(counts.counts) <= MAX_CATEGORIES:
            categories = sorted(counts.counts)
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
    """A compact, YAML-friendly summary of a column profile."""
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
            ref["quantiles"] = {k: _sig(v) for k, v in zip(QUANTILES, values, strict=True)}
    elif isinstance(col, CategoricalColumn) and col.count and not identifier:
        counts = col.value_counts()
        top = list(counts.counts.items())[:_TOP]
        ref["top"] = {k: round(v / col.count, 6) for k, v in top}
    return Reference.model_validate(ref)


def _is_identifier(col: ColumnProfile) -> bool:
    if col.type not in ("string", "int") or col.count < 50:
        return False
    if col.type == "int" and not _ID_NAME.search(col.name):
        return False
    return col.distinct_count().value >= 0.95 * col.count


def _widen(lo: float, hi: float, tails: list[float], tolerance: float, integral: bool) -> Range:
    span = hi - lo
    pad = tolerance * span if span > 0 else tolerance * max(abs(lo), 1.0)
    # A long tail reaches further in the next sample: pad by the tail's own length too.
    low, high = lo - max(pad, tails[0] - lo), hi + max(pad, hi - tails[1])
    if lo >= 0:
        low = max(low, 0.0)
    if integral:
        return Range(min=math.floor(low), max=math.ceil(high))
    return Range(min=_round_down(low), max=_round_up(high))


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
