"""Chunk a Spark DataFrame as the local engine chunks a file, on the executors.

Row order. Chunks of N rows (``--chunk-size``, ``--chunk-number``, and ``estimate``'s
default of ten chunks) need every row's number. Spark has no order of its own, so the
order is the files' order: the files in the order of their paths (as strings), and
in each file its rows in their stored order (``_metadata.row_index``, which Spark
3.5 and later give for Parquet files and tables stored as Parquet, Delta included).
Row ``i`` of a single Parquet file is row ``i`` for the local engine too, so both
engines make the same chunks of the same file. One small job counts the rows of
each file (``_metadata.file_path``); each row's number is then its file's offset
plus its index in the file: no sort, no shuffle of rows. Inputs without a row index
(CSV, JSON, ORC, a view, a DataFrame built in memory) can be chunked by period
(``--chunk-period`` with ``--timestamp``), which needs no order, or not at all.

Chunk keys are computed on the executors by the local engine's own chunkers
(:mod:`postpilot.monitoring.chunking`), from the row number or the timestamp, so a
day is the same day (a ``timestamp`` is taken in UTC, as profiling takes it).

Profiles. Each task profiles its rows chunk by chunk (the local engine's
``profile_chunks`` machinery, sketches sized as for drift): one partial profile per
chunk a task saw, about 28 KiB per numeric column. Chunks of rows are runs of
consecutive rows, so a task sees few of them and the driver receives and merges
about one partial per task plus one per chunk. Periods may be spread over every
task (unsorted data): their partials are shuffled by chunk and merged on the
executors first, and the driver receives one profile per period.
"""

from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import polars as pl
import pyarrow as pa

from postpilot.errors import InputError
from postpilot.monitoring.chunked import ChunkProfile
from postpilot.monitoring.chunking import Chunk, Chunker, PeriodChunker
from postpilot.profiles import Profile
from postpilot.profiles.readers import Source
from postpilot.spark.session import spark_error

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = [
    "ROW",
    "Prepared",
    "RowNumbered",
    "chunk_order",
    "collect_frame",
    "prepare",
    "profile_chunks",
    "sample_chunks",
    "to_polars",
]

ROW: Final = "__postpilot_row__"
"""The row-number column (int64) the executors see beside the data's columns."""
_KEY: Final = "key"
_ROWS: Final = "rows"
_PROFILE: Final = "profile"
_PART: Final = "part"


@dataclass(frozen=True)
class Prepared:
    """The columns to work on, renamed ``_0``, ``_1``... (mapInArrow looks columns up by
    name, which fails for names with dots), plus :data:`ROW` when ``numbered``.
    ``rows``: the row count, known when numbered (the per-file counts add up to it)."""

    frame: DataFrame
    names: list[str]
    numbered: bool
    rows: int | None
    label: str


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def prepare(
    data: DataFrame,
    columns: Sequence[str] | None,
    *,
    label: str,
    numbered: bool,
    need_numbers: bool,
) -> Prepared:
    """``data``'s ``columns`` (default: all) ready for the executors. ``numbered`` adds
    each row's number in file order when the input has one (see the module docstring);
    ``need_numbers`` makes its absence an InputError naming ``label``."""
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    from postpilot.profiles.spark import _select

    _, names, _schema = _select(data, columns)  # types checked, duplicates refused
    selected: list[Column] = [F.col(_quoted(n)).alias(f"_{i}") for i, n in enumerate(names)]
    total: int | None = None
    if numbered or need_numbers:
        try:
            numbers = _row_numbers(data, label)
        except PySparkException as exc:
            raise InputError(f"Spark cannot read {label}: {spark_error(exc)}") from exc
        if numbers is None and need_numbers:
            raise InputError(
                f"{label} has no row order for Spark: chunks of N rows need Parquet files "
                "or a table stored as Parquet or Delta (their rows have an index)",
                field="chunk_size",
                hint="Chunk by time instead (--chunk-period day --timestamp COLUMN), or "
                "write the data as Parquet",
            )
        if numbers is not None:
            expression, total = numbers
            selected.append(expression.alias(ROW))
    return Prepared(data.select(*selected), names, total is not None, total, label)


