"""Read labels (prediction id, actual outcome) from a CSV or Parquet file, checking every row.

Every problem (a missing column, an empty id or label, an id given twice, a
control character) raises InputError naming the file and the column and line.
A CSV's delimiter and encoding are told as for profiling
(:mod:`postpilot.profiles.sniff`): a binary file, another encoding or a column
named twice is one error line.

The file is read in bounded slices (:func:`label_batches`): Parquet
:data:`BATCH_ROWS` rows at a time, CSV in blocks of about :data:`BLOCK_BYTES` of
text cut at the end of a record (a newline outside double quotes), each parsed
by polars with the header in front of it. A CSV is read twice: first for the
label column's type over the whole file (a float on the last line makes every
label a float, as reading the file whole would), then for the labels. The only
memory that grows with the rows is 8 bytes per id (a 64-bit hash), to find an id
given twice; a repeated hash sends the reader over the file once more to name
the two lines, or to find that the ids differ (a collision). The caller stores
the batches in one transaction, so a problem found late leaves nothing written.
"""

from __future__ import annotations

import codecs
import io
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from postpilot.errors import InputError
from postpilot.registry.labels import MAX_ID_LENGTH, describe_bad_id

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from postpilot.profiles.sniff import CsvFormat

__all__ = [
    "BATCH_ROWS",
    "BLOCK_BYTES",
    "FILE_SUFFIXES",
    "LabelFile",
    "label_batches",
    "read_label_file",
]


@dataclass(frozen=True)
class LabelFile:
    """The prediction ids and labels read from a CSV or Parquet file."""

    ids: list[str]
    values: list[object]


FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
_CONTROL = r"\p{Cc}"
"""Control characters (C0, DEL, C1): no id or label holds one; PostgreSQL refuses NUL."""


@dataclass(frozen=True)
class _Rows:
    """How a file's rows are named in messages: CSV lines (the header is line 1) or rows."""

    word: str
    first: int

    def __call__(self, index: int) -> str:
        return f"{self.word} {index + self.first}"

    def pair(self, a: int, b: int) -> str:
        return f"{self.word}s {a + self.first} and {b + self.first}"


BATCH_ROWS = 1 << 17
"""Parquet rows read at a time."""
BLOCK_BYTES = 4 << 20
"""Bytes of CSV text parsed at a time (the last record is carried to the next block)."""


def read_label_file(path: str | Path, *, id_column: str, label_column: str) -> LabelFile:
    """Read prediction ids and labels from a CSV or Parquet file, checking every row.

    Ids are read as text (``007`` stays ``007``); labels keep the column's type
    (int, float, bool or string). Any problem (a missing column, an empty id or
    label, an id given twice) raises InputError naming the file and the column or
    line: a CSV's header is line 1, so its first data row is line 2; Parquet rows
    count from 1. A control character (NUL, a newline, ...) in an id or a text
    label is refused the same way, so every store accepts what this returns.
    The whole file is held in memory: :func:`label_batches` reads it in slices.
    """
    ids: list[str] = []
    values: list[object] = []
    for batch in label_batches(path, id_column=id_column, label_column=label_column):
        ids += batch.ids
        values += batch.values
    return LabelFile(ids, values)


def label_batches(path: str | Path, *, id_column: str, label_column: str) -> Iterator[LabelFile]:
    """The labels of a CSV or Parquet file in bounded batches, each checked as
    :func:`read_label_file` checks the whole file. An id given twice is found after
    the last batch (the InputError then comes from the iteration's end), so a caller
    that stores the batches must do so in one transaction, which that error undoes."""

    reader = _Reader(Path(path), id_column, label_column)
    hashes: list[np.ndarray] = []
    for offset, frame in reader.frames():
        ids, labels = _checked(frame, reader, offset)
        hashes.append(ids.hash(seed=0).to_numpy())
        if ids.n_unique() < ids.len():  # name the file's first repeat, maybe an earlier one
            _refuse_repeat(reader, _repeated(hashes))
        yield LabelFile(ids.to_list(), labels.to_list())
    repeated = _repeated(hashes)
    if repeated.size:
        _refuse_repeat(reader, repeated)


def _repeated(hashes: list[np.ndarray]) -> np.ndarray:
    """The hashes that occur more than once among ``hashes``."""
    import numpy as np

    ordered = np.sort(np.concatenate(hashes)) if hashes else np.zeros(0, np.uint64)
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


