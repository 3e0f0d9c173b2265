"""Datetime, date, time and duration columns, profiled in microseconds."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from postpilot.errors import InputError
from postpilot.profiles import Profile, TemporalColumn, profile


def temporal(frame: pl.DataFrame, name: str) -> TemporalColumn:
    column = profile(frame).column(name)
    assert isinstance(column, TemporalColumn)
    return column


def test_datetime_with_zone() -> None:
    zone = "Europe/Amsterdam"
    values = pl.Series(
        [dt.datetime(2024, 3, 1, 12), None, dt.datetime(2023, 12, 31, 23, 59, 59, 999_999)]
    ).dt.replace_time_zone(zone)
    col = temporal(pl.DataFrame({"at": values}), "at")
    assert (col.type, col.timezone, col.rows, col.nulls) == ("datetime", zone, 3, 1)
    earliest, latest = col.earliest, col.latest
    assert isinstance(earliest, dt.datetime)
    assert isinstance(latest, dt.datetime)
    assert earliest == values[2]
    assert latest == values[0]
    assert str(latest.tzinfo) == zone
    assert col.min == values.dt.epoch("us").min()
    assert col.to_python(col.quantile(1.0)) == latest


def test_naive_datetime_in_nanoseconds() -> None:
    values = pl.Series([dt.datetime(1969, 7, 20, 20, 17, 40), dt.datetime(2000, 1, 1)]).cast(
        pl.Datetime("ns")
    )
    col = temporal(pl.DataFrame({"at": values}), "at")
    assert col.timezone is None
    assert col.earliest == dt.datetime(1969, 7, 20, 20, 17, 40)
    assert col.latest == dt.datetime(2000, 1, 1)


def test_fixed_offset_zone() -> None:
    col = temporal(pl.DataFrame({"at": [dt.datetime(2024, 1, 1)]}), "at")
    col.timezone = "+05:30"
    assert col.to_python(0) == dt.datetime(
        1970, 1, 1, 5, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
    )


def test_date_time_and_duration() -> None:
    frame = pl.DataFrame(
        {
            "day": [dt.date(2024, 2, 29), dt.date(1999, 1, 1), None],
            "clock": [dt.time(23, 59, 59, 5), dt.time(0, 0, 1), dt.time(12)],
            "wait": [dt.timedelta(seconds=3), dt.timedelta(days=-1), None],
        }
    )
    p = profile(frame)
    day, clock, wait = (p.column(n) for n in ("day", "clock", "wait"))
    assert isinstance(day, TemporalColumn)
    assert isinstance(clock, TemporalColumn)
    assert isinstance(wait, TemporalColumn)
    assert (day.type, day.earliest, day.latest) == (
        "date",
        dt.date(1999, 1, 1),
        dt.date(2024, 2, 29),
    )
    assert (clock.type, clock.earliest, clock.latest) == (
        "time",
        dt.time(0, 0, 1),
        dt.time(23, 59, 59, 5),
    )
    assert clock.to_python(clock.quantile(0.5)) == dt.time(12)
    assert (wait.type, wait.earliest, wait.latest) == (
        "duration",
        dt.timedelta(days=-1),
        dt.timedelta(seconds=3),
    )
    assert day.distinct_count().value == pytest.approx(2, abs=1e-6)


def test_empty_column_has_no_range() -> None:
    col = temporal(pl.DataFrame({"day": pl.Series([None], dtype=pl.Date)}), "day")
    assert col.earliest is None
    assert col.latest is None
    assert col.quantile(0.5) is None


def test_merge_and_round_trip() -> None:
    jan = profile(pl.DataFrame({"at": [dt.datetime(2024, 1, d) for d in range(1, 32)]}))
    feb = profile(pl.DataFrame({"at": [dt.datetime(2024, 2, d) for d in range(1, 30)]}))
    both = jan.merge(feb)
    col = both.column("at")
    assert isinstance(col, TemporalColumn)
    assert (col.rows, col.earliest, col.latest) == (
        60,
        dt.datetime(2024, 1, 1),
        dt.datetime(2024, 2, 29),
    )
    again = Profile.from_bytes(both.to_bytes())
    assert again == both
    assert again.column("at").latest == dt.datetime(2024, 2, 29)  # type: ignore[attr-defined]


def test_zone_or_type_mismatch_is_a_conflict() -> None:
    naive = profile(pl.DataFrame({"at": [dt.datetime(2024, 1, 1)]}))
    utc = profile(pl.DataFrame({"at": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)]}))
    day = profile(pl.DataFrame({"at": [dt.date(2024, 1, 1)]}))
    number = profile(pl.DataFrame({"at": [1.0]}))
    for other in (utc, day, number):
        with pytest.raises(InputError) as info:
            naive.merge(other)
        assert info.value.field == "at"
        assert "'at'" in str(info.value)
