"""Check a batch against its contract, from the batch's profile.

Severity rules (documented in docs/contracts.md):

- errors: a missing column, a likely rename, an incompatible type change, a
  unit change, a null rate above the allowed one (plus sampling slack for the
  batch size), values out of range, a column that became constant, new
  categories making up at least 1% of the values, too few or too many rows;
- warnings: an unexpected (new) column, ``int`` <-> ``float``, new categories
  below 1% of the values, fewer out-of-range values than that.
"""

from __future__ import annotations

import math
from typing import Any

from postpilot.contracts.findings import CheckResult, Finding, Kind, Severity
from postpilot.contracts.model import NUMERIC_TYPES, ColumnSpec, Contract
from postpilot.contracts.rename import match_renames
from postpilot.contracts.units import detect_unit_change
from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, TemporalColumn
from postpilot.profiles.column import ColumnProfile

__all__ = [
    "NEW_CATEGORY_ERROR_SHARE",
    "OUT_OF_RANGE_ERROR_COUNT",
    "OUT_OF_RANGE_ERROR_SHARE",
    "check_profile",
]

NEW_CATEGORY_ERROR_SHARE = 0.01
OUT_OF_RANGE_ERROR_SHARE = 0.001
OUT_OF_RANGE_ERROR_COUNT = 3
"""Below this share (or this many values) out of range, a warning: any fresh sample has a
chance of about ``batch / training rows`` to hold a value beyond the training maximum, and
heavy tails reach past the tolerance; an owner who gets false alarms stops reading them."""
_SLACK_SIGMAS = 4.0


def check_profile(contract: Contract, batch: Profile) -> CheckResult:
    """Every finding for ``batch`` (a profile of the data to check) against ``contract``."""
    findings: list[Finding] = []
    findings += _row_count(contract, batch.rows)
    present = set(batch.columns)
    missing = {n: s for n, s in contract.columns.items() if n not in present}
    new = {c.name: c for c in batch if c.name not in contract.columns}

    renames = match_renames(missing, new)
    for rename in renames:
        details: dict[str, Any] = {
            "from": rename.old,
            "to": rename.new,
            "confidence": rename.confidence,
            "evidence": {
                "name_similarity": rename.name_similarity,
                "distribution_similarity": rename.distribution_similarity,
                "type": f"{missing[rename.old].type} -> {new[rename.new].type}",
            },
        }
        findings.append(
            Finding(
                Kind.LIKELY_RENAME,
                rename.new,
                Severity.ERROR,
                f"column {rename.old!r} is gone and {rename.new!r} is new; {rename.new!r} is "
                f"likely {rename.old!r} renamed (confidence {rename.confidence:.0%})",
                details,
            )
        )
    renamed_old = {r.old for r in renames}
    renamed_new = {r.new for r in renames}
    for name, spec in missing.items():
        if name not in renamed_old:
            findings.append(
                Finding(
                    Kind.MISSING_COLUMN,
                    name,
                    Severity.ERROR,
                    f"column {name!r} ({spec.type}) is missing from the batch",
                    {"expected_type": spec.type},
                )
            )
    for name, col in new.items():
        if name not in renamed_new:
            findings.append(
                Finding(
                    Kind.UNEXPECTED_COLUMN,
                    name,
                    Severity.WARNING,
                    f"column {name!r} ({col.type}) is not in the contract",
                    {"type": col.type},
                )
            )

    checked = [(n, s, batch.column(n)) for n, s in contract.columns.items() if n in present]
    checked += [(r.old, contract.columns[r.old], batch.column(r.new)) for r in renames]
    for name, spec, col in checked:
        findings += _column_findings(name, spec, col, contract)
    return CheckResult(contract=contract.name, rows=batch.rows, findings=findings)


def _row_count(contract: Contract, rows: int) -> list[Finding]:
    low, high = contract.rows.min, contract.rows.max
    if low is not None and rows < low:
        return [
            Finding(
                Kind.ROW_COUNT,
                None,
                Severity.ERROR,
                f"the batch has {rows} rows, fewer than the contract's minimum of {low}",
                {"rows": rows, "min": low},
            )
        ]
    if high is not None and rows > high:
        return [
            Finding(
                Kind.ROW_COUNT,
                None,
                Severity.ERROR,
                f"the batch has {rows} rows, more than the contract's maximum of {high}",
                {"rows": rows, "max": high},
            )
        ]
    return []


def _column_findings(
    name: str, spec: ColumnSpec, col: ColumnProfile, contract: Contract
) -> list[Finding]:
    label = name if name == col.name else col.name
    out: list[Finding] = []
    out += _null_rate(label, spec, col, contract.allowed_null_rate(name))
    if col.count == 0 or col.type == "null":
        return out
    if col.type != spec.type:
        numeric_pair = spec.type in NUMERIC_TYPES and col.type in NUMERIC_TYPES
        out.append(
            Finding(
                Kind.TYPE_CHANGE,
                label,
                Severity.WARNING if numeric_pair else Severity.ERROR,
                f"column {label!r} is {col.type}, the contract says {spec.type}",
                {"expected": spec.type, "got": col.type},
            )
        )
        if not numeric_pair:
            return out
    if isinstance(col, NumericColumn) and not isinstance(col, TemporalColumn):
        out += _numeric(label, spec, col)
    elif isinstance(col, CategoricalColumn):
        out += _categorical(label, spec, col)
    return out


