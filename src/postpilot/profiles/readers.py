"""Turn what ``profile()`` accepts into a stream of polars DataFrames of bounded size.

Accepted: a path (``str`` or ``os.PathLike``) to a Parquet file (``.parquet``,
``.pq``) or a CSV file (``.csv``, ``.csv.gz``, ``.csv.bz2``; suffixes are matched
case-insensitively); a ``pyarrow.Table``, ``RecordBatch`` or
``RecordBatchReader``; a polars ``DataFrame`` or ``LazyFrame``; a pandas
``DataFrame`` (pandas is never imported unless given one); a ``SQLSource``.

Files are streamed, so memory stays bounded whatever the row count: Parquet in
slices of :data:`PARQUET_SLICE_ROWS` rows, plain CSV and LazyFrames on polars'
streaming engine (``collect_batches``, which parses and decodes on every core:
three to four times faster here than pyarrow's ``ParquetFile.iter_batches`` and
``open_csv``), compressed CSV with pyarrow's streaming reader in blocks of
:data:`CSV_BLOCK_BYTES`. Measured with a consumer slower than the reader (the
profiler's case): polars' CSV engine held 420-470 MiB (peak RSS of the whole
process) on 1M, 5M and 10M rows of 20 columns (0.27 to 2.7 GB): it does not
decode ahead without bound as its Parquet engine did. pyarrow's reader holds
some blocks ahead: at 8 MiB blocks its live allocations rose to 200-300 MiB,
at 2 MiB to about 70 MiB, for the same speed. A file that is missing,
unreadable or malformed raises InputError naming it, with a one-line message.

A CSV's encoding (UTF-8 with or without a byte-order mark, UTF-16 or UTF-32
with one), delimiter (comma, semicolon, tab or pipe) and header are told from
its first bytes by :mod:`postpilot.profiles.sniff`; a binary file, another
encoding or a column named twice is an InputError naming the file. UTF-8 files
go to polars, UTF-16/32 ones to pyarrow's reader, which transcodes as it reads.

CSV types are inferred from the first rows (10,000 for polars, the first 2 MiB
block for pyarrow); a column that is empty there starts as an int and, while
a batch has no value in it, counts as untyped nulls. When a later row holds a
value the type cannot take (``1.5`` in an int column), the file is read again
from the start with that column widened (int to float, anything else to
string): ``Restart`` tells the profiler to start over.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from postpilot.errors import InputError
from postpilot.profiles.sniff import CsvFormat, sniff_csv, trailing_blank_lines
from postpilot.profiles.sql import SQLSource

__all__ = ["Restart", "Source", "open_source"]

CSV_BLOCK_BYTES = 2 << 20
"""Bytes of compressed or UTF-16/32 CSV pyarrow parses at a time (it reads some blocks
ahead: 8 MiB blocks peaked 3x higher than these, for no gain in speed)."""
CSV_SAMPLE_ROWS = 10_000
CSV_SUFFIXES: Final = (".csv", ".csv.gz", ".csv.bz2")
PARQUET_SUFFIXES: Final = (".parquet", ".pq")
_ARROW_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): .*CSV conversion error to (\w+)")
_ARROW_WIDER: Final = {"null": pa.int64(), "int64": pa.float64()}
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}")
_POLARS_PARSE_ERROR = re.compile(r"could not parse .* as dtype .* \(column number (\d+)\)", re.S)


@dataclass
class Source:
    """Batches to profile; ``names`` is None when only the first batch will tell.

    ``batches`` yields at least one frame (empty when there are no rows), so the
    column types are known even for an empty dataset.
    """

    names: list[str] | None
    batches: Iterator[pl.DataFrame]


class Restart(Exception):
    """The source must be profiled again from the start, as ``source``."""

    def __init__(self, source: Source) -> None:
        super().__init__("restart")
        self.source = source


def open_source(data: object, *, batch_size: int, columns: Sequence[str] | None) -> Source:
    """The Source for ``data``; InputError if it cannot be read."""
    if isinstance(data, str | os.PathLike):
        return _open_file(Path(os.fspath(data)), batch_size, columns)
    if isinstance(data, SQLSource):
        return _select(None, data.frames(batch_size), columns, label="the query")
    if isinstance(data, pl.DataFrame):
        names = _check_columns(data.columns, columns, label="the DataFrame")
        selected = data.select(names)
        return Source(names, _at_least_one(selected.iter_slices(batch_size), selected.clear()))
    if isinstance(data, pl.LazyFrame):
        return _open_lazy(data, batch_size, columns)
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        names = _check_columns(data.column_names, columns, label="the Arrow table")
        table = data.select(names)
        frames = (_frame(b) for b in table.to_batches(max_chunksize=batch_size))
        return Source(names, _at_least_one(frames, _empty(table.schema)))
    if isinstance(data, pa.RecordBatchReader):
        names = _check_columns(data.schema.names, columns, label="the Arrow stream")
        empty = _empty(data.schema).select(names)
        return Source(names, _at_least_one(_arrow_stream(data, names, batch_size), empty))
    if type(data).__module__.partition(".")[0] == "pandas" and type(data).__name__ == "DataFrame":
        return _open_pandas(data, batch_size, columns)
    raise InputError(
        f"cannot profile a {type(data).__module__}.{type(data).__qualname__}",
        field="data",
        hint="Pass a path to a .csv or .parquet file, a pyarrow Table or RecordBatch, a "
        "polars DataFrame or LazyFrame, a pandas DataFrame, or a SQLSource",
    )


def _open_file(path: Path, batch_size: int, columns: Sequence[str] | None) -> Source:
    name = path.name.lower()
    if not path.exists():
        raise InputError("file not found", file=str(path))
    if path.is_dir():
        raise InputError("is a directory, not a file", file=str(path), hint="Profile each file")
    if name.endswith(PARQUET_SUFFIXES):
        return _open_parquet(path, batch_size, columns)
    if name.endswith(CSV_SUFFIXES):
        csv_format = sniff_csv(path)
        if name.endswith(".csv") and csv_format.utf8:
            return _open_csv(path, batch_size, columns, csv_format, None, frozenset())
        return _open_arrow_csv(path, batch_size, columns, csv_format, {})
    raise InputError(
        f"cannot tell the format of the file from its name '{path.name}'",
        file=str(path),
        hint=f"Name it with one of: {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}",
    )


PARQUET_SLICE_ROWS = 262_144
"""Rows decoded at a time from Parquet. polars' streaming engine decodes ahead of a slow
consumer without limit (10M rows x 20 columns peaked at 1.4 GiB); reading bounded slices
keeps one slice in memory (about 0.4 GiB there) for roughly the same speed."""


def _open_parquet(path: Path, batch_size: int, columns: Sequence[str] | None) -> Source:
    with _reading(path):
        scan = pl.scan_parquet(path)
        available = scan.collect_schema().names()
    names = _check_columns(available, columns, label=str(path))
    query = scan.select(names)
    with _reading(path):
        empty = pl.DataFrame(schema=query.collect_schema())
        total = int(scan.select(pl.len()).collect().item())
    step = max(PARQUET_SLICE_ROWS, batch_size)

    def batches() -> Iterator[pl.DataFrame]:
        for start in range(0, total, step):
            with _reading(path):
                frame = query.slice(start, step).collect()
            yield from frame.iter_slices(batch_size)

    return Source(names, _at_least_one(batches(), empty))


def _open_csv(
    path: Path,
    batch_size: int,
    columns: Sequence[str] | None,
    csv_format: CsvFormat,
    schema: dict[str, pl.DataType] | None,
    unknown: frozenset[str],
) -> Source:
    """A plain UTF-8 CSV file on polars' streaming engine; see the module docstring for types."""
    separator = csv_format.delimiter
    if schema is None:
        with _reading(path):
            sample = _csv_sample(path, separator)
        unknown = frozenset(c.name for c in sample.iter_columns() if c.null_count() == len(c))
        schema = {n: pl.Int64() if n in unknown else t for n, t in sample.schema.items()}
    names = _check_columns(list(schema), columns, label=str(path))
    header = list(schema)
    empty = pl.DataFrame(schema={n: pl.Null() if n in unknown else schema[n] for n in names})
    query = pl.scan_csv(path, schema=schema, try_parse_dates=True, separator=separator)
    query = query.select(names)
    untyped = [n for n in names if n in unknown]

    def widened(exc: Exception) -> Source | None:
        match = _POLARS_PARSE_ERROR.search(str(exc))
        if match is None or not 0 < int(match.group(1)) <= len(header):
            return None
        column = header[int(match.group(1)) - 1]
        if schema[column] == pl.String:
            return None
        wider = pl.Float64() if schema[column] == pl.Int64 else pl.String()
        return _open_csv(path, batch_size, columns, csv_format, {**schema, column: wider}, unknown)

    with _reading(path):
        blank = trailing_blank_lines(path)

    def batches() -> Iterator[pl.DataFrame]:
        with _reading(path, on_invalid=widened):
            frames = _drop_blank_tail(query.collect_batches(chunk_size=batch_size), blank)
            for frame in frames:
                empties = [n for n in untyped if frame.get_column(n).null_count() == frame.height]
                yield frame.with_columns(pl.lit(None).alias(n) for n in empties)

    return Source(names, _at_least_one(batches(), empty))


