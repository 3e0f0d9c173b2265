"""Read labels (prediction id, actual outcome) from a CSV or Parquet file, checking every row.

Nothing is half-read: every problem (a missing column, an empty id or label, an
id given twice, a control character) raises InputError naming the file and the
column and line, so a caller can validate a whole file before it writes anything.
A CSV's delimiter and encoding are told as for profiling
(:mod:`postpilot.profiles.sniff`): a binary file, another encoding or a column
named twice is one error line.
"""

from __future__ import annotations

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
    import polars as pl

    from postpilot.profiles.sniff import CsvFormat

__all__ = ["FILE_SUFFIXES", "LabelFile", "read_label_file"]


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


def read_label_file(path: str | Path, *, id_column: str, label_column: str) -> LabelFile:
    """Read prediction ids and labels from a CSV or Parquet file, checking every row.

    Ids are read as text (``007`` stays ``007``); labels keep the column's type
    (int, float, bool or string). Any problem (a missing column, an empty id or
    label, an id given twice) raises InputError naming the file and the column or
    line: a CSV's header is line 1, so its first data row is line 2; Parquet rows
    count from 1. A control character (NUL, a newline, ...) in an id or a text
    label is refused the same way, so every store accepts what this returns.
    """
    import polars as pl

    from postpilot.profiles.sniff import count_blank_tail, sniff_csv  # polars: only here

    path = Path(path)
    name = path.name.lower()
    if not name.endswith(FILE_SUFFIXES):
        raise InputError(
            f"cannot tell the format of {path} from its name",
            hint=f"Name it with one of: {', '.join(FILE_SUFFIXES)}",
        )
    parquet = name.endswith((".parquet", ".pq"))
    rows = _Rows("row", 1) if parquet else _Rows("line", 2)
    csv_format: CsvFormat | None = None
    with _reading(path):
        if parquet:
            available = list(pl.read_parquet_schema(path))
        else:
            csv_format = sniff_csv(path)
            available = list(csv_format.header)
    for column in (id_column, label_column):
        if column not in available:
            raise InputError(
                f"{path} has no column '{column}'",
                hint=f"Columns: {', '.join(available) or '(none)'}",
            )
    if id_column == label_column:
        raise InputError(f"the id and label columns are both '{id_column}'", field="label_column")
    with _reading(path):
        if csv_format is None:
            frame = pl.read_parquet(path, columns=[id_column, label_column])
        else:
            text = _as_utf8(path, csv_format.encoding)
            frame = pl.read_csv(
                io.BytesIO(text),
                columns=[id_column, label_column],
                schema_overrides={id_column: pl.String},
                infer_schema_length=None,
                separator=csv_format.delimiter,
            )
            # polars reads the empty lines ending a file as rows of nulls: not labels
            blank = count_blank_tail(text[-(64 << 10) :])
            if blank and frame.tail(blank).null_count().sum_horizontal().item() == 2 * blank:
                frame = frame.head(frame.height - blank)
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
    repeated = ~ids.is_first_distinct()
    if repeated.any():  # name the first repeat, with where its id first appeared
        second = _first(repeated)
        first = _first(ids == ids[second])
        raise InputError(
            f"{path} has prediction id {ids[first]!r} on {rows.pair(first, second)}",
            hint="Keep one row per prediction id",
        )
    return LabelFile(ids.to_list(), labels.to_list())


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


def _as_utf8(path: Path, encoding: str) -> bytes:
    """The whole (decompressed) file as UTF-8: labels are read whole anyway."""
    from postpilot.profiles.sniff import open_decompressed

    with open_decompressed(path) as stream:
        data = stream.read()
    if encoding in ("utf-8", "utf-8-sig"):
        return data  # polars checks UTF-8 as it parses
    try:
        return data.decode(encoding).encode()
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path} is not {encoding.upper()} text near line {line}") from exc


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