class _Reader:
    """A label file's frames (id as text, label in the file's type), with the row offset
    of each; the header and columns are checked when it is made."""

    def __init__(self, path: Path, id_column: str, label_column: str) -> None:
        import polars as pl

        from postpilot.profiles.sniff import sniff_csv  # polars: only here

        name = path.name.lower()
        if not name.endswith(FILE_SUFFIXES):
            raise InputError(
                f"cannot tell the format of {path} from its name",
                hint=f"Name it with one of: {', '.join(FILE_SUFFIXES)}",
            )
        self.path = path
        self.id_column = id_column
        self.label_column = label_column
        parquet = name.endswith((".parquet", ".pq"))
        self.rows = _Rows("row", 1) if parquet else _Rows("line", 2)
        self.csv_format: CsvFormat | None = None
        with _reading(path):
            if parquet:
                available = list(pl.read_parquet_schema(path))
            else:
                self.csv_format = sniff_csv(path)
                available = list(self.csv_format.header)
        for column in (id_column, label_column):
            if column not in available:
                raise InputError(
                    f"{path} has no column '{column}'",
                    hint=f"Columns: {', '.join(available) or '(none)'}",
                )
        if id_column == label_column:
            raise InputError(
                f"the id and label columns are both '{id_column}'", field="label_column"
            )
        self._label_type: pl.DataType | None = None

    def frames(self) -> Iterator[tuple[int, pl.DataFrame]]:
        """Every frame of the file with the index of its first row."""
        offset = 0
        source = self._parquet() if self.csv_format is None else self._csv(self.csv_format)
        for frame in source:
            yield offset, frame
            offset += frame.height

    def _parquet(self) -> Iterator[pl.DataFrame]:
        import polars as pl

        with _reading(self.path):
            scan = pl.scan_parquet(self.path).select(self.id_column, self.label_column)
            total = int(scan.select(pl.len()).collect().item())
        for start in range(0, total, BATCH_ROWS):
            with _reading(self.path):
                frame = scan.slice(start, BATCH_ROWS).collect()
            yield frame

    def _csv(self, csv_format: CsvFormat) -> Iterator[pl.DataFrame]:
        import polars as pl

        from postpilot.profiles.sniff import count_blank_tail

        if self._label_type is None:
            self._label_type = self._csv_label_type(csv_format)
        types = {self.id_column: pl.String(), self.label_column: self._label_type}
        blocks = _csv_blocks(self.path, csv_format.encoding)
        header = next(blocks, b"")
        block = next(blocks, None)
        while block is not None:
            after = next(blocks, None)
            with _reading(self.path):
                frame = pl.read_csv(
                    io.BytesIO(header + block),
                    columns=[self.id_column, self.label_column],
                    schema_overrides=types,
                    separator=csv_format.delimiter,
                )
            if after is None:  # polars reads the empty lines ending a file as rows of nulls
                blank = count_blank_tail(block[-(64 << 10) :])
                if blank and frame.tail(blank).null_count().sum_horizontal().item() == 2 * blank:
                    frame = frame.head(frame.height - blank)
            yield frame
            block = after

    def _csv_label_type(self, csv_format: CsvFormat) -> pl.DataType:
        """The label column's type over the whole file: what each block infers, widened
        (int and float to float, any other mix to text)."""
        import polars as pl

        found: pl.DataType = pl.Null()
        blocks = _csv_blocks(self.path, csv_format.encoding)
        header = next(blocks, b"")
        for block in blocks:
            with _reading(self.path):
                dtype = pl.read_csv(
                    io.BytesIO(header + block),
                    columns=[self.label_column],
                    infer_schema_length=None,
                    separator=csv_format.delimiter,
                ).schema[self.label_column]
            if dtype == pl.Null or dtype == found:
                continue
            if found == pl.Null:
                found = dtype
            elif {found, dtype} <= {pl.Int64(), pl.Float64()}:
                found = pl.Float64()
            else:
                found = pl.String()
        return pl.String() if found == pl.Null else found


def _csv_blocks(path: Path, encoding: str) -> Iterator[bytes]:
    """The header record, then the rest of the file's UTF-8 text in blocks of about
    BLOCK_BYTES, each ending at the end of a record."""
    carry = b""
    first = True
    for chunk in _utf8_chunks(path, encoding):
        data = carry + chunk
        cut = _record_end(data, first=first)
        if cut is None:
            carry = data
            continue
        yield data[:cut]
        carry = data[cut:]
        first = False
    if first:  # the header has no newline after it
        yield carry
        return
    if carry:
        yield carry


def _record_end(data: bytes, *, first: bool) -> int | None:
    """Where the first (``first``) or the last record of ``data`` ends: after a newline
    with an even number of double quotes before it (blocks start outside quotes)."""
    import numpy as np

    quotes = np.flatnonzero(np.frombuffer(data, np.uint8) == ord('"'))
    if first:
        at = data.find(b"\n")
        while at >= 0 and np.searchsorted(quotes, at) % 2:
            at = data.find(b"\n", at + 1)
        return at + 1 if at >= 0 else None
    end = len(data)
    while True:
        at = data.rfind(b"\n", 0, end)
        if at < 0:
            return None
        if np.searchsorted(quotes, at) % 2 == 0:
            return at + 1
        end = at