def _drop_blank_tail(frames: Iterator[pl.DataFrame], blank: int) -> Iterator[pl.DataFrame]:
    """``frames`` without the last ``blank`` rows where these are all null: the rows
    polars makes of the empty lines that end a file."""
    if blank == 0:
        yield from frames
        return
    held: list[pl.DataFrame] = []
    rows = 0
    for frame in frames:  # hold back just enough rows to cover the blank lines
        held.append(frame)
        rows += frame.height
        while held and rows - held[0].height >= blank:
            rows -= held[0].height
            yield held.pop(0)
    if not held:
        return
    tail = pl.concat(held, how="vertical") if len(held) > 1 else held[0]
    last = tail.tail(blank)
    nulls = last.select(pl.all_horizontal(pl.all().is_null())).to_series() if last.width else None
    drop = 0
    if nulls is not None:
        while drop < len(last) and nulls[len(last) - 1 - drop]:
            drop += 1
    yield tail.head(tail.height - drop)


def _csv_sample(path: Path, separator: str) -> pl.DataFrame:
    """The first CSV_SAMPLE_ROWS rows, typed by polars' inference on exactly those rows."""
    # read as text first: polars may parse past n_rows and must not fail on a later value
    text = pl.read_csv(path, n_rows=CSV_SAMPLE_ROWS, infer_schema=False, separator=separator)
    sample = pl.read_csv(io.BytesIO(text.write_csv().encode()), infer_schema_length=None)
    # trying every string as a date is slow: only where the first value looks like one
    dated = [column.name for column in sample.iter_columns() if _looks_dated(column)]
    if dated:
        dates = pl.read_csv(
            io.BytesIO(sample.select(dated).write_csv().encode()),
            infer_schema_length=None,
            try_parse_dates=True,
        )
        sample = sample.with_columns(dates)
    return sample


