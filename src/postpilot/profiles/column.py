"""What every column profile has, and the profile of a column with no typed values.

Counting conventions, the same for every kind of column:

- ``rows``: every row the column was seen in, nulls included;
- ``nulls``: rows where the value is null (a float NaN is *not* null; numeric
  columns count NaN separately as ``nans``);
- ``count``: ``rows - nulls``;
- ``null_rate``: ``nulls / rows`` (0.0 for a column with no rows).

Merging two column profiles gives the profile of the rows of both. A column
that one side lacks (or saw only as untyped nulls) counts those rows as nulls;
``int`` and ``float`` merge into ``float``; any other pair of different observed
types raises InputError naming the column.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import datasketches as ds

from postpilot.errors import InputError

__all__ = ["ColumnProfile", "Estimate", "NullColumn", "is_identifier"]


@dataclass(frozen=True, slots=True)
class Estimate:
    """An estimated quantity with its bounds; ``exact`` when lower == value == upper by counting.

    >>> Estimate(3.0, 3.0, 3.0, exact=True).value
    3.0
    """

    value: float
    lower: float
    upper: float
    exact: bool = False


class ColumnProfile(ABC):
    """The profile of one column: counts, plus sketches that depend on its kind."""

    kind: ClassVar[str]
    __slots__ = ("name", "nulls", "rows", "type")

    def __init__(self, name: str, type: str, rows: int, nulls: int) -> None:
        self.name = name
        self.type = type
        self.rows = rows
        self.nulls = nulls

    @property
    def count(self) -> int:
        """Rows whose value is not null."""
        return self.rows - self.nulls

    @property
    def null_rate(self) -> float:
        """The share of rows that are null; 0.0 when there are no rows."""
        return self.nulls / self.rows if self.rows else 0.0

    @abstractmethod
    def distinct_count(self, std_devs: int = 2) -> Estimate:
        """The number of distinct non-null values, with bounds at ``std_devs`` (1 to 3)."""

    @abstractmethod
    def with_missing(self, rows: int) -> Self:
        """This column after ``rows`` more rows in which it is null (or absent)."""

    @abstractmethod
    def _merge_same_kind(self, other: Self) -> Self: ...

    @abstractmethod
    def _state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        """JSON-ready metadata and serialized sketches, for the codec."""

    @classmethod
    @abstractmethod
    def _from_state(cls, meta: dict[str, Any], sketches: dict[str, bytes]) -> Self: ...

    def _comparable(self) -> object:
        """What equality compares: the state, with sketches in a canonical form."""
        return self._state()

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """The profile of this column's rows and ``other``'s together."""
        if other.name != self.name:
            raise InputError(
                f"cannot merge column '{other.name}' into column '{self.name}'", field=self.name
            )
        if isinstance(other, NullColumn):
            return self.with_missing(other.rows)
        if isinstance(self, NullColumn):
            return other.with_missing(self.rows)
        if type(other) is not type(self):
            raise type_conflict(self.name, self.type, other.type)
        return self._merge_same_kind(other)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ColumnProfile):
            return NotImplemented
        return type(self) is type(other) and self._comparable() == other._comparable()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, type={self.type!r}, "
            f"rows={self.rows}, nulls={self.nulls})"
        )

    def _base_state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "type": self.type,
            "rows": self.rows,
            "nulls": self.nulls,
        }


class NullColumn(ColumnProfile):
    """A column seen only as nulls of no type (e.g. an empty CSV column).

    >>> NullColumn("notes", rows=3).distinct_count().value
    0.0
    """

    kind = "null"
    __slots__ = ()

    def __init__(self, name: str, rows: int) -> None:
        super().__init__(name, "null", rows, rows)

    def distinct_count(self, std_devs: int = 2) -> Estimate:
        check_std_devs(std_devs)
        return Estimate(0.0, 0.0, 0.0, exact=True)

    def with_missing(self, rows: int) -> Self:
        return type(self)(self.name, self.rows + rows)

    def _merge_same_kind(self, other: Self) -> Self:
        return self.with_missing(other.rows)

    def _state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        return self._base_state(), {}

    @classmethod
    def _from_state(cls, meta: dict[str, Any], sketches: dict[str, bytes]) -> Self:
        return cls(meta["name"], meta["rows"])


def type_conflict(column: str, left: str, right: str) -> InputError:
    """The error for a column seen with two observed types that do not merge."""
    return InputError(
        f"column '{column}' is {left} in one part and {right} in another",
        field=column,
        hint="A column merges only with itself, int with float; cast it to one type "
        "upstream or profile the parts under different column names",
    )


def check_std_devs(std_devs: int) -> None:
    """Sketch bounds exist at 1, 2 or 3 standard deviations."""
    if std_devs not in (1, 2, 3):
        raise InputError(f"std_devs must be 1, 2 or 3, got {std_devs!r}", field="std_devs")


def hll_estimate(sketch: ds.hll_sketch, std_devs: int) -> Estimate:
    """The HLL sketch's estimate and bounds at ``std_devs`` standard deviations."""
    check_std_devs(std_devs)
    if sketch.is_empty():
        return Estimate(0.0, 0.0, 0.0, exact=True)
    return Estimate(
        sketch.get_estimate(),
        sketch.get_lower_bound(std_devs),
        sketch.get_upper_bound(std_devs),
    )


_ID_NAME = re.compile(r"(^|[_\-\s.])(id|key|uuid|guid)$|Id$|ID$", re.IGNORECASE)


def is_identifier(col: ColumnProfile) -> bool:
    """Whether the column looks like a key: a string column, or an int column whose name
    ends in ``id``/``key``/``uuid``/``guid``, with at least 50 values, nearly all distinct
    (>= 95%). Contracts give it no range or categories; drift does not compare it (every
    batch holds new keys, which is not drift)."""
    if col.type not in ("string", "int") or col.count < 50:
        return False
    if col.type == "int" and not _ID_NAME.search(col.name):
        return False
    return col.distinct_count().value >= 0.95 * col.count
