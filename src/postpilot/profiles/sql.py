"""A SQL query as a profiling source, streamed through SQLAlchemy.

The query runs with ``stream_results=True`` (a server-side cursor where the
driver has one) and rows come back ``batch_size`` at a time through
``Result.partitions``, each batch turned into Arrow columns. Column types are
inferred per batch from the values; a column whose first batches are all NULL
takes its type from the first batch that has values.

>>> source = SQLSource("sqlite:///shop.db", "SELECT amount, channel FROM orders")
>>> source
SQLSource(url='sqlite:///shop.db', query='SELECT amount, channel FROM orders')
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from postpilot.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["SQLSource"]

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


@dataclass(frozen=True)
class SQLSource:
    """A query to profile: ``url`` is a SQLAlchemy URL (or an Engine, left open)."""

    url: str | Engine
    query: str
    params: Mapping[str, Any] | None = field(default=None)

    def __repr__(self) -> str:
        url = self.url if isinstance(self.url, str) else self.url.url.render_as_string()
        return f"SQLSource(url={_hide_password(url)!r}, query={self.query!r})"

    def frames(self, batch_size: int) -> Iterator[pl.DataFrame]:
        """Run the query and yield its rows as DataFrames of at most ``batch_size`` rows.

        At least one frame comes out, empty if the query returns no rows, so the
        column names are always known.
        """
        import sqlalchemy as sa

        engine, owned = self._engine()
        try:
            try:
                connection = engine.connect()
            except sa.exc.SQLAlchemyError as exc:
                raise InputError(
                    f"cannot connect to the database: {_message(exc)}", field="url"
                ) from exc
            with connection:
                try:
                    result = connection.execution_options(
                        stream_results=True, yield_per=batch_size
                    ).execute(sa.text(self.query), dict(self.params or {}))
                except sa.exc.SQLAlchemyError as exc:
                    raise InputError(f"the query failed: {_message(exc)}", field="query") from exc
                names = list(result.keys())
                empty = True
                try:
                    for rows in result.partitions(batch_size):
                        empty = False
                        yield _frame(names, rows)
                except sa.exc.SQLAlchemyError as exc:
                    raise InputError(f"the query failed: {_message(exc)}", field="query") from exc
                finally:
                    result.close()
                if empty:
                    yield _frame(names, [])
        finally:
            if owned:
                engine.dispose()

    def _engine(self) -> tuple[Engine, bool]:
        import sqlalchemy as sa

        if not isinstance(self.url, str):
            return self.url, False
        try:
            return sa.create_engine(self.url), True
        except ModuleNotFoundError as exc:
            package = (exc.name or "").partition(".")[0]
            if package.startswith("psycopg"):
                raise MissingExtraError(
                    "psycopg", "postgres", "Profiling a PostgreSQL query"
                ) from exc
            raise InputError(
                f"the database driver '{package}' is not installed",
                field="url",
                hint=f"Install it with: pip install {package}",
            ) from exc
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise InputError(
                f"not a usable SQLAlchemy database URL: {_message(exc)}",
                field="url",
                hint="Write it as dialect+driver://user:password@host/database, "
                "e.g. sqlite:///path/to/file.db",
            ) from exc


def _frame(names: list[str], rows: Sequence[Sequence[Any]]) -> pl.DataFrame:
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise InputError(
            f"the query returns column '{duplicate}' more than once",
            field=duplicate,
            hint="Give each selected column its own name with AS",
        )
    arrays = []
    for index, name in enumerate(names):
        values = [row[index] for row in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(
                f"column '{name}' holds values of different types: {_message(exc)}",
                field=name,
                hint="CAST the column to one type in the query",
            ) from exc
    frame = pl.from_arrow(pa.Table.from_arrays(arrays, names=names))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _message(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = lines[0] if lines else type(cause).__name__
    return _hide_password(text)[:300]


def _hide_password(text: str) -> str:
    return _PASSWORD.sub(r"\1***@", text)
