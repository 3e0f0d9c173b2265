"""The profile of a datetime, date, time or duration column, and its accumulator.

A temporal column is profiled as integer microseconds: since the Unix epoch (UTC)
for ``datetime`` and ``date``, since midnight for ``time``, and the length of a
``duration``. Every numeric accessor (``min``, ``max``, ``quantile``, ``rank``,
``mean``...) speaks microseconds; ``to_python`` turns one back into a Python
object, and ``earliest``/``latest`` give the time range.

>>> import datetime as dt
>>> import polars as pl
>>> from postpilot.profiles import profile
>>> days = pl.DataFrame({"day": [dt.date(2024, 1, 1), dt.date(2024, 3, 1)]})
>>> col = profile(days).column("day")
>>> (col.type, col.earliest, col.latest)
('date', datetime.date(2024, 1, 1), datetime.date(2024, 3, 1))
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postpilot.profiles.column import type_conflict
from postpilot.profiles.numeric import NumericAccumulator, NumericColumn
from postpilot.profiles.summary import NumericBatch

__all__ = ["TemporalAccumulator", "TemporalColumn"]

_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

TemporalValue = dt.datetime | dt.date | dt.time | dt.timedelta


class TemporalColumn(NumericColumn):
    """A ``datetime``, ``date``, ``time`` or ``duration`` column, in microseconds."""

    kind = "temporal"
    __slots__ = ("timezone",)

    def __init__(self, *args: Any, timezone: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone = timezone

    @property
    def earliest(self) -> TemporalValue | None:
        """The smallest value as a Python object; None when there are none."""
        return self.to_python(self.min)

    @property
    def latest(self) -> TemporalValue | None:
        """The largest value as a Python object; None when there are none."""
        return self.to_python(self.max)

    def to_python(self, micros: float | None) -> TemporalValue | None:
        """Turn microseconds (from ``min``, ``quantile``...) into this column's Python type."""
        if micros is None:
            return None
        delta = dt.timedelta(microseconds=round(micros))
        if self.type == "duration":
            return delta
        if self.type == "time":
            return (dt.datetime.min + delta).time()
        if self.type == "date":
            return (_EPOCH + delta).date()
        if self.timezone is None:
            return _EPOCH + delta
        return (_EPOCH_UTC + delta).astimezone(_zone(self.timezone))

    def _merged_type(self, other: NumericColumn) -> str:
        other_zone = getattr(other, "timezone", None)
        if self.type != other.type or self.timezone != other_zone:
            raise type_conflict(
                self.name, _describe(self.type, self.timezone), _describe(other.type, other_zone)
            )
        return self.type

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "timezone": self.timezone}

    def _state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        meta, sketches = super()._state()
        meta["timezone"] = self.timezone
        return meta, sketches

    @classmethod
    def _from_state(cls, meta: dict[str, Any], sketches: dict[str, bytes]) -> Self:
        return super()._from_state(meta, sketches)._replace(timezone=meta["timezone"])


class TemporalAccumulator(NumericAccumulator):
    """Folds batches of one temporal column into a TemporalColumn."""

    def __init__(self, name: str, type: str, *, timezone: str | None, **kwargs: Any) -> None:
        super().__init__(name, type, **kwargs)
        self.timezone = timezone

    def update(self, batch: NumericBatch) -> None:
        if batch.timezone != self.timezone:
            raise type_conflict(
                self.name, _describe(self.type, self.timezone), _describe(self.type, batch.timezone)
            )
        super().update(batch)

    def finish(self) -> TemporalColumn:
        column = super().finish()
        return TemporalColumn(**column._fields(), timezone=self.timezone)


def _describe(type_: str, zone: str | None) -> str:
    return f"{type_} ({zone})" if zone else type_


def _zone(name: str) -> dt.tzinfo:
    if name[:1] in ("+", "-") and name[1:3].isdigit():  # a fixed offset such as "+05:30"
        sign = -1 if name[0] == "-" else 1
        hours, _, minutes = name[1:].partition(":")
        return dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes or 0)))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC
