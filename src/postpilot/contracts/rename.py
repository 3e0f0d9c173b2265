"""Recognise a renamed column: one gone, one new, with the same distribution.

A pair (missing contract column, new batch column) is a rename candidate only when
the types are compatible and the distributions *fit*:

- numbers: the reference quantiles fit the new column within the two-sample KS
  tolerance (:func:`~postpilot.contracts.units.fit_distance` and
  :func:`~postpilot.contracts.units.fit_tolerance`), unchanged or after a recognised
  unit change (renamed and switched to cents is both findings);
- categories: Pearson's chi-square test of the reference's category shares against
  the batch's does not reject them at :data:`CATEGORY_FIT_P` (0.001);
- identifiers: both near-unique (at least 95% distinct values);
- columns whose reference carries no distribution (dates, times, a column of nulls):
  the names alone, at a name similarity of at least 0.75.

A fitting pair's confidence is a noisy-OR of the name similarity (the better of a
character match ratio and shared name tokens, weighted 0.8) and the distribution
similarity (``1 - distance``: the KS distance for numbers, the total variation distance
for categories; weighted 0.85). Pairs at or above :data:`THRESHOLD`
are matched greedily, most confident first. A dropped column and an unrelated new
one therefore stay a missing and an unexpected column: their distributions do not fit.

Wide tables: every pair is first screened with vectorised arithmetic (each new
column's quantile grid against every reference's quantiles, quantile ratios against
the known conversions, shared category values), and only plausible pairs get the exact
sketch queries and name comparison: per missing column the :data:`CLOSEST` (3) closest
and those sharing a name token, at most :data:`CANDIDATES_PER_COLUMN` (10).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np
from scipy.special import chdtrc  # type: ignore[import-untyped, unused-ignore]

from postpilot.contracts.model import NUMERIC_TYPES, ColumnSpec
from postpilot.contracts.units import (
    CONVERSIONS,
    FACTOR_TOLERANCE,
    KS_COEFFICIENT,
    PROBES,
    TIES,
    detect_unit_change,
    fit_distance,
    fit_tolerance,
)
from postpilot.profiles import CategoricalColumn, NumericColumn, TemporalColumn
from postpilot.profiles.column import ColumnProfile

__all__ = ["CANDIDATES_PER_COLUMN", "THRESHOLD", "Rename", "match_renames", "name_similarity"]

THRESHOLD = 0.6
NAME_ONLY = 0.75
CANDIDATES_PER_COLUMN = 10
CATEGORY_FIT_P = 0.001
"""Categories fit when the chi-square test of their shares gives at least this p-value."""
CLOSEST = 3
_GRID = np.linspace(0.0, 1.0, 101)
_SCREEN_SLACK = 0.02  # the grid's resolution and rounding, added to the screen's tolerance
_TOKEN = re.compile(r"[a-z]+|\d+")
_ABBREVIATIONS = {
    "amt": "amount",
    "qty": "quantity",
    "cust": "customer",
    "acct": "account",
    "num": "number",
    "no": "number",
    "dt": "date",
    "ts": "timestamp",
    "addr": "address",
    "cnt": "count",
    "desc": "description",
    "id": "id",
}


@dataclass(frozen=True)
class Rename:
    old: str
    new: str
    confidence: float
    name_similarity: float
    distribution_similarity: float
    unit_factor: float | None


@functools.lru_cache(maxsize=65_536)
def _tokens(name: str) -> frozenset[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower()
    return frozenset(_ABBREVIATIONS.get(t, t) for t in _TOKEN.findall(spaced))


def name_similarity(a: str, b: str) -> float:
    """The better of the character match ratio and the shared share of name tokens."""
    ratio = SequenceMatcher(None, a.lower(), b.lower()).ratio()
    ta, tb = _tokens(a), _tokens(b)
    jaccard = len(ta & tb) / len(ta | tb) if ta | tb else 0.0
    return max(ratio, jaccard)


def _is_numeric(col: ColumnProfile) -> bool:
    return isinstance(col, NumericColumn) and not isinstance(col, TemporalColumn)


def _compatible(old: str, new: str) -> bool:
    return old == new or (old in NUMERIC_TYPES and new in NUMERIC_TYPES)


def _near_unique(col: ColumnProfile) -> bool:
    return col.count >= 1 and col.distinct_count().value >= 0.95 * col.count


def _shares(col: CategoricalColumn) -> dict[str, float]:
    counts = col.value_counts().counts
    return {k: v / col.count for k, v in counts.items()} if col.count else {}


def _categorical_distance(top: dict[str, float], shares: dict[str, float]) -> float:
    keys = set(top) | set(shares)
    return 0.5 * sum(abs(top.get(k, 0.0) - shares.get(k, 0.0)) for k in keys)


def categorical_fit(top: dict[str, float], n: int, shares: dict[str, float], m: int) -> float:
    """The p-value of Pearson's chi-square test that the reference's category shares
    (``top``, of ``n`` values; the rest pooled as one "other" category) and the batch's
    (``shares`` of ``m`` values) come from one distribution."""
    keys = list(top)
    ref = [top[k] * n for k in keys]
    new = [shares.get(k, 0.0) * m for k in keys]
    ref.append(max(n - sum(ref), 0.0))
    new.append(max(m - sum(new), 0.0))
    total = n + m
    statistic, cells = 0.0, 0
    for a, b in zip(ref, new, strict=True):
        if a + b <= 0:
            continue
        cells += 1
        for observed, size in ((a, n), (b, m)):
            expected = (a + b) * size / total
            statistic += (observed - expected) ** 2 / expected
    if cells < 2:
        return 1.0
    return float(chdtrc(cells - 1, statistic))


def score(old: str, spec: ColumnSpec, new: ColumnProfile, *, units: bool = True) -> Rename:
    """The exact assessment of one pair; confidence 0 when the distributions do not fit.
    ``units=False`` skips looking for a unit change (the screen found the pair unchanged)."""
    names = name_similarity(old, new.name)
    none = Rename(old, new.name, 0.0, round(names, 4), 0.0, None)
    if not _compatible(spec.type, new.type) or new.count == 0:
        return none
    ref = spec.reference
    factor = None
    if spec.identifier:
        if not _near_unique(new):
            return none
        similarity = 0.9
    elif _is_numeric(new) and ref is not None and ref.quantiles:
        assert isinstance(new, NumericColumn)
        tolerance = fit_tolerance(ref.count, new)
        distance = fit_distance(ref.quantiles, new)
        if distance is None:
            return none
        if distance > tolerance:
            if not units:
                return none
            change = detect_unit_change(ref.quantiles, new, ref.count)
            if change is None:
                return none
            factor, distance = change.factor, change.distance
        similarity = 1.0 - distance
    elif isinstance(new, CategoricalColumn) and ref is not None and ref.top:
        shares = _shares(new)
        if categorical_fit(ref.top, ref.count, shares, new.count) < CATEGORY_FIT_P:
            return none
        distance = _categorical_distance(ref.top, shares)
        similarity = 1.0 - distance
    elif ref is None or (not ref.quantiles and not ref.top):
        if names < NAME_ONLY:
            return none
        similarity = 0.0
    else:
        return none
    confidence = 1 - (1 - 0.8 * names) * (1 - 0.85 * max(similarity, 0.0))
    return Rename(
        old, new.name, round(confidence, 4), round(names, 4), round(similarity, 4), factor
    )


def _ranks(grid: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, ``searchsorted(grid[row], values[row])`` on the left and on the right
    (counted with comparisons, a few thousand rows at a time)."""
    low = np.empty(values.shape, dtype=np.int64)
    high = np.empty(values.shape, dtype=np.int64)
    for start in range(0, len(grid), 2048):
        g = grid[start : start + 2048, :, None]
        v = values[start : start + 2048, None, :]
        width = np.abs(v) * TIES  # rounding in a rescaled value is not a gap
        low[start : start + 2048] = (g < v - width).sum(axis=1)
        high[start : start + 2048] = (g <= v + width).sum(axis=1)
    return low, high