def _row_numbers(data: DataFrame, label: str) -> tuple[Column, int] | None:
    """Each row's number in file order and the number of rows; None without a row index."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    try:
        fields = data.select("_metadata").schema.fields[0].dataType
    except AnalysisException:
        return None  # not read from files
    names = getattr(fields, "names", [])
    if "row_index" not in names or "file_path" not in names:
        return None
    paths = data.select(
        F.col("_metadata.file_path").alias("path"), F.col("_metadata.row_index").alias("index")
    )
    counts: dict[str, int] = {}
    ends: dict[str, int] = {}
    for row in paths.mapInArrow(_count_task, _COUNTS_SCHEMA).collect():
        counts[row["path"]] = counts.get(row["path"], 0) + int(row["count"])
        ends[row["path"]] = max(ends.get(row["path"], 0), int(row["end"]))
    for path, count in counts.items():
        if count != ends[path]:  # rows 0..end-1 are not all there
            raise InputError(
                f"{label}: {ends[path] - count:,} of the {ends[path]:,} rows of {path} are "
                "left out (a filter?), so the files' order does not number the rows",
                field="chunk_size",
                hint="Chunk by time instead (--chunk-period day --timestamp COLUMN), or "
                "write the rows you want as Parquet",
            )
    offsets: list[Column] = []
    start = 0
    for path in sorted(counts):
        offsets += [F.lit(path), F.lit(start)]
        start += counts[path]
    if not offsets:
        return F.col("_metadata.row_index").cast("long"), 0
    offset = F.element_at(F.create_map(*offsets), F.col("_metadata.file_path"))
    return (offset + F.col("_metadata.row_index")).cast("long"), start


_COUNTS_SCHEMA: Final = "path string, count long, end long"


def _count_task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """On an executor: each file's rows among this task's, and its largest row index + 1."""
    counts: dict[str, int] = {}
    ends: dict[str, int] = {}
    for batch in batches:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        grouped = frame.group_by("path").agg(pl.len().alias("n"), pl.col("index").max())
        for path, n, last in grouped.iter_rows():
            counts[path] = counts.get(path, 0) + int(n)
            ends[path] = max(ends.get(path, 0), int(last) + 1)
    if counts:
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(list(counts), pa.string()),
                pa.array(list(counts.values()), pa.int64()),
                pa.array([ends[p] for p in counts], pa.int64()),
            ],
            ["path", "count", "end"],
        )


class RowNumbered(Chunker):
    """A chunker that reads each row's number from :data:`ROW` instead of counting
    rows from an offset, and leaves that column out of the parts it splits."""

    def __init__(self, inner: Chunker, numbered: bool) -> None:
        self.inner = inner
        self.numbered = numbered
        self.timestamp = inner.timestamp

    def keys(self, frame: pl.DataFrame, offset: int) -> pl.Series:
        if not self.numbered:
            return self.inner.keys(frame, offset)
        data = frame.drop(ROW)
        if isinstance(self.inner, PeriodChunker):
            return self.inner.keys(data, 0)
        rows = frame.get_column(ROW).to_numpy()
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        bounds = [0, *breaks.tolist(), len(rows)]
        parts = [
            self.inner.keys(data.slice(a, b - a), int(rows[a]))
            for a, b in itertools.pairwise(bounds)
            if b > a
        ]
        return pl.concat(parts) if parts else pl.Series([], dtype=pl.Int64)

    def split(self, frame: pl.DataFrame, offset: int = 0) -> Iterator[tuple[str, pl.DataFrame]]:
        for key, part in super().split(frame, offset):
            yield key, part.drop(ROW) if self.numbered else part

    def describe(self, key: str, rows: int, first_row: int) -> Chunk:
        return self.inner.describe(key, rows, first_row)


def to_polars(batch: pa.RecordBatch, names: list[str], numbered: bool) -> pl.DataFrame:
    """An executor's Arrow batch as a polars frame under the columns' own names (zoned
    timestamps in UTC: the same instants), with :data:`ROW` when numbered."""
    from postpilot.profiles.spark import _named

    data = batch.select(list(range(len(names))))
    frame = pl.from_arrow(_named(data, names))
    assert isinstance(frame, pl.DataFrame)
    if numbered:
        frame = frame.with_columns(pl.Series(ROW, batch.column(len(names))).cast(pl.Int64))
    return frame


def _frames(
    batches: Iterator[pa.RecordBatch], names: list[str], numbered: bool
) -> Iterator[pl.DataFrame]:
    for batch in batches:
        if batch.num_rows:
            yield to_polars(batch, names, numbered)


def _profile_task(
    batches: Iterator[pa.RecordBatch], *, names: list[str], chunker: RowNumbered
) -> Iterator[pa.RecordBatch]:
    """On an executor: one partial profile per chunk among this task's rows."""
    from postpilot.monitoring.chunked import _run

    frames = _frames(batches, names, chunker.numbered)
    first = next(frames, None)
    if first is None:
        return
    chunks = _run(Source(names, itertools.chain([first], frames)), chunker, None)
    yield _partials(
        [c.chunk.key for c in chunks],
        [c.profile.rows for c in chunks],
        [c.profile.to_bytes() for c in chunks],
    )