def _null_rate(label: str, spec: ColumnSpec, col: ColumnProfile, allowed: float) -> list[Finding]:
    if col.nulls == 0 or col.rows == 0:
        return []
    rate = col.null_rate
    if not spec.nullable:
        return [
            Finding(
                Kind.NULL_RATE,
                label,
                Severity.ERROR,
                f"column {label!r} may not be null, but {col.nulls} of {col.rows} "
                f"values are ({rate:.2%})",
                {"null_rate": rate, "allowed": 0.0, "nulls": col.nulls},
            )
        ]
    slack = _SLACK_SIGMAS * math.sqrt(allowed * (1 - allowed) / col.rows)
    if rate > allowed + slack:
        return [
            Finding(
                Kind.NULL_RATE,
                label,
                Severity.ERROR,
                f"column {label!r} is {rate:.2%} null, above the allowed {allowed:.2%}",
                {
                    "null_rate": rate,
                    "allowed": allowed,
                    "threshold": allowed + slack,
                    "nulls": col.nulls,
                },
            )
        ]
    return []


def _numeric(label: str, spec: ColumnSpec, col: NumericColumn) -> list[Finding]:
    out: list[Finding] = []
    ref = spec.reference
    if ref and (ref.distinct or 0) > 1 and col.min == col.max and col.count > 1:
        out.append(
            Finding(
                Kind.CONSTANT_COLUMN,
                label,
                Severity.ERROR,
                f"column {label!r} has the single value {col.min} in every row, "
                f"but had {ref.distinct} distinct values",
                {"value": col.min, "reference_distinct": ref.distinct},
            )
        )
        return out
    if spec.identifier:
        return out
    change = detect_unit_change(ref.quantiles if ref else None, col)
    if change is not None:
        out.append(
            Finding(
                Kind.UNIT_CHANGE,
                label,
                Severity.ERROR,
                f"column {label!r} has the same distribution scaled by {change.factor:g}: "
                f"likely a unit change, {change.description}",
                {
                    "factor": change.factor,
                    "measured_factor": round(change.measured, 6),
                    "quantile_ratios": [round(r, 6) for r in change.ratios],
                    "reference_median": ref.quantiles.get("p50") if ref and ref.quantiles else None,
                    "median": col.quantile(0.5),
                },
            )
        )
        return out
    bounds = spec.range
    if bounds is None or col.min is None or col.max is None:
        return out
    below = bounds.min is not None and col.min < bounds.min
    above = bounds.max is not None and col.max > bounds.max
    if below or above:
        share = 0.0
        if below and bounds.min is not None:
            share += _share_below(col, bounds.min)
        if above and bounds.max is not None:
            share += 1.0 - (col.rank(bounds.max) or 1.0)
        outside = round(share * col.count)
        serious = share >= OUT_OF_RANGE_ERROR_SHARE and outside >= OUT_OF_RANGE_ERROR_COUNT
        severity = Severity.ERROR if serious else Severity.WARNING
        out.append(
            Finding(
                Kind.OUT_OF_RANGE,
                label,
                severity,
                f"column {label!r} has values from {col.min:g} to {col.max:g}, outside the allowed "
                f"[{_fmt(bounds.min)}, {_fmt(bounds.max)}] (about {share:.2%} of values)",
                {
                    "min": col.min,
                    "max": col.max,
                    "allowed_min": bounds.min,
                    "allowed_max": bounds.max,
                    "share_outside": round(share, 6),
                },
            )
        )
    return out


def _share_below(col: NumericColumn, bound: float) -> float:
    # rank(x) counts values <= x; nudge below the bound so it counts values < bound.
    rank = col.rank(math.nextafter(bound, -math.inf))
    return rank or 0.0


def _categorical(label: str, spec: ColumnSpec, col: CategoricalColumn) -> list[Finding]:
    out: list[Finding] = []
    counts = col.value_counts()
    ref = spec.reference
    if (
        ref
        and (ref.distinct or 0) > 1
        and col.count > 1
        and len(counts.counts) == 1
        and counts.exact
    ):
        (value,) = counts.counts
        out.append(
            Finding(
                Kind.CONSTANT_COLUMN,
                label,
                Severity.ERROR,
                f"column {label!r} has the single value {value!r} in every row, "
                f"but had {ref.distinct} distinct values",
                {"value": value, "reference_distinct": ref.distinct},
            )
        )
        return out
    if spec.categories is None:
        return out
    fold = spec.type == "bool"  # true/True/TRUE are the same boolean
    allowed = {c.lower() if fold else c for c in spec.categories}
    unseen = {v: n for v, n in counts.counts.items() if (v.lower() if fold else v) not in allowed}
    if not unseen:
        return out
    share = sum(unseen.values()) / col.count if col.count else 0.0
    severity = Severity.ERROR if share >= NEW_CATEGORY_ERROR_SHARE else Severity.WARNING
    shown = ", ".join(repr(v) for v in list(unseen)[:5]) + (" ..." if len(unseen) > 5 else "")
    out.append(
        Finding(
            Kind.NEW_CATEGORY,
            label,
            severity,
            f"column {label!r} has {len(unseen)} value(s) not in the contract: {shown} "
            f"({share:.2%} of values)",
            {
                "new_values": dict(list(unseen.items())[:50]),
                "share": round(share, 6),
                "exact": counts.exact,
            },
        )
    )
    return out


def _fmt(value: float | None) -> str:
    return "-inf" if value is None else f"{value:g}"
