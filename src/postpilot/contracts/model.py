"""The data contract: what a steward promises about a data source, as editable YAML.

A contract says, per column, the type, whether nulls are allowed and how many,
the allowed numeric range, the allowed categories of low-cardinality text, and
whether the column is an identifier. ``reference`` records what was seen in
the data the contract was inferred from (a compact summary of its profile);
``postpilot contract check`` uses it to recognise renames and unit changes.

Example (the YAML a steward edits)::

    schema_version: 1
    name: crm
    rows: {min: 1}
    columns:
      account_id: {type: string, nullable: false, identifier: true}
      amount_usd:
        type: float
        nullable: true
        max_null_rate: 0.02
        range: {min: 0.0, max: 132000.0}
      stage: {type: string, nullable: false, categories: [lost, open, won]}
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "COLUMN_TYPES",
    "NUMERIC_TYPES",
    "SCHEMA_VERSION",
    "ColumnSpec",
    "Contract",
    "Range",
    "Reference",
    "RowSpec",
]

SCHEMA_VERSION: Literal[1] = 1
COLUMN_TYPES = ("int", "float", "bool", "string", "datetime", "date", "time", "duration", "null")
NUMERIC_TYPES = frozenset({"int", "float"})
ColumnType = Literal[
    "int", "float", "bool", "string", "datetime", "date", "time", "duration", "null"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """Allowed values, inclusive; either end may be open."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Reference(_Strict):
    """What the reference data looked like (informational; used to explain findings)."""

    count: int = Field(ge=0)
    null_rate: float = Field(ge=0, le=1)
    distinct: int | None = Field(default=None, ge=0)
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    quantiles: dict[str, float] | None = None
    """``p01`` .. ``p99`` of the numeric values."""
    top: dict[str, float] | None = None
    """Share of rows of the most frequent categories."""
    singletons: int | None = Field(default=None, ge=0)
    """Categories seen exactly once (their share estimates how many new values to expect)."""


class ColumnSpec(_Strict):
    type: ColumnType
    nullable: bool = True
    max_null_rate: float | None = Field(default=None, ge=0, le=1)
    identifier: bool = False
    range: Range | None = None
    categories: list[str] | None = None
    description: str | None = None
    reference: Reference | None = None

    @field_validator("categories")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            dupes = sorted({v for v in value if value.count(v) > 1})
            raise ValueError(f"categories repeat: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.range is not None and self.type not in NUMERIC_TYPES:
            raise ValueError(f"range applies to int and float columns, not {self.type}")
        if self.categories is not None and self.type not in ("string", "bool"):
            raise ValueError(f"categories apply to string and bool columns, not {self.type}")
        return self


class RowSpec(_Strict):
    min: int | None = Field(default=1, ge=0)
    max: int | None = Field(default=None, ge=0)


class Contract(_Strict):
    """A data contract. Load and save with :mod:`postpilot.contracts.io`."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    source: str | None = None
    product: str | None = None
    steward: str | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    range_tolerance: float = Field(default=0.1, ge=0)
    """Share of the seen range added on each side when inferring ``range``."""
    rows: RowSpec = Field(default_factory=RowSpec)
    columns: dict[str, ColumnSpec]

    @field_validator("columns")
    @classmethod
    def _not_empty(cls, value: dict[str, ColumnSpec]) -> dict[str, ColumnSpec]:
        if not value:
            raise ValueError("a contract needs at least one column")
        return value

    def allowed_null_rate(self, column: str) -> float:
        """The highest null rate the column may have in a batch."""
        spec = self.columns[column]
        if not spec.nullable:
            return 0.0
        return 1.0 if spec.max_null_rate is None else spec.max_null_rate


def finite(value: float | None) -> float | None:
    """``value`` unless it is NaN or infinite (YAML and JSON cannot carry those)."""
    return value if value is not None and math.isfinite(value) else None