def _partials(keys: list[str], rows: list[int], profiles: list[bytes]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array(keys, pa.string()), pa.array(rows, pa.int64()), pa.array(profiles, pa.binary())],
        [_KEY, _ROWS, _PROFILE],
    )


def _merge_task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """On an executor: the partial profiles of each chunk it was sent, merged."""
    merged: dict[str, Profile] = {}
    for batch in batches:
        for key, blob in zip(
            batch.column(_KEY).to_pylist(), batch.column(_PROFILE).to_pylist(), strict=True
        ):
            part = Profile.from_bytes(blob)
            merged[key] = merged[key].merge(part) if key in merged else part
    if merged:
        keys = list(merged)
        yield _partials(keys, [merged[k].rows for k in keys], [merged[k].to_bytes() for k in keys])


_PARTIALS_SCHEMA: Final = f"{_KEY} string, {_ROWS} long, {_PROFILE} binary"


def chunk_order(chunker: Chunker, key: str) -> tuple[int, str]:
    """Sorts chunk keys: row chunks by number, periods by date."""
    return (int(key), "") if not isinstance(chunker, PeriodChunker) else (0, key)


def profile_chunks(prepared: Prepared, chunker: Chunker) -> list[ChunkProfile]:
    """The profile of every chunk of ``prepared``, in chunk order (row order for chunks of
    rows, time order for periods): each computed on the executors, one per chunk back."""
    from pyspark.errors import PySparkException

    numbered = RowNumbered(chunker, prepared.numbered)
    job = functools.partial(_profile_task, names=prepared.names, chunker=numbered)
    try:
        partials = prepared.frame.mapInArrow(job, _PARTIALS_SCHEMA)
        if isinstance(chunker, PeriodChunker):
            partials = partials.repartition(_KEY).mapInArrow(_merge_task, _PARTIALS_SCHEMA)
        rows = partials.collect()
    except PySparkException as exc:
        raise InputError(f"the Spark job on {prepared.label} failed: {spark_error(exc)}") from exc
    merged: dict[str, Profile] = {}
    for row in rows:
        part = Profile.from_bytes(bytes(row[_PROFILE]))
        merged[row[_KEY]] = merged[row[_KEY]].merge(part) if row[_KEY] in merged else part
    out = [ChunkProfile(chunker.describe(k, p.rows, 0), p) for k, p in merged.items()]
    return sorted(out, key=lambda c: chunk_order(chunker, c.chunk.key))