def _utf8_chunks(path: Path, encoding: str) -> Iterator[bytes]:
    """The (decompressed) file as UTF-8 bytes, BLOCK_BYTES of the file at a time,
    without a UTF-8 byte-order mark."""
    from postpilot.profiles.sniff import open_decompressed

    decoder = (
        None if encoding in ("utf-8", "utf-8-sig") else codecs.getincrementaldecoder(encoding)()
    )
    read = 0
    with _reading(path), open_decompressed(path) as stream:
        while True:
            data = stream.read(BLOCK_BYTES)
            if decoder is None:
                if read == 0 and data.startswith(codecs.BOM_UTF8):
                    data = data[len(codecs.BOM_UTF8) :]
                read += len(data)
                if not data:
                    return
                yield data  # polars checks UTF-8 as it parses
                continue
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path} is not {encoding.upper()} text near byte {read + exc.start:,}"
                ) from exc
            read += len(data)
            if text:
                yield text.encode()
            if not data:
                return


def _checked(frame: pl.DataFrame, reader: _Reader, offset: int) -> tuple[pl.Series, pl.Series]:
    """The ids (as text) and labels of one frame, every row checked; InputError names the
    first bad one by its line or row in the file (the frame starts at row ``offset``)."""
    import polars as pl

    path, id_column, label_column = reader.path, reader.id_column, reader.label_column

    def rows(index: int) -> str:
        return reader.rows(offset + index)

    ids = _id_series(frame.get_column(id_column), path)
    labels = _label_series(frame.get_column(label_column), path)
    if ids.null_count():
        raise InputError(
            f"{path} {rows(_first(ids.is_null()))} has no prediction id in column '{id_column}'",
            hint="Every label needs the id of its prediction",
        )
    if labels.null_count():
        raise InputError(
            f"{path} {rows(_first(labels.is_null()))} has no label in column '{label_column}'",
            hint="Leave out predictions whose label is not known yet",
        )
    for series, column in ((ids, id_column), (labels, label_column)):
        if series.dtype == pl.String and series.str.contains(_CONTROL).any():
            row = _first(series.str.contains(_CONTROL))
            char = next(c for c in series[row] if unicodedata.category(c) == "Cc")
            raise InputError(
                f"{path} {rows(row)} has the control character {char!r} in column '{column}'",
                hint="Ids and labels must be printable text: check the file's export",
            )
    lengths = ids.str.len_chars()
    bad = (lengths == 0) | (lengths > MAX_ID_LENGTH)
    if bad.any():
        row = _first(bad)
        raise InputError(f"{path} {rows(row)}: {describe_bad_id(ids[row], f'in {id_column!r}')}")
    if labels.dtype.is_float() and not labels.is_finite().all():
        row = _first(~labels.is_finite())
        raise InputError(
            f"{path} {rows(row)} has the label {labels[row]} in column '{label_column}'",
            hint="Labels must be finite numbers",
        )
    return ids, labels


def _refuse_repeat(reader: _Reader, repeated: np.ndarray) -> None:
    """Name the first id given twice (the earliest second occurrence, with where it first
    appeared), reading the file once more for the rows whose id hash is ``repeated``;
    return when those are only hash collisions."""
    import numpy as np

    first: dict[str, int] = {}
    for offset, frame in reader.frames():
        ids = _id_series(frame.get_column(reader.id_column), reader.path)
        candidates = np.flatnonzero(np.isin(ids.hash(seed=0).to_numpy(), repeated))
        for index in candidates.tolist():
            key = ids[index]
            if key in first:
                raise InputError(
                    f"{reader.path} has prediction id {key!r} on "
                    f"{reader.rows.pair(first[key], offset + index)}",
                    hint="Keep one row per prediction id",
                )
            first[key] = offset + index


def _id_series(series: pl.Series, path: Path) -> pl.Series:
    import polars as pl

    if series.dtype == pl.String:
        return series
    if series.dtype.is_integer() or isinstance(series.dtype, pl.Categorical | pl.Enum):
        return series.cast(pl.String)
    raise InputError(
        f"{path}: the id column '{series.name}' holds {series.dtype} values",
        hint="Prediction ids must be strings or integers",
    )


def _label_series(series: pl.Series, path: Path) -> pl.Series:
    import polars as pl

    if series.dtype.is_decimal():
        return series.cast(pl.Float64)
    if series.dtype in (pl.String, pl.Boolean) or series.dtype.is_numeric():
        return series
    if isinstance(series.dtype, pl.Categorical | pl.Enum):
        return series.cast(pl.String)
    raise InputError(
        f"{path}: the label column '{series.name}' holds {series.dtype} values",
        hint="Labels must be numbers, booleans or strings",
    )


def _first(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn polars and OS errors while reading ``path`` into a one-line InputError."""
    import polars as pl

    if not path.is_file():
        raise InputError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        yield
    except (pl.exceptions.PolarsError, OSError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[0] if lines else type(exc).__name__
        raise InputError(f"{path} cannot be read: {reason}") from exc
