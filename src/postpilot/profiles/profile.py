"""A dataset's profile: its row count, its column order, and a profile per column.

Profiles merge: ``a.merge(b)`` is the profile of the rows of both, exactly for
counts, nulls, min, max, moments and exact value counts, and within the
sketches' stated error for quantiles, distinct counts and frequent items. The
merged profile has the union of the columns (``a``'s order, then ``b``'s new
ones); a column one side lacks counts that side's rows as nulls, which is what
profiling the two datasets stacked with missing columns filled by nulls gives.

>>> import polars as pl
>>> from postpilot.profiles import profile
>>> jan = profile(pl.DataFrame({"amount": [10.0, 20.0]}))
>>> feb = profile(pl.DataFrame({"amount": [30.0], "channel": ["web"]}))
>>> both = jan.merge(feb)
>>> (both.rows, both.columns, both.column("amount").mean, both.column("channel").nulls)
(3, ('amount', 'channel'), 20.0, 2)
>>> Profile.from_bytes(both.to_bytes()) == both
True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from postpilot.errors import InputError, NotFoundError
from postpilot.profiles import codec
from postpilot.profiles.column import ColumnProfile, NullColumn

__all__ = ["Profile"]


class Profile:
    """The profile of a dataset; see the module docstring."""

    __slots__ = ("_columns", "rows")

    def __init__(self, rows: int, columns: Iterable[ColumnProfile]) -> None:
        self.rows = rows
        self._columns: dict[str, ColumnProfile] = {}
        for column in columns:
            if column.name in self._columns:
                raise InputError(f"column '{column.name}' appears twice", field=column.name)
            if column.rows != rows:
                raise InputError(
                    f"column '{column.name}' has {column.rows} rows, the profile {rows}",
                    field=column.name,
                )
            self._columns[column.name] = column

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(self._columns)

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``; NotFoundError if there is none."""
        try:
            return self._columns[name]
        except KeyError:
            raise NotFoundError(
                f"the profile has no column '{name}'",
                field=name,
                hint=f"Its columns are: {', '.join(self._columns) or '(none)'}",
            ) from None

    def __iter__(self) -> Iterator[ColumnProfile]:
        return iter(self._columns.values())

    def __len__(self) -> int:
        return len(self._columns)

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def merge(self, other: Profile) -> Profile:
        """The profile of this dataset's rows and ``other``'s together."""
        names = list(self._columns) + [n for n in other._columns if n not in self._columns]
        merged = []
        for name in names:
            left = self._columns.get(name) or NullColumn(name, self.rows)
            right = other._columns.get(name) or NullColumn(name, other.rows)
            merged.append(left.merge(right))
        return Profile(self.rows + other.rows, merged)

    def to_bytes(self) -> bytes:
        """The compact, versioned stored form (see ``postpilot.profiles.codec``)."""
        return codec.encode(self.rows, list(self._columns.values()))

    @classmethod
    def from_bytes(cls, data: bytes) -> Profile:
        """Read a profile written by ``to_bytes``; InputError if the bytes are not one."""
        rows, columns = codec.decode(data)
        return cls(rows, columns)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Profile):
            return NotImplemented
        return self.rows == other.rows and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Profile(rows={self.rows}, columns={list(self._columns)})"
