"""Read estimate's inputs in bounded slices: a capped sample of the reference, chunks
of the analysis data assembled as batches stream in.

Memory holds one batch (``BATCH_ROWS`` rows of the columns asked for), the rows of
the chunks still open (only the columns a metric needs), and, for the reference, a
uniform sample of at most ``REFERENCE_SAMPLE_ROWS`` rows (twice that while it is
trimmed). A chunk is complete once its last row has been read: for chunks of
consecutive rows (by size or by number) when the next chunk starts; for chunks by
period, at the last row of that period, found by a first pass over the timestamp
column alone. Over data sorted by time that keeps one period open at a time; over
unsorted data every period seen and not yet complete stays open.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl

from postpilot.monitoring.chunking import Chunk, Chunker
from postpilot.profiles.readers import PARQUET_SUFFIXES, Restart, open_source

__all__ = [
    "BATCH_ROWS",
    "REFERENCE_SAMPLE_ROWS",
    "Sample",
    "chunk_stream",
    "column_names",
    "count_rows",
    "each",
    "last_rows",
]

BATCH_ROWS = 1 << 18
"""Rows read at a time (262,144)."""
REFERENCE_SAMPLE_ROWS = 1_000_000
"""The most labelled reference rows CBPE's calibrator or DLE's loss models are fitted
on, and the sampling errors measured on: a larger reference is sampled uniformly
(seeded) down to this many rows. Its chunks' realized values still use every row."""

_KEY = "__postpilot_sample_key__"
_ROW = "__postpilot_row__"
T = TypeVar("T")


def each(
    data: object, columns: Sequence[str] | None, consume: Callable[[Iterator[pl.DataFrame]], T]
) -> T:
    """``consume`` the batches of ``data``; again from the start, with fresh state,
    when a CSV column must be read as a wider type (the reader's ``Restart``)."""
    source = open_source(data, batch_size=BATCH_ROWS, columns=columns)
    while True:
        try:
            return consume(source.batches)
        except Restart as restart:
            source = restart.source


def column_names(data: object) -> list[str]:
    """The columns of ``data``, from its metadata or its first batch."""
    source = open_source(data, batch_size=BATCH_ROWS, columns=None)
    if source.names is not None:
        return list(source.names)
    return each(data, None, lambda batches: list(next(batches).columns))


def count_rows(data: object) -> int:
    """The number of rows of ``data``: free for frames and Parquet (its metadata), one
    pass over one column for the rest."""
    if isinstance(data, pl.DataFrame):
        return data.height
    if isinstance(data, str | os.PathLike) and Path(os.fspath(data)).name.lower().endswith(
        PARQUET_SUFFIXES
    ):
        column_names(data)  # a missing or unreadable file fails here, named
        return int(pl.scan_parquet(Path(os.fspath(data))).select(pl.len()).collect().item())
    names = column_names(data)
    return each(data, names[:1] or None, lambda batches: sum(b.height for b in batches))


class Sample:
    """A seeded uniform sample of at most ``cap`` rows, in their original order, kept
    in one pass: every row draws a random key and the ``cap`` rows with the smallest
    keys are kept. While fewer than ``cap`` rows have been seen, it is all of them."""

    def __init__(self, cap: int, seed: int) -> None:
        self.cap = max(1, cap)
        self.rows = 0
        """Rows offered so far."""
        self.most_held = 0
        """The most rows held at once (tests check the bound: 2 x cap + one batch)."""
        self._rng = np.random.default_rng([seed, 0x5A4D])
        self._parts: list[pl.DataFrame] = []
        self._held = 0
        self._bound = np.inf

    def add(self, frame: pl.DataFrame) -> None:
        keys = self._rng.random(frame.height)
        rows = np.arange(self.rows, self.rows + frame.height, dtype=np.int64)
        self.rows += frame.height
        part = frame.with_columns(pl.Series(_KEY, keys), pl.Series(_ROW, rows))
        if np.isfinite(self._bound):
            part = part.filter(pl.col(_KEY) < self._bound)
        self._parts.append(part)
        self._held += part.height
        self.most_held = max(self.most_held, self._held)
        if self._held > 2 * self.cap:
            self._trim()

    def _trim(self) -> None:
        whole = pl.concat(self._parts, how="vertical_relaxed") if len(self._parts) > 1 else None
        kept = whole if whole is not None else self._parts[0]
        if kept.height > self.cap:
            kept = kept.sort(_KEY).head(self.cap)
            self._bound = float(kept.get_column(_KEY).max())  # type: ignore[arg-type]
        self._parts = [kept]
        self._held = kept.height

    @property
    def capped(self) -> bool:
        """Whether rows were left out."""
        return self.rows > self.cap

    def frame(self) -> pl.DataFrame:
        """The sample, its rows in the order they were read."""
        self._trim()
        return self._parts[0].sort(_ROW).drop(_KEY, _ROW)


def last_rows(
    data: object,
    chunker: Chunker,
    columns: Sequence[str],
    keep: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> dict[str, int]:
    """The row number of each chunk's last row, from a pass over ``columns`` alone
    (``keep`` picks the rows that count, as the main pass will)."""

    def consume(batches: Iterator[pl.DataFrame]) -> dict[str, int]:
        last: dict[str, int] = {}
        offset = 0
        for frame in batches:
            if keep is not None:
                frame = keep(frame)
            if frame.height == 0:
                continue
            keys = chunker.keys(frame, offset)
            rows = pl.DataFrame(
                {"key": keys, "row": pl.int_range(offset, offset + frame.height, eager=True)}
            )
            for key, row in rows.group_by("key").agg(pl.col("row").max()).iter_rows():
                last[str(key)] = max(int(row), last.get(str(key), -1))
            offset += frame.height
        return last

    return each(data, list(dict.fromkeys(columns)), consume)


def chunk_stream(
    frames: Iterable[pl.DataFrame],
    chunker: Chunker,
    keep: Sequence[str],
    last: dict[str, int] | None,
) -> Iterator[tuple[int, Chunk, pl.DataFrame]]:
    """Each chunk of the rows of ``frames``, with the columns ``keep``, as soon as its
    last row has been read: ``last`` gives that row per chunk (chunks by period), or
    None for chunks of consecutive rows, which end where the next one starts. With
    each chunk comes its rank in order of first appearance (chunks by period over
    unsorted data complete in another order)."""
    parts: dict[str, list[pl.DataFrame]] = {}
    first: dict[str, int] = {}
    rank: dict[str, int] = {}
    rows: dict[str, int] = {}
    done: set[str] = set()
    offset = 0

    def close(key: str) -> tuple[int, Chunk, pl.DataFrame]:
        held = parts.pop(key)
        done.add(key)
        # One contiguous array per column, so that the metrics read the columns as numpy
        # arrays without copying them again.
        frame = pl.concat(held, how="vertical_relaxed") if len(held) > 1 else held[0]
        held.clear()
        return rank[key], chunker.describe(key, rows[key], first[key]), frame

    for frame in frames:
        if frame.height == 0:
            continue
        latest = None
        for key, part in chunker.split(frame, offset):
            if key in done:
                raise AssertionError(f"chunk {key} came back after it was complete")
            if key not in parts:
                parts[key] = []
                first[key] = offset  # the batch's first row: only the base Chunker uses it
                rank[key] = len(rank)
                rows[key] = 0
            parts[key].append(part.select(keep))
            rows[key] += part.height
            latest = key
        offset += frame.height
        if last is None:
            complete = [k for k in parts if k != latest]
        else:
            complete = [k for k in parts if last[k] < offset]
        for key in complete:
            yield close(key)
    for key in list(parts):
        yield close(key)
