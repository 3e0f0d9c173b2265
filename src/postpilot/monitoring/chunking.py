"""Split data into chunks: by rows, by number of chunks, or by a time period.

Each chunk is profiled once (streaming, batch by batch), so drift and other
metrics are then computed from the chunk profiles: a year of daily chunks is
never re-read. A chunker turns a polars frame (one streamed batch) into chunk
keys; :func:`profile_chunks` merges every batch's share of a chunk into that
chunk's profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import polars as pl

from postpilot.errors import InputError

__all__ = [
    "MAX_ROWS",
    "PERIODS",
    "Chunk",
    "Chunker",
    "CountChunker",
    "PeriodChunker",
    "SizeChunker",
    "chunker_pair",
]

Period = Literal["day", "week", "month"]
PERIODS: dict[str, str] = {"day": "1d", "week": "1w", "month": "1mo"}
_KEY = "__postpilot_chunk__"
MAX_ROWS = 2**62
"""The largest chunk size or count: row numbers are 64-bit integers."""


def _count(value: object, what: str, field: str) -> int:
    """``value`` as a whole number from 1 to MAX_ROWS, else an InputError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROWS:
        raise InputError(
            f"{what} must be a whole number from 1 to {MAX_ROWS:,}, got {value!r}", field=field
        )
    return value


@dataclass(frozen=True)
class Chunk:
    """One chunk: its key (``"0"``, ``"2026-11-23"``), time span or row span, and row count."""

    key: str
    start: Any
    end: Any
    rows: int


class Chunker:
    """Assigns every row a chunk key. ``total_rows`` is known when chunking by count."""

    timestamp: str | None = None

    def keys(self, frame: pl.DataFrame, offset: int) -> pl.Series:
        """The chunk key of each row of ``frame``, whose first row is row ``offset``."""
        raise NotImplementedError

    def describe(self, key: str, rows: int, first_row: int) -> Chunk:
        return Chunk(key=key, start=first_row, end=first_row + rows - 1, rows=rows)

    def split(self, frame: pl.DataFrame, offset: int = 0) -> Iterator[tuple[str, pl.DataFrame]]:
        """The rows of ``frame`` grouped by chunk key, in key order."""
        keyed = frame.with_columns(self.keys(frame, offset).alias(_KEY))
        for (key,), part in keyed.group_by(_KEY, maintain_order=True):
            yield str(key), part.drop(_KEY)


class SizeChunker(Chunker):
    """Chunks of ``size`` consecutive rows (the last one may be smaller)."""

    def __init__(self, size: int) -> None:
        self.size = _count(size, "the chunk size", "chunk_size")

    def keys(self, frame: pl.DataFrame, offset: int) -> pl.Series:
        index = pl.int_range(offset, offset + frame.height, eager=True)
        return (index // self.size).cast(pl.Int64)

    def describe(self, key: str, rows: int, first_row: int) -> Chunk:
        start = int(key) * self.size  # rows are numbered from 0 in reading order
        return Chunk(key=key, start=start, end=start + rows - 1, rows=rows)


class CountChunker(SizeChunker):
    """``count`` chunks over ``total_rows`` rows, their sizes differing by at most one
    row (chunk ``k`` starts at row ``ceil(k * total_rows / count)``); ``size`` is the
    largest. Fewer rows than chunks is an InputError: every chunk has a row."""

    def __init__(self, count: int, total_rows: int) -> None:
        count = _count(count, "the number of chunks", "chunk_number")
        if total_rows < count:
            raise InputError(
                f"cannot make {count:,} chunks of {total_rows:,} rows",
                field="chunk_number",
                hint="Ask for at most one chunk per row",
            )
        super().__init__(max(1, -(-total_rows // count)))
        self.count = count
        self.total_rows = total_rows
        self._starts = np.array([-(-k * total_rows // count) for k in range(count)], dtype=np.int64)

    def keys(self, frame: pl.DataFrame, offset: int) -> pl.Series:
        index = np.arange(offset, offset + frame.height, dtype=np.int64)
        return pl.Series(np.searchsorted(self._starts, index, side="right") - 1, dtype=pl.Int64)

    def describe(self, key: str, rows: int, first_row: int) -> Chunk:
        start = int(self._starts[int(key)])
        return Chunk(key=key, start=start, end=start + rows - 1, rows=rows)


class PeriodChunker(Chunker):
    """One chunk per day, ISO week (starting Monday) or calendar month of ``timestamp``."""

    def __init__(self, period: str, timestamp: str) -> None:
        if period not in PERIODS:
            raise InputError(
                f"unknown chunk period {period!r}",
                field="chunk_period",
                hint=f"Use one of: {', '.join(PERIODS)}",
            )
        self.period = period
        self.timestamp = timestamp

    def keys(self, frame: pl.DataFrame, offset: int) -> pl.Series:
        if self.timestamp not in frame.columns:
            raise InputError(
                f"timestamp column {self.timestamp!r} not found; columns: "
                f"{', '.join(frame.columns)}",
                field="timestamp",
            )
        column = frame.get_column(self.timestamp)
        if not (column.dtype.is_temporal() and column.dtype != pl.Time()):
            try:
                column = column.str.to_datetime(strict=True)
            except (pl.exceptions.PolarsError, AttributeError) as exc:
                raise InputError(
                    f"timestamp column {self.timestamp!r} is {column.dtype}, not a date or time",
                    field="timestamp",
                ) from exc
        if column.null_count():
            raise InputError(
                f"timestamp column {self.timestamp!r} has {column.null_count()} null value(s); "
                "every row needs a time to be put in a chunk",
                field="timestamp",
            )
        start = column.dt.truncate(PERIODS[self.period])
        return start.dt.strftime("%Y-%m-%d")

    def describe(self, key: str, rows: int, first_row: int) -> Chunk:
        begin = datetime.strptime(key, "%Y-%m-%d").date()
        return Chunk(key=key, start=begin, end=_period_end(begin, self.period), rows=rows)


def _period_end(begin: date, period: str) -> date:
    from datetime import timedelta

    if period == "day":
        return begin
    if period == "week":
        return begin + timedelta(days=6)
    first_next = date(begin.year + begin.month // 12, begin.month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def chunker_pair(
    *,
    chunk_size: int | None,
    chunk_number: int | None,
    chunk_period: str | None,
    timestamp: str | None,
    rows: Callable[[], tuple[int, int]],
) -> tuple[Chunker, Chunker] | None:
    """The chunkers of the reference and of the current data, the same way for both;
    None when no way to chunk was asked for. ``rows()`` (reference rows, current rows)
    is called only when chunking by count needs them."""
    chosen = [
        name
        for name, value in (
            ("chunk_size", chunk_size),
            ("chunk_number", chunk_number),
            ("chunk_period", chunk_period),
        )
        if value is not None
    ]
    if len(chosen) > 1:
        raise InputError(f"choose one way to chunk, got {', '.join(chosen)}", field=chosen[1])
    if chunk_period is not None:
        if not timestamp:
            raise InputError(
                "chunking by period needs the timestamp column",
                field="timestamp",
                hint="Pass --timestamp COLUMN",
            )
        return PeriodChunker(chunk_period, timestamp), PeriodChunker(chunk_period, timestamp)
    if chunk_size is not None:
        return SizeChunker(chunk_size), SizeChunker(chunk_size)
    if chunk_number is not None:
        _count(chunk_number, "the number of chunks", "chunk_number")
        reference_rows, current_rows = rows()
        return CountChunker(chunk_number, reference_rows), CountChunker(chunk_number, current_rows)
    return None
