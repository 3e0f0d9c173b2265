"""Check a batch against its contract, from the batch's profile.

Severity rules (documented in docs/contracts.md). The contract was inferred from a
sample, and the batch is another: what plausibly is sampling noise is a warning.

- errors: a missing column, a likely rename, two swapped columns, an incompatible
  type change, a unit change, nulls in a column that may not be null, a null rate
  above the allowed one plus 4 standard errors for the batch size, values out of
  range (at least 0.1% of the values, at least 3, and more than sampling explains),
  a column that became constant, new categories (at least 1% of the values and more
  than sampling explains), too few or too many rows;
- warnings: an unexpected (new) column, ``int`` <-> ``float``, a null rate above the
  allowed one but within the slack, the out-of-range values and new categories
  that are fewer than that, and a column that became constant on a value so common in
  the reference that a batch of its size plausibly shows nothing else.

"More than sampling explains": the reference sample of ``n`` values has extremes and
a category list. A fresh batch of ``m`` values from the same source holds ``k`` or
more values beyond one extreme with probability ``C(m, k) / C(n + m, k)`` (whatever
the distribution: the top ``k`` of the pooled values all come from the batch), and
about ``m*(f1+1)/(n+1)`` values of categories the sample did not show (``f1``:
categories seen once, Good-Turing; a Poisson count). A count within the 99.9%
quantile of its law is a warning. A batch of ``m`` values that all equal a value the
reference holds in a share ``q`` of its rows has probability ``q**m``; the check takes
the largest ``q`` the contract allows (:func:`_numeric_share_bound`,
:func:`_categorical_share_bound`) and warns when that probability is at least 0.1%.
"""

from __future__ import annotations

import math
from typing import Any

from postpilot.contracts.findings import CheckResult, Finding, Kind, Severity
from postpilot.contracts.model import NUMERIC_TYPES, ColumnSpec, Contract, Reference
from postpilot.contracts.rename import match_renames
from postpilot.contracts.units import (
    PROBES,
    UnitChange,
    detect_unit_change,
    enough_evidence,
    fit_distance,
    fit_tolerance,
)
from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, TemporalColumn
from postpilot.profiles.column import ColumnProfile

__all__ = [
    "NEW_CATEGORY_ERROR_SHARE",
    "OUT_OF_RANGE_ERROR_COUNT",
    "OUT_OF_RANGE_ERROR_SHARE",
    "PLAUSIBLE_QUANTILE",
    "check_profile",
    "plausible_beyond",
    "plausible_count",
]

NEW_CATEGORY_ERROR_SHARE = 0.01
OUT_OF_RANGE_ERROR_SHARE = 0.001
OUT_OF_RANGE_ERROR_COUNT = 3
"""Below this share (or this many values) out of range, a warning: any fresh sample has a
chance of about ``batch / training rows`` to hold a value beyond the training maximum, and
heavy tails reach past the tolerance; an owner who gets false alarms stops reading them."""
_SLACK_SIGMAS = 4.0
PLAUSIBLE_QUANTILE = 0.999


def plausible_beyond(reference: int, batch: int, quantile: float = PLAUSIBLE_QUANTILE) -> int:
    """The most batch values that plausibly lie beyond one extreme of the reference sample
    when both are drawn from one population: the ``quantile`` of that count. Distribution
    free: the batch holds ``k`` values beyond the reference's maximum exactly when the
    top ``k`` of the pooled values all come from the batch, which has probability
    ``C(m, k) / C(n + m, k)``."""
    n, m = max(reference, 0), max(batch, 0)
    if m == 0:
        return 0
    tail, k = 1.0, 0
    while k < m:
        tail *= (m - k) / (n + m - k)  # P(at least k + 1 beyond)
        if tail <= 1 - quantile:
            return k
        k += 1
        if k > 100_000:  # the geometric approximation, for huge batches
            ratio = m / (n + m)
            return min(m, math.ceil(math.log(1 - quantile) / math.log(ratio)))
    return m


def plausible_count(mean: float, quantile: float = PLAUSIBLE_QUANTILE) -> int:
    """The ``quantile`` of a Poisson law with ``mean``: the most a count plausibly reaches
    by chance."""
    if mean <= 0:
        return 0
    if mean > 1e4:  # normal approximation; 3.1 sigmas is the 99.9% quantile
        return math.ceil(mean + 3.1 * math.sqrt(mean))
    term = total = math.exp(-mean)
    k = 0
    while total < quantile:
        k += 1
        term *= mean / k
        total += term
    return k


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
    swaps = _swaps(checked)
    swapped = {name for pair in swaps for name in pair[:2]}
    for a, b, distance_ab, distance_ba, tolerance in swaps:
        findings.append(
            Finding(
                Kind.SWAPPED_COLUMNS,
                a,
                Severity.ERROR,
                f"columns {a!r} and {b!r} look swapped: the values under {a!r} fit the "
                f"contract's {b!r} and those under {b!r} fit its {a!r}",
                {
                    "columns": [a, b],
                    "distance": {
                        f"{a} -> {b}": round(distance_ab, 6),
                        f"{b} -> {a}": round(distance_ba, 6),
                    },
                    "tolerance": round(tolerance, 6),
                },
            )
        )
    for name, spec, col in checked:
        findings += _column_findings(name, spec, col, contract, name in swapped)
    return CheckResult(contract=contract.name, rows=batch.rows, findings=findings)