def _looks_dated(column: pl.Series) -> bool:
    if column.dtype != pl.String:
        return False
    values = column.drop_nulls()
    return len(values) > 0 and _DATE_LIKE.match(values[0]) is not None


def _open_arrow_csv(
    path: Path,
    batch_size: int,
    columns: Sequence[str] | None,
    csv_format: CsvFormat,
    types: dict[str, pa.DataType],
) -> Source:
    """A compressed or UTF-16/32 CSV file on pyarrow's streaming reader, which
    decompresses and transcodes as it reads."""
    encoding = "utf8" if csv_format.utf8 else csv_format.encoding
    with _reading(path):
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=csv_format.delimiter),
            convert_options=pacsv.ConvertOptions(column_types=types),
        )
    header = reader.schema.names
    names = _check_columns(header, columns, label=str(path))
    empty = _empty(reader.schema).select(names)

    def widened(exc: Exception) -> Source | None:
        match = _ARROW_CONVERSION_ERROR.search(str(exc))
        if match is None or int(match.group(1)) >= len(header):
            return None
        column = header[int(match.group(1))]
        wider = _ARROW_WIDER.get(match.group(2), pa.string())
        if types.get(column) == wider:
            return None
        return _open_arrow_csv(path, batch_size, columns, csv_format, {**types, column: wider})

    def batches() -> Iterator[pl.DataFrame]:
        try:
            with _reading(path, on_invalid=widened):
                for batch in reader:
                    frame = _frame(batch).select(names)
                    yield from frame.iter_slices(batch_size)
        finally:
            reader.close()

    return Source(names, _at_least_one(batches(), empty))


def _open_lazy(data: pl.LazyFrame, batch_size: int, columns: Sequence[str] | None) -> Source:
    with _polars_errors():
        available = data.collect_schema().names()
    names = _check_columns(available, columns, label="the LazyFrame")
    query = data.select(names)
    with _polars_errors():
        empty = pl.DataFrame(schema=query.collect_schema())
    return Source(names, _at_least_one(_stream(query, batch_size, _polars_errors()), empty))