def _ipc(frame: pl.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.write_ipc(sink)
    return sink.getvalue()


def _sample_task(
    batches: Iterator[pa.RecordBatch],
    *,
    names: list[str],
    chunker: RowNumbered,
    fractions: dict[str, float],
    seed: int,
) -> Iterator[pa.RecordBatch]:
    """On an executor: each row of chunk ``k`` kept with probability ``fractions[k]``."""
    from pyspark import TaskContext

    context = TaskContext.get()
    task = context.partitionId() if context is not None else 0
    for index, frame in enumerate(_frames(batches, names, chunker.numbered)):
        rng = np.random.default_rng([seed, task, index])
        for key, part in chunker.split(frame):
            kept = part.filter(pl.Series(rng.random(part.height) < fractions.get(key, 0.0)))
            if kept.height:
                yield pa.RecordBatch.from_arrays(
                    [pa.array([key], pa.string()), pa.array([_ipc(kept)], pa.binary())],
                    [_KEY, _PART],
                )


def sample_chunks(
    prepared: Prepared, chunker: Chunker, sizes: dict[str, int], cap: int, *, seed: int = 0
) -> dict[str, pl.DataFrame]:
    """A uniform random sample of each chunk's rows, about ``cap`` of them (a little more,
    so that the caller can keep exactly ``cap``): chunk ``k`` of ``sizes[k]`` rows keeps
    each row with probability ``(cap + 4 sqrt(cap)) / sizes[k]``. One pass, no shuffle."""
    from pyspark.errors import PySparkException

    fractions = {
        key: min(1.0, (cap + 4.0 * cap**0.5) / rows) for key, rows in sizes.items() if rows > 0
    }
    numbered = RowNumbered(chunker, prepared.numbered)
    job = functools.partial(
        _sample_task, names=prepared.names, chunker=numbered, fractions=fractions, seed=seed
    )
    try:
        rows = prepared.frame.mapInArrow(job, f"{_KEY} string, {_PART} binary").collect()
    except PySparkException as exc:
        raise InputError(f"the Spark job on {prepared.label} failed: {spark_error(exc)}") from exc
    parts: dict[str, list[pl.DataFrame]] = {}
    for row in rows:
        parts.setdefault(row[_KEY], []).append(pl.read_ipc(io.BytesIO(bytes(row[_PART]))))
    return {key: pl.concat(frames, how="vertical_relaxed") for key, frames in parts.items()}


def _collect_task(
    batches: Iterator[pa.RecordBatch], *, names: list[str], numbered: bool
) -> Iterator[pa.RecordBatch]:
    for frame in _frames(batches, names, numbered):
        yield pa.RecordBatch.from_arrays([pa.array([_ipc(frame)], pa.binary())], [_PART])


def collect_frame(prepared: Prepared, *, cap: int, seed: int = 0) -> tuple[pl.DataFrame, int]:
    """The rows of ``prepared`` on the driver, in file order when numbered, and the row
    count; with more than ``cap`` rows, a uniform random sample of about ``cap`` of them
    (each row kept with probability ``cap / rows``, seeded)."""
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    try:
        rows = prepared.rows if prepared.rows is not None else prepared.frame.count()
        frame = prepared.frame
        if rows > cap:
            frame = frame.where(F.rand(seed) < cap / rows)
        job = functools.partial(_collect_task, names=prepared.names, numbered=prepared.numbered)
        parts = frame.mapInArrow(job, f"{_PART} binary").collect()
    except PySparkException as exc:
        raise InputError(f"the Spark job on {prepared.label} failed: {spark_error(exc)}") from exc
    frames = [pl.read_ipc(io.BytesIO(bytes(row[_PART]))) for row in parts]
    if not frames:
        return pl.DataFrame(), rows
    out = pl.concat(frames, how="vertical_relaxed")
    if prepared.numbered:
        out = out.sort(ROW).drop(ROW)
    return out, rows
