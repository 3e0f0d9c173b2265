"""Recognise a renamed column: one gone, one new, alike in name and/or distribution.

Each (missing, new) pair gets a name similarity (the better of a character
match ratio and shared name tokens) and a distribution similarity (for numbers
``1 - KS distance`` between the reference quantiles and the batch, also after
undoing a known unit change; for categories ``1 - total variation distance``
of the category shares). The confidence is a noisy-OR of the two, weighted
0.8 for the name and 0.85 for the distribution, and zero across incompatible
types. Pairs at or above :data:`THRESHOLD` are matched greedily, most
confident first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from postpilot.contracts.infer import QUANTILES
from postpilot.contracts.model import NUMERIC_TYPES, ColumnSpec
from postpilot.contracts.units import detect_unit_change
from postpilot.profiles import CategoricalColumn, NumericColumn, TemporalColumn
from postpilot.profiles.column import ColumnProfile

__all__ = ["THRESHOLD", "Rename", "match_renames", "name_similarity"]

THRESHOLD = 0.6
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
    ratio = SequenceMatcher(None, a.lower(), b.lower()).ratio()
    ta, tb = _tokens(a), _tokens(b)
    jaccard = len(ta & tb) / len(ta | tb) if ta | tb else 0.0
    return max(ratio, jaccard)


def _numeric_similarity(spec: ColumnSpec, col: NumericColumn) -> tuple[float, float | None]:
    quantiles = spec.reference.quantiles if spec.reference else None
    if not quantiles or col.count == 0:
        return 0.0, None
    factor = None
    change = detect_unit_change(quantiles, col)
    if change is not None:
        factor = change.factor
    scale = factor or 1.0
    distance = 0.0
    for key, p in QUANTILES.items():
        ref = quantiles.get(key)
        if ref is None:
            continue
        rank = col.rank(ref * scale)
        if rank is None:
            return 0.0, None
        distance = max(distance, abs(rank - p))
    return 1.0 - distance, factor


def _categorical_similarity(spec: ColumnSpec, col: CategoricalColumn) -> float:
    top = spec.reference.top if spec.reference else None
    if not top or col.count == 0:
        return 0.0
    counts = col.value_counts().counts
    shares = {k: v / col.count for k, v in counts.items()}
    keys = set(top) | set(shares)
    return 1.0 - 0.5 * sum(abs(top.get(k, 0.0) - shares.get(k, 0.0)) for k in keys)


def _distribution_similarity(spec: ColumnSpec, col: ColumnProfile) -> tuple[float, float | None]:
    if spec.identifier:
        near_unique = col.count > 0 and col.distinct_count().value >= 0.95 * col.count
        return (0.9 if near_unique else 0.0), None
    if isinstance(col, NumericColumn) and not isinstance(col, TemporalColumn):
        return _numeric_similarity(spec, col)
    if isinstance(col, CategoricalColumn):
        return _categorical_similarity(spec, col), None
    return 0.0, None


def _compatible(old: str, new: str) -> bool:
    return old == new or (old in NUMERIC_TYPES and new in NUMERIC_TYPES)


def score(old: str, spec: ColumnSpec, new: ColumnProfile) -> Rename:
    if not _compatible(spec.type, new.type):
        return Rename(old, new.name, 0.0, name_similarity(old, new.name), 0.0, None)
    names = name_similarity(old, new.name)
    dist, factor = _distribution_similarity(spec, new)
    confidence = 1 - (1 - 0.8 * names) * (1 - 0.85 * max(dist, 0.0))
    return Rename(old, new.name, round(confidence, 4), round(names, 4), round(dist, 4), factor)


def match_renames(missing: dict[str, ColumnSpec], new: dict[str, ColumnProfile]) -> list[Rename]:
    """Greedy best-first matching of missing to new columns above :data:`THRESHOLD`."""
    candidates = sorted(
        (score(old, spec, col) for old, spec in missing.items() for col in new.values()),
        key=lambda r: -r.confidence,
    )
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
