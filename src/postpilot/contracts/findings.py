"""What a contract check reports: findings, each with its kind, column, severity and numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["CheckResult", "Finding", "Kind", "Severity"]


class Kind(StrEnum):
    MISSING_COLUMN = "missing_column"
    UNEXPECTED_COLUMN = "unexpected_column"
    LIKELY_RENAME = "likely_rename"
    TYPE_CHANGE = "type_change"
    UNIT_CHANGE = "unit_change"
    SWAPPED_COLUMNS = "swapped_columns"
    NEW_CATEGORY = "new_category"
    NULL_RATE = "null_rate"
    OUT_OF_RANGE = "out_of_range"
    CONSTANT_COLUMN = "constant_column"
    ROW_COUNT = "row_count"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One thing a batch does that its contract does not allow (or that looks wrong).

    ``details`` carries the numbers: what was expected, what was seen, and for
    renames and unit changes the evidence and confidence.
    """

    kind: Kind
    column: str | None
    severity: Severity
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "column": self.column,
            "severity": self.severity.value,
            "message": self.message,
            **self.details,
        }


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one batch: ``ok`` when no finding is an error."""

    contract: str
    rows: int
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape: ``{"ok", "rows", "findings": [...]}`` (plus ``contract``)."""
        return {
            "ok": self.ok,
            "rows": self.rows,
            "contract": self.contract,
            "findings": [f.to_dict() for f in self.findings],
        }
