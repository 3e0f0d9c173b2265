"""Comparisons of the exact parts of profiles, for tests."""

from __future__ import annotations

import math
from typing import Any

from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, TemporalColumn


def exact_parts(profile: Profile) -> dict[str, Any]:
    """Everything a profile must get exactly right, moments aside (see assert_moments_close)."""
    parts: dict[str, Any] = {"rows": profile.rows, "columns": sorted(profile.columns)}
    for column in profile:
        entry: dict[str, Any] = {
            "type": column.type,
            "rows": column.rows,
            "nulls": column.nulls,
        }
        if isinstance(column, NumericColumn):
            entry.update(
                nans=column.nans,
                min=column.min,
                max=column.max,
                n=column.moments.count,
                kll_n=column.kll.n,
            )
        if isinstance(column, TemporalColumn):
            entry["timezone"] = column.timezone
        if isinstance(column, CategoricalColumn):
            entry.update(counts=column.counts, total=column.frequent.total_weight)
        parts[column.name] = entry
    return parts


def assert_moments_close(a: Profile, b: Profile, rel: float = 1e-9) -> None:
    """Means agree to ``rel`` of (|mean| + std), M2 to ``rel`` of itself."""
    for column in a:
        if not isinstance(column, NumericColumn):
            continue
        other = b.column(column.name)
        assert isinstance(other, NumericColumn)
        mine, theirs = column.moments, other.moments
        assert mine.count == theirs.count, column.name
        spread = math.sqrt(mine.m2 / mine.count) if mine.count else 0.0
        scale = abs(mine.mean) + spread
        assert math.isclose(mine.mean, theirs.mean, rel_tol=rel, abs_tol=rel * scale), (
            column.name,
            mine.mean,
            theirs.mean,
        )
        assert math.isclose(mine.m2, theirs.m2, rel_tol=rel, abs_tol=1e-300), (
            column.name,
            mine.m2,
            theirs.m2,
        )