def _numeric_screen(
    missing: dict[str, ColumnSpec],
    new: dict[str, ColumnProfile],
    unchanged: set[tuple[str, str]],
) -> dict[str, list[tuple[float, str]]]:
    """Plausible (missing, new) numeric pairs by vectorised arithmetic on quantiles:
    ``{old: [(approximate distance, new), ...]}``; the pairs that fit unchanged are
    added to ``unchanged``.

    Every pair first: the reference's quartiles, unchanged or rescaled by the conversion
    the medians' ratio points to, must lie within the new column's quartile bands (its
    quantiles at ``p -/+`` the fit tolerance). The survivors then get the rank distance
    at all nine reference quantiles on the new column's 101-point quantile grid."""
    keys = list(PROBES)
    olds = [
        (name, spec)
        for name, spec in missing.items()
        if spec.type in NUMERIC_TYPES
        and not spec.identifier
        and spec.reference is not None
        and spec.reference.quantiles
    ]
    cols = [
        c
        for c in new.values()
        if isinstance(c, NumericColumn) and _is_numeric(c) and not c.kll.is_empty()
    ]
    found: dict[str, list[tuple[float, str]]] = defaultdict(list)
    if not olds or not cols:
        return found
    probes = np.array([PROBES[k] for k in keys])
    ref = np.array(
        [[(s.reference.quantiles or {}).get(k, np.nan) for k in keys] for _, s in olds]  # type: ignore[union-attr]
    )
    counts = np.array([float(max(s.reference.count if s.reference else 1, 1)) for _, s in olds])
    grids = np.array([c.kll.get_quantiles(list(_GRID), True) for c in cols], dtype=float)
    sizes = np.array([max(c.count - c.nans, 1) for c in cols], dtype=float)
    errors = np.array([c.rank_error for c in cols])
    # the loosest tolerance each new column can be given (against the smallest reference)
    smallest = counts.min()
    loosest = (
        KS_COEFFICIENT * np.sqrt((smallest + sizes) / (smallest * sizes))
        + 2 * errors
        + _SCREEN_SLACK
    )
    quartiles = [keys.index(k) for k in ("p25", "p50", "p75")]
    steps = len(_GRID) - 1
    bands = []
    for q in quartiles:
        low = np.clip(np.floor((probes[q] - loosest) * steps), 0, steps).astype(int)
        high = np.clip(np.ceil((probes[q] + loosest) * steps), 0, steps).astype(int)
        cols_index = np.arange(len(cols))
        bands.append((grids[cols_index, low], grids[cols_index, high]))
    medians = grids[:, steps // 2]
    pairs: dict[tuple[int, int], tuple[float, float]] = {}

    def keep(rows: np.ndarray, cols_: np.ndarray, factor: np.ndarray, offset: np.ndarray) -> None:
        """Keep the pairs whose rescaled reference quartiles lie in the new column's bands."""
        inside = np.ones(len(rows), dtype=bool)
        for (low, high), q in zip(bands, quartiles, strict=True):
            value = ref[rows, q] * factor + offset
            inside &= (low[cols_] <= value) & (value <= high[cols_])
        for i, j, f, o in zip(
            rows[inside], cols_[inside], factor[inside], offset[inside], strict=True
        ):
            pairs.setdefault((int(i), int(j)), (float(f), float(o)))

    with np.errstate(divide="ignore", invalid="ignore"):
        # unchanged: every pair, three band checks on the full matrix
        same = np.ones((len(olds), len(cols)), dtype=bool)
        for (low, high), q in zip(bands, quartiles, strict=True):
            same &= (low[None, :] <= ref[:, q, None]) & (ref[:, q, None] <= high[None, :])
        rows, cols_ = np.nonzero(same)
        keep(rows, cols_, np.ones(len(rows)), np.zeros(len(rows)))
        # rescaled: the conversion nearest the medians' ratio (one log-ratio matrix)
        scales = sorted(c.factor for c in CONVERSIONS if not c.affine)
        logs = np.log(np.array(scales))
        ratio = np.log(medians[None, :] / ref[:, quartiles[1], None])
        position = np.clip(np.searchsorted(logs, ratio), 1, len(logs) - 1)
        nearest = np.where(
            np.abs(ratio - logs[position - 1]) <= np.abs(ratio - logs[position]),
            position - 1,
            position,
        )
        close = np.abs(ratio - logs[nearest]) <= np.log1p(1.5 * FACTOR_TOLERANCE)
        rows, cols_ = np.nonzero(close)
        factors = np.array(scales)[nearest[rows, cols_]]  # exact, so ties stay ties
        keep(rows, cols_, factors, np.zeros(len(rows)))
        # affine (Celsius and Fahrenheit)
        for conversion in (c for c in CONVERSIONS if c.affine):
            implied = (medians[None, :] - conversion.offset) / ref[:, quartiles[1], None]
            rows, cols_ = np.nonzero(
                np.abs(implied / conversion.factor - 1) <= 1.5 * FACTOR_TOLERANCE
            )
            keep(
                rows,
                cols_,
                np.full(len(rows), conversion.factor),
                np.full(len(rows), conversion.offset),
            )
    if not pairs:
        return found
    index = np.array(list(pairs))
    scale = np.array([pairs[i, j] for i, j in index])
    values = ref[index[:, 0]] * scale[:, :1] + scale[:, 1:]
    grid = grids[index[:, 1]]
    low, high = _ranks(grid, values)
    gap = np.maximum(np.maximum((low - 1) / steps - probes, probes - high / steps), 0.0)
    distance = np.nanmax(np.where(np.isnan(values), 0.0, gap), axis=1)
    n, m = counts[index[:, 0]], sizes[index[:, 1]]
    tolerance = (
        KS_COEFFICIENT * np.sqrt((n + m) / (n * m)) + 2 * errors[index[:, 1]] + _SCREEN_SLACK
    )
    for (i, j), d, t in zip(index, distance, tolerance, strict=True):
        if d <= t:
            found[olds[i][0]].append((float(d), cols[j].name))
            if pairs[i, j] == (1.0, 0.0):
                unchanged.add((olds[i][0], cols[j].name))
    return found


def _other_screen(
    missing: dict[str, ColumnSpec], new: dict[str, ColumnProfile]
) -> dict[str, list[tuple[float, str]]]:
    """Plausible pairs that are not plain numbers: categories sharing a frequent value,
    identifiers, and columns without a distribution in their reference."""
    found: dict[str, list[tuple[float, str]]] = defaultdict(list)
    by_value: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_type: dict[str, list[ColumnProfile]] = defaultdict(list)
    for col in new.values():
        if col.count == 0:
            continue
        by_type[col.type].append(col)
        if isinstance(col, CategoricalColumn):
            for value in list(col.value_counts().counts)[:3]:
                by_value[col.type, value].append(col.name)
    for old, spec in missing.items():
        ref = spec.reference
        if spec.identifier:
            types = NUMERIC_TYPES if spec.type in NUMERIC_TYPES else {spec.type}
            found[old] += [(0.1, c.name) for t in types for c in by_type[t] if _near_unique(c)]
        elif spec.type in ("string", "bool") and ref is not None and ref.top:
            names = {n for value in list(ref.top)[:3] for n in by_value[spec.type, value]}
            found[old] += [(0.0, n) for n in sorted(names)]
        elif spec.type not in NUMERIC_TYPES and (ref is None or not (ref.quantiles or ref.top)):
            found[old] += [(1.0, c.name) for c in by_type[spec.type]]
        elif spec.type in NUMERIC_TYPES and (ref is None or not ref.quantiles):
            found[old] += [(1.0, c.name) for t in NUMERIC_TYPES for c in by_type[t]]
    return found


def _shortlist(old: str, pairs: list[tuple[float, str]]) -> list[str]:
    """The candidates of one missing column worth an exact look: the
    :data:`CLOSEST` closest distributions, and those sharing a name token, up to
    :data:`CANDIDATES_PER_COLUMN`."""
    if len(pairs) <= CLOSEST:
        return [n for _, n in pairs]
    ordered = sorted(pairs)
    mine = _tokens(old)
    named = [n for _, n in ordered if mine & _tokens(n)]
    chosen = dict.fromkeys([n for _, n in ordered[:CLOSEST]] + named)
    return list(chosen)[:CANDIDATES_PER_COLUMN]


def match_renames(missing: dict[str, ColumnSpec], new: dict[str, ColumnProfile]) -> list[Rename]:
    """Greedy best-first matching of missing to new columns whose distributions fit, at a
    confidence of :data:`THRESHOLD` or more."""
    if not missing or not new:
        return []
    unchanged: set[tuple[str, str]] = set()
    screened = _numeric_screen(missing, new, unchanged)
    for old, pairs in _other_screen(missing, new).items():
        screened[old] += pairs
    candidates = []
    for old, pairs in screened.items():
        for name in _shortlist(old, pairs):
            units = (old, name) not in unchanged
            candidates.append(score(old, missing[old], new[name], units=units))
    candidates.sort(key=lambda r: (-r.confidence, r.old, r.new))
    taken_old: set[str] = set()
    taken_new: set[str] = set()
    matches = []
    for candidate in candidates:
        if candidate.confidence < THRESHOLD:
            break
        if candidate.old in taken_old or candidate.new in taken_new:
            continue
        taken_old.add(candidate.old)
        taken_new.add(candidate.new)
        matches.append(candidate)
    return matches
