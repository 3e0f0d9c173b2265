"""Recognise a renamed column: one gone, one new, with the same distribution.

A pair (missing contract column, new batch column) is a rename candidate only when
the types are compatible and the distributions *fit*:

- numbers: the reference quantiles fit the new column within the two-sample KS
  tolerance (:func:`~postpilot.contracts.units.fit_distance` and
  :func:`~postpilot.contracts.units.fit_tolerance`), unchanged or after a recognised
  unit change (renamed and switched to cents is both findings);
- categories: the total variation distance between the reference's category shares
  and the batch's is within the same tolerance;
- identifiers: both near-unique (at least 95% distinct values);
- columns whose reference carries no distribution (dates, times, a column of nulls):
  the names alone, at a name similarity of at least 0.75.

A fitting pair's confidence is a noisy-OR of the name similarity (the better of a
character match ratio and shared name tokens, weighted 0.8) and the distribution
similarity (``1 - distance``, weighted 0.85). Pairs at or above :data:`THRESHOLD`
are matched greedily, most confident first. A dropped column and an unrelated new
one therefore stay a missing and an unexpected column: their distributions do not fit.

Wide tables: every pair is first screened with vectorised arithmetic (each new
column's quantile grid against every reference's quantiles, quantile ratios against
the known conversions, shared category values), and only plausible pairs get the exact
sketch queries and name comparison; at most :data:`CANDIDATES_PER_COLUMN` per missing
column, the closest first.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from postpilot.contracts.model import NUMERIC_TYPES, ColumnSpec
from postpilot.contracts.units import (
    CONVERSIONS,
    FACTOR_TOLERANCE,
    KS_COEFFICIENT,
    PROBES,
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
_GRID = np.linspace(0.0, 1.0, 201)
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


def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower()
    return {_ABBREVIATIONS.get(t, t) for t in _TOKEN.findall(spaced)}


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


def _categorical_tolerance(n: int, m: int) -> float:
    n, m = max(n, 1), max(m, 1)
    return KS_COEFFICIENT * ((n + m) / (n * m)) ** 0.5


def score(old: str, spec: ColumnSpec, new: ColumnProfile) -> Rename:
    """The exact assessment of one pair; confidence 0 when the distributions do not fit."""
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
            change = detect_unit_change(ref.quantiles, new, ref.count)
            if change is None:
                return none
            factor, distance = change.factor, change.distance
        similarity = 1.0 - distance
    elif isinstance(new, CategoricalColumn) and ref is not None and ref.top:
        distance = _categorical_distance(ref.top, _shares(new))
        if distance > _categorical_tolerance(ref.count, new.count):
            return none
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


def _numeric_screen(
    missing: dict[str, ColumnSpec], new: dict[str, ColumnProfile]
) -> dict[str, list[tuple[float, str]]]:
    """Plausible (missing, new) numeric pairs by vectorised arithmetic on quantiles:
    ``{old: [(approximate distance, new), ...]}``."""
    keys = list(PROBES)
    olds = [
        (name, spec)
        for name, spec in missing.items()
        if spec.type in NUMERIC_TYPES
        and not spec.identifier
        and spec.reference is not None
        and spec.reference.quantiles
    ]
    cols = [c for c in new.values() if _is_numeric(c) and c.count > 0]
    found: dict[str, list[tuple[float, str]]] = defaultdict(list)
    if not olds or not cols:
        return found
    probes = np.array([PROBES[k] for k in keys])
    ref = np.array(
        [[(s.reference.quantiles or {}).get(k, np.nan) for k in keys] for _, s in olds]  # type: ignore[union-attr]
    )
    counts = np.array([max(s.reference.count, 1) for _, s in olds])  # type: ignore[union-attr]
    middle = [keys.index(k) for k in ("p25", "p50", "p75")]
    factors = np.array([c.factor for c in CONVERSIONS if not c.affine])
    affine = [(c.factor, c.offset) for c in CONVERSIONS if c.affine]
    with np.errstate(divide="ignore", invalid="ignore"):
        for col in cols:
            assert isinstance(col, NumericColumn)
            grid = col.kll.get_quantiles(list(_GRID), True) if not col.kll.is_empty() else None
            if grid is None:
                continue
            grid = np.asarray(grid, dtype=float)
            m = max(col.count - col.nans, 1)
            tolerance = (
                KS_COEFFICIENT * np.sqrt((counts + m) / (counts * m))
                + 2 * col.rank_error
                + _SCREEN_SLACK
            )
            below = np.interp(ref, grid, _GRID, left=0.0, right=1.0)
            distance = np.nanmax(np.abs(below - probes), axis=1)
            plausible = distance <= tolerance
            mine = grid[np.rint(probes[middle] * 200).astype(int)]
            ratios = mine / ref[:, middle]
            median = np.nanmedian(ratios, axis=1)
            within = 1.5 * FACTOR_TOLERANCE
            close = np.abs(median[:, None] / factors[None, :] - 1) <= within
            plausible |= close.any(axis=1)
            for factor, offset in affine:
                shifted = np.nanmedian((mine - offset) / ref[:, middle], axis=1)
                plausible |= np.abs(shifted / factor - 1) <= within
            for index in np.flatnonzero(plausible):
                found[olds[index][0]].append((float(distance[index]), col.name))
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
    """The closest candidates of one missing column, ties broken by shared name tokens."""
    if len(pairs) <= CANDIDATES_PER_COLUMN:
        return [n for _, n in pairs]
    mine = _tokens(old)

    def key(pair: tuple[float, str]) -> tuple[float, float]:
        theirs = _tokens(pair[1])
        shared = len(mine & theirs) / len(mine | theirs) if mine | theirs else 0.0
        return (-shared, pair[0])

    return [n for _, n in sorted(pairs, key=key)[:CANDIDATES_PER_COLUMN]]


def match_renames(missing: dict[str, ColumnSpec], new: dict[str, ColumnProfile]) -> list[Rename]:
    """Greedy best-first matching of missing to new columns whose distributions fit, at a
    confidence of :data:`THRESHOLD` or more."""
    if not missing or not new:
        return []
    screened = _numeric_screen(missing, new)
    for old, pairs in _other_screen(missing, new).items():
        screened[old] += pairs
    candidates = []
    for old, pairs in screened.items():
        for name in _shortlist(old, pairs):
            candidates.append(score(old, missing[old], new[name]))
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