def _stream(
    query: pl.LazyFrame, batch_size: int, errors: AbstractContextManager[None]
) -> Iterator[pl.DataFrame]:
    """Run ``query`` on polars' streaming engine, ``batch_size`` rows at a time."""
    with errors:
        batches = query.collect_batches(chunk_size=batch_size)
        try:
            yield from batches
        finally:  # the consumer may stop early: stop the query where polars allows it
            stop = getattr(batches, "stop", None)
            if callable(stop):
                stop()


def _open_pandas(data: Any, batch_size: int, columns: Sequence[str] | None) -> Source:
    if not all(isinstance(label, str) for label in data.columns):
        data = data.rename(columns=str)  # Arrow names columns with strings
    names = _check_columns(list(data.columns), columns, label="the pandas DataFrame")
    selected = data if columns is None else data[names]
    try:
        schema = pa.Schema.from_pandas(selected, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise InputError(_one_line(exc), field="data") from exc

    def batches() -> Iterator[pl.DataFrame]:
        for start in range(0, len(selected), batch_size):
            part = selected.iloc[start : start + batch_size]
            try:
                batch = pa.RecordBatch.from_pandas(part, schema=schema, preserve_index=False)
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise InputError(_one_line(exc), field="data") from exc
            yield _frame(batch)

    return Source(names, _at_least_one(batches(), _empty(schema)))


def _arrow_stream(
    reader: pa.RecordBatchReader, names: list[str], batch_size: int
) -> Iterator[pl.DataFrame]:
    for batch in reader:
        yield from _frame(batch).select(names).iter_slices(batch_size)


def _select(
    names: list[str] | None,
    frames: Iterator[pl.DataFrame],
    columns: Sequence[str] | None,
    *,
    label: str,
) -> Source:
    if columns is None:
        return Source(names, frames)

    def selected() -> Iterator[pl.DataFrame]:
        chosen: list[str] | None = None
        for frame in frames:
            if chosen is None:
                chosen = _check_columns(frame.columns, columns, label=label)
            yield frame.select(chosen)

    return Source(list(columns), selected())


def _check_columns(
    available: Sequence[str], columns: Sequence[str] | None, *, label: str
) -> list[str]:
    if columns is None:
        return list(available)
    if isinstance(columns, str):
        raise InputError("columns must be a list of names, not one string", field="columns")
    present = set(available)
    for name in columns:
        if name not in present:
            raise InputError(
                f"{label} has no column '{name}'",
                field=name,
                hint=f"Its columns are: {', '.join(available) or '(none)'}",
            )
    if len(set(columns)) != len(columns):
        raise InputError("columns lists a name twice", field="columns")
    return list(columns)


def _at_least_one(frames: Iterator[pl.DataFrame], empty: pl.DataFrame) -> Iterator[pl.DataFrame]:
    seen = False
    for frame in frames:
        seen = True
        yield frame
    if not seen:
        yield empty


def _empty(schema: pa.Schema) -> pl.DataFrame:
    return _frame(schema.empty_table())


def _frame(batch: pa.RecordBatch | pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    if frame.columns != batch.schema.names:  # polars renames "" to "column_0"
        frame.columns = list(batch.schema.names)
    return frame


@contextmanager
def _reading(
    path: Path, on_invalid: Callable[[Exception], Source | None] | None = None
) -> Iterator[None]:
    """Translate pyarrow, polars and OS errors while reading ``path`` into InputError.

    ``on_invalid`` may turn a value that does not parse into a Restart.
    """
    try:
        yield
    except FileNotFoundError as exc:
        raise InputError("file not found", file=str(path)) from exc
    except (pa.ArrowInvalid, pl.exceptions.ComputeError) as exc:
        again = on_invalid(exc) if on_invalid is not None else None
        if again is not None:
            raise Restart(again) from None
        if "invalid utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            raise InputError(
                "the file is not UTF-8 text past its first lines",
                file=str(path),
                hint="Save it as UTF-8 (or UTF-16 with a byte-order mark)",
            ) from exc
        raise InputError(_one_line(exc), file=str(path)) from exc
    except (pa.ArrowException, OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(_one_line(exc), file=str(path)) from exc


@contextmanager
def _polars_errors() -> Iterator[None]:
    """Translate errors from evaluating a user's LazyFrame into InputError."""
    try:
        yield
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"the LazyFrame failed: {_one_line(exc)}", field="data") from exc


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
