"""What changed between two versions of a contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postpilot.contracts.model import Contract

__all__ = ["Change", "diff_contracts"]

_FIELDS = ("type", "nullable", "max_null_rate", "identifier", "range")


@dataclass(frozen=True)
class Change:
    """One difference: ``column`` is None for contract-level fields."""

    column: str | None
    field: str
    before: Any
    after: Any

    def describe(self) -> str:
        where = f"{self.column}." if self.column else ""
        if self.field == "column":
            return f"column {self.column!r} {'added' if self.before is None else 'removed'}"
        return f"{where}{self.field}: {self.before!r} -> {self.after!r}"


def diff_contracts(old: Contract, new: Contract) -> list[Change]:
    """Columns added and removed, and every rule that changed (references are ignored)."""
    changes: list[Change] = []
    for key in ("rows", "range_tolerance"):
        before, after = getattr(old, key), getattr(new, key)
        if before != after:
            changes.append(Change(None, key, _plain(before), _plain(after)))
    for name in old.columns:
        if name not in new.columns:
            changes.append(Change(name, "column", old.columns[name].type, None))
    for name, spec in new.columns.items():
        if name not in old.columns:
            changes.append(Change(name, "column", None, spec.type))
            continue
        prev = old.columns[name]
        for field in _FIELDS:
            before, after = getattr(prev, field), getattr(spec, field)
            if before != after:
                changes.append(Change(name, field, _plain(before), _plain(after)))
        if prev.categories != spec.categories:
            was, now = set(prev.categories or []), set(spec.categories or [])
            changes.append(
                Change(
                    name, "categories", {"removed": sorted(was - now)}, {"added": sorted(now - was)}
                )
            )
    return changes


def _plain(value: Any) -> Any:
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value