def _comparable(spec: ColumnSpec, col: ColumnProfile) -> bool:
    return (
        isinstance(col, NumericColumn)
        and not isinstance(col, TemporalColumn)
        and spec.type in NUMERIC_TYPES
        and not spec.identifier
        and spec.reference is not None
        and bool(spec.reference.quantiles)
        and col.count - col.nans > 0
    )


def _swaps(
    checked: list[tuple[str, ColumnSpec, ColumnProfile]],
) -> list[tuple[str, str, float, float, float]]:
    """Pairs of numeric columns that each misfit their own reference and fit the other's
    (the two-sample fit of :mod:`postpilot.contracts.units`), closest pair first."""
    misfits: list[tuple[str, ColumnSpec, NumericColumn]] = []
    for name, spec, col in checked:
        if not _comparable(spec, col):
            continue
        assert isinstance(col, NumericColumn)
        assert spec.reference is not None
        if not enough_evidence(spec.reference.count, col):
            continue
        own = fit_distance(spec.reference.quantiles, col)
        if own is not None and own > fit_tolerance(spec.reference.count, col):
            misfits.append((name, spec, col))
    if len(misfits) < 2:
        return []
    pairs = []
    for i, (a, spec_a, col_a) in enumerate(misfits):
        for b, spec_b, col_b in misfits[i + 1 :]:
            assert spec_a.reference is not None
            assert spec_b.reference is not None
            tolerance = max(
                fit_tolerance(spec_b.reference.count, col_a),
                fit_tolerance(spec_a.reference.count, col_b),
            )
            ab = fit_distance(spec_b.reference.quantiles, col_a)
            ba = fit_distance(spec_a.reference.quantiles, col_b)
            if ab is not None and ba is not None and max(ab, ba) <= tolerance:
                pairs.append((a, b, ab, ba, tolerance))
    pairs.sort(key=lambda p: p[2] + p[3])
    taken: set[str] = set()
    chosen = []
    for pair in pairs:
        if pair[0] in taken or pair[1] in taken:
            continue
        taken.update(pair[:2])
        chosen.append(pair)
    return chosen


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
    name: str, spec: ColumnSpec, col: ColumnProfile, contract: Contract, swapped: bool = False
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
    if swapped:
        return out  # explained by the swap finding
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
    if allowed < rate <= allowed + slack:
        return [
            Finding(
                Kind.NULL_RATE,
                label,
                Severity.WARNING,
                f"column {label!r} is {rate:.2%} null, above the allowed {allowed:.2%} but "
                f"within what a batch of {col.rows} rows plausibly shows",
                {
                    "null_rate": rate,
                    "allowed": allowed,
                    "threshold": allowed + slack,
                    "nulls": col.nulls,
                },
            )
        ]
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
        value = float(col.min)  # type: ignore[arg-type]
        share = _numeric_share_bound(ref, value)
        return [_constant(label, ref, col.min, share, col.count - col.nans)]
    if spec.identifier:
        return out
    change = detect_unit_change(ref.quantiles if ref else None, col, ref.count if ref else None)
    if change is not None:
        out.append(
            Finding(
                Kind.UNIT_CHANGE,
                label,
                Severity.ERROR,
                f"column {label!r} has the same distribution converted by {_conversion(change)}: "
                f"likely a unit change, {change.description}",
                {
                    "factor": change.factor,
                    "offset": change.conversion.offset,
                    "measured_factor": round(change.measured, 6),
                    "measured_offset": round(change.measured_offset, 6),
                    "quantile_ratios": [round(r, 6) for r in change.ratios],
                    "distance": round(change.distance, 6),
                    "tolerance": round(change.tolerance, 6),
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
            upto = col.rank(bounds.max)
            share += 1.0 - (1.0 if upto is None else upto)  # a rank of 0.0 is all above
        outside = round(share * col.count)
        sides = int(below) + int(above)
        reference_count = ref.count if ref is not None else None
        plausible = (
            sides * plausible_beyond(reference_count, col.count - col.nans)
            if reference_count
            else 0
        )
        serious = (
            share >= OUT_OF_RANGE_ERROR_SHARE
            and outside >= OUT_OF_RANGE_ERROR_COUNT
            and outside > plausible
        )
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
                    "outside": outside,
                    "plausible_by_chance": plausible,
                },
            )
        )
    return out


