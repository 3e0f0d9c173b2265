"""Hypothesis strategies for hostile inputs: tables, files, names and option values.

A :class:`Table` is a list of named columns of Python values, each of one kind (int,
float with NaN and infinities, text with unicode and Rich-markup-looking values, bool,
all-null, datetime). It writes itself as Parquet (duplicate names allowed, as Arrow
allows them) or as CSV with a comma or a semicolon, in UTF-8, UTF-8 with a BOM or
UTF-16. Zero rows and zero columns are in the space, as are very long, empty, blank,
duplicated and markup names.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

__all__ = [
    "FORMATS",
    "MARKUP",
    "Table",
    "examples",
    "fuzz_settings",
    "hostile_names",
    "numbers",
    "tables",
]

SCALE = float(os.environ.get("POSTPILOT_FUZZ_EXAMPLES", "1"))
"""Multiply every test's example count (``POSTPILOT_FUZZ_EXAMPLES=10`` for a long run)."""


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


def fuzz_settings(n: int) -> settings:
    """``n`` examples (times the scale), no deadline, no example database (it would
    write into the working folder the tests watch), and no shrinking unless
    ``POSTPILOT_FUZZ_SHRINK=1``: a failure reports the example as found, in bounded time.
    """
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("POSTPILOT_FUZZ_SHRINK", "") not in ("", "0"):
        phases.append(Phase.shrink)
    return settings(
        max_examples=examples(n),
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


MARKUP = ["[/]", "[bold red]x[/bold red]", "[red]", "[link=https://x.example]y[/link]", "[/red]"]
"""Text that Rich would read as markup: it must be shown as typed, never styled."""

SPECIAL_NAMES = [
    *MARKUP,
    "a" * 300,
    "",
    " ",
    "naïve ünïcödé",
    "列名",
    "x,y",
    "a;b",
    '"quoted"',
    "tab\there",
    "@",
    "foo@2",
    "new\nline",
    "nul\x00byte",
    "-dash",
    "--columns",
]


def hostile_names(*, min_size: int = 0) -> st.SearchStrategy[str]:
    """Names as people type them, and as attackers do."""
    return st.one_of(
        st.sampled_from([n for n in SPECIAL_NAMES if len(n) >= min_size]),
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.text(min_size=max(min_size, 1), max_size=12),
    )


def numbers() -> st.SearchStrategy[str]:
    """Numeric option values: ordinary, zero, negative, huge, not finite, not numbers."""
    return st.one_of(
        st.sampled_from(
            ["0", "-1", "-5", "1", "2", "3", "99999999999999999999999", "1e308", "nan", "inf"]
        ),
        st.sampled_from(["-inf", "0.1", "0.5", "abc", "", "1.5", "2**3", "1_000"]),
        st.integers(-3, 50).map(str),
    )


KINDS = ("int", "float", "str", "bool", "null", "datetime")


def _values(kind: str) -> st.SearchStrategy[Any]:
    nullable = st.none()
    if kind == "int":
        return st.integers(-(10**6), 10**6) | nullable
    if kind == "float":
        return st.floats(allow_nan=True, allow_infinity=True, width=64) | nullable
    if kind == "str":
        return st.text(max_size=8) | st.sampled_from(MARKUP) | nullable
    if kind == "bool":
        return st.booleans() | nullable
    if kind == "datetime":
        return st.datetimes(datetime(2000, 1, 1), datetime(2030, 1, 1)) | nullable
    return nullable


ARROW = {
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
    "bool": pa.bool_(),
    "null": pa.null(),
    "datetime": pa.timestamp("us"),
}

FORMATS = ("parquet", "csv", "csv;", "csv-bom", "csv-utf16")


@dataclass(frozen=True)
class Table:
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    columns: tuple[tuple[Any, ...], ...]
    fmt: str = "csv"

    @property
    def rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @property
    def suffix(self) -> str:
        return ".parquet" if self.fmt == "parquet" else ".csv"

    def write(self, path: Path) -> Path:
        """Write the table in its format to ``path`` (its suffix replaced); the path."""
        path = path.with_suffix(self.suffix)
        if self.fmt == "parquet":
            arrays = [
                pa.array(list(values), type=ARROW[kind])
                for kind, values in zip(self.kinds, self.columns, strict=True)
            ]
            pq.write_table(pa.Table.from_arrays(arrays, names=list(self.names)), path)
            return path
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=";" if self.fmt == "csv;" else ",")
        if self.names:
            writer.writerow(self.names)
            for row in zip(*self.columns, strict=True):
                writer.writerow([_cell(v) for v in row])
        encoding = {"csv-bom": "utf-8-sig", "csv-utf16": "utf-16"}.get(self.fmt, "utf-8")
        path.write_bytes(buffer.getvalue().encode(encoding, errors="surrogatepass"))
        return path

    def with_format(self, fmt: str) -> Table:
        return replace(self, fmt=fmt)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@st.composite
def tables(
    draw: st.DrawFn,
    *,
    max_columns: int = 5,
    max_rows: int = 40,
    min_rows: int = 0,
    kinds: tuple[str, ...] = KINDS,
    names: st.SearchStrategy[str] | None = None,
    formats: tuple[str, ...] = FORMATS,
    unique: bool = False,
) -> Table:
    """A table of hostile shape: zero rows or columns, every kind, duplicate names."""
    n_columns = draw(st.integers(0, max_columns))
    name_strategy = names or hostile_names()
    if unique:
        column_names = draw(
            st.lists(name_strategy, min_size=n_columns, max_size=n_columns, unique=True)
        )
    else:
        column_names = draw(st.lists(name_strategy, min_size=n_columns, max_size=n_columns))
    column_kinds = draw(st.lists(st.sampled_from(kinds), min_size=n_columns, max_size=n_columns))
    rows = draw(st.integers(min_rows, max_rows))
    columns = tuple(
        tuple(draw(st.lists(_values(kind), min_size=rows, max_size=rows))) for kind in column_kinds
    )
    fmt = draw(st.sampled_from(formats))
    if fmt == "parquet" and any("\x00" in n for n in column_names):
        fmt = "csv"
    return Table(tuple(column_names), tuple(column_kinds), columns, fmt)


@st.composite
def numeric_tables(draw: st.DrawFn, *, min_rows: int, max_rows: int, columns: int = 3) -> Table:
    """Clean numeric tables (distinct simple names, finite floats, no nulls): for
    checking that options mean what they say, not for hostility."""
    rows = draw(st.integers(min_rows, max_rows))
    values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
    data = tuple(
        tuple(draw(st.lists(values, min_size=rows, max_size=rows))) for _ in range(columns)
    )
    names = tuple(f"c{i}" for i in range(columns))
    fmt = draw(st.sampled_from(("parquet", "csv")))
    return Table(names, ("float",) * columns, data, fmt)


@st.composite
def tables_like(draw: st.DrawFn, table: Table, *, max_rows: int = 40) -> Table:
    """New values in ``table``'s schema (same names and kinds), in any format."""
    rows = draw(st.integers(0, max_rows))
    columns = tuple(
        tuple(draw(st.lists(_values(kind), min_size=rows, max_size=rows))) for kind in table.kinds
    )
    fmt = draw(st.sampled_from(FORMATS))
    if fmt == "parquet" and any("\x00" in n for n in table.names):
        fmt = "csv"
    return Table(table.names, table.kinds, columns, fmt)