def _share_below(col: NumericColumn, bound: float) -> float:
    # rank(x) counts values <= x; nudge below the bound so it counts values < bound.
    rank = col.rank(math.nextafter(bound, -math.inf))
    return rank or 0.0


_RANK_SLACK = 0.02
"""How far a contract's quantile may sit from its true rank: the reference quantiles come
from a KLL sketch (about 1.7% rank error at the profiler's k=200)."""


def _numeric_share_bound(ref: Reference, value: float) -> float:
    """The largest share of the reference's values that can equal ``value``.

    At most ``1 - (distinct - 1) / count`` (each other distinct value was seen at
    least once), and at most the probability mass between the last reference quantile
    below ``value`` and the first above it (widened by the sketch's rank error). A value
    outside the reference's range was never seen: 0.
    """
    if ref.count <= 0:
        return 0.0
    if (ref.min is not None and value < _below(ref.min)) or (
        ref.max is not None and value > _above(ref.max)
    ):
        return 0.0
    bound = 1 - ((ref.distinct or 1) - 1) / ref.count
    if ref.quantiles:
        below, above = 0.0, 1.0
        for key, p in PROBES.items():
            x = ref.quantiles.get(key)
            if x is None or math.isclose(x, value, rel_tol=1e-5, abs_tol=1e-12):
                continue
            if x < value:
                below = max(below, p)
            else:
                above = min(above, p)
        bound = min(bound, above - below + 2 * _RANK_SLACK)
    return max(0.0, min(1.0, bound))


def _below(x: float) -> float:  # the contract keeps 6 significant digits
    return x - 1e-5 * abs(x) - 1e-12


def _above(x: float) -> float:
    return x + 1e-5 * abs(x) + 1e-12


def _categorical_share_bound(ref: Reference, value: str) -> float:
    """The largest share of the reference's rows that can hold ``value``: its share in
    ``reference.top`` plus 3 standard errors of a share estimated from ``count`` rows,
    and at most ``1 - (distinct - 1) / count``; a value not in a complete ``top`` list
    was never seen (0); not in a truncated one, at most the smallest share listed."""
    if ref.count <= 0:
        return 0.0
    bound = 1 - ((ref.distinct or 1) - 1) / ref.count
    if ref.top is not None:
        if value in ref.top:
            q = ref.top[value]
            bound = min(bound, q + 3 * math.sqrt(q * (1 - q) / ref.count) + 1 / ref.count)
        elif len(ref.top) >= (ref.distinct or 0):
            bound = 0.0
        else:
            bound = min(bound, min(ref.top.values(), default=0.0))
    return max(0.0, min(1.0, bound))


def _constant(label: str, ref: Reference, value: object, share: float, rows: int) -> Finding:
    """A column with a single value in every row; a warning when the reference held that
    value so often that ``rows`` draws plausibly show nothing else."""
    chance = share**rows if rows > 0 else 1.0
    plausible = chance >= 1 - PLAUSIBLE_QUANTILE
    message = (
        f"column {label!r} has the single value {value!r} in every row, "
        f"but had {ref.distinct} distinct values"
    )
    if plausible:
        message += (
            f"; the reference held it in up to {share:.2%} of rows, so {rows:,} rows "
            f"showing nothing else is plausible by chance ({chance:.1%})"
        )
    return Finding(
        Kind.CONSTANT_COLUMN,
        label,
        Severity.WARNING if plausible else Severity.ERROR,
        message,
        {
            "value": value,
            "reference_distinct": ref.distinct,
            "reference_share_bound": round(share, 6),
            "chance": chance,
        },
    )


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
        share = _categorical_share_bound(ref, value)
        return [_constant(label, ref, value, share, col.count)]
    if spec.categories is None:
        return out
    fold = spec.type == "bool"  # true/True/TRUE are the same boolean
    allowed = {c.lower() if fold else c for c in spec.categories}
    unseen = {v: n for v, n in counts.counts.items() if (v.lower() if fold else v) not in allowed}
    if not unseen:
        return out
    new_count = sum(unseen.values())
    share = new_count / col.count if col.count else 0.0
    plausible = 0
    if ref is not None and ref.count:
        plausible = plausible_count(col.count * ((ref.singletons or 0) + 1) / (ref.count + 1))
    serious = share >= NEW_CATEGORY_ERROR_SHARE and new_count > plausible
    severity = Severity.ERROR if serious else Severity.WARNING
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
                "count": new_count,
                "plausible_by_chance": plausible,
                "exact": counts.exact,
            },
        )
    )
    return out


def _conversion(change: UnitChange) -> str:
    if change.conversion.offset:
        return f"x{change.factor:g} {change.conversion.offset:+g}"
    return f"x{change.factor:g}"


def _fmt(value: float | None) -> str:
    return "-inf" if value is None else f"{value:g}"
