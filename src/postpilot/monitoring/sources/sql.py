"""An SQL query as batches: the rows whose watermark lies above the last pass's.

Watermarks must increase: a row inserted later with a watermark at or below the
stored one is never read, and rows whose watermark is NULL never are.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from postpilot.errors import InputError
from postpilot.monitoring.sources.batch import KEY_LENGTH, Batch, BatchSource, short_key
from postpilot.monitoring.watermark import dump_watermark, load_watermark, watermark_text
from postpilot.profiles.sql import SQLSource, _hide_password, _message

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["QuerySource"]


class QuerySource(BatchSource):
    """An SQL query read in watermark ranges: each pass reads the rows whose
    ``watermark`` column lies above the last pass's largest value.

    ``url`` is a SQLAlchemy URL (its password never appears in a label, key or
    error); ``query`` a single ``SELECT`` (or ``WITH ... SELECT``) without a trailing
    semicolon, which is read as a subquery. See the module docstring for why the
    watermark must increase.
    """

    def __init__(self, url: str, query: str, watermark: str) -> None:
        self.url = url
        self.query = _check_query(query)
        if not isinstance(watermark, str) or not watermark.strip():
            raise InputError(
                "name the watermark column",
                field="source.sql.watermark",
                hint="A column that increases with every new row, e.g. an insertion "
                "timestamp or an auto-incremented id",
            )
        self.watermark = watermark
        self.shown_url = _hide_password(url)
        self._id = hashlib.sha256(f"{_without_password(url)}\n{self.query}".encode()).hexdigest()

    def __repr__(self) -> str:
        shown = f"url={self.shown_url!r}, query={self.query!r}, watermark={self.watermark!r}"
        return f"QuerySource({shown})"

    def pending(self, done: Collection[str], watermark: str | None) -> list[Batch]:
        """At most one batch: the rows with ``watermark < value <= the largest now``."""
        lo = None if watermark is None else load_watermark(watermark)
        column, hi = self._largest(lo)
        if hi is None:
            return []
        lo_text = None if lo is None else watermark_text(lo)
        hi_text = watermark_text(hi)
        prefix = f"sql:{self._id[:16]}:"
        key = prefix + short_key(f"{lo_text or ''}..{hi_text}", KEY_LENGTH - len(prefix))
        if key in done:
            return []
        params: dict[str, Any] = {"postpilot_hi": hi}
        where = f"{column} <= :postpilot_hi"
        if lo is None:  # NULL <= hi is not true: rows without a watermark are never read
            shown = f"{self.watermark} <= {hi_text}"
        else:
            params["postpilot_lo"] = lo
            where = f"{column} > :postpilot_lo AND {where}"
            shown = f"{self.watermark} in ({lo_text}, {hi_text}]"
        one_line = " ".join(self.query.split())
        label = f"{one_line if len(one_line) <= 120 else one_line[:119] + '…'}, {shown}"
        data = SQLSource(self.url, f"{self._subquery()} WHERE {where}", params)
        return [Batch(key, label, data, dump_watermark(hi), None)]

    def _subquery(self) -> str:
        # The query is the policy author's own, run with their credentials; the column is
        # quoted by the dialect and every value is bound. The newlines keep a trailing
        # "-- comment" in the query from hiding the rest.
        return f"SELECT * FROM (\n{self.query}\n) AS postpilot_src"  # noqa: S608

    def _largest(self, lo: object) -> tuple[str, object]:
        """The watermark column, quoted for the database, and its largest value above
        ``lo`` (None when there is none)."""
        import sqlalchemy as sa

        engine, owned = SQLSource(self.url, self.query)._engine()
        try:
            try:
                connection = engine.connect()
            except sa.exc.SQLAlchemyError as exc:
                raise InputError(
                    f"cannot connect to the database of the source {self.shown_url}: "
                    f"{_message(exc)}",
                    field="source.sql.url",
                ) from exc
            with connection:
                column = str(connection.dialect.identifier_preparer.quote(self.watermark))
                self._check_column(connection)
                where, params = "", {}
                if lo is not None:
                    where, params = f" WHERE {column} > :postpilot_lo", {"postpilot_lo": lo}
                sub = self._subquery()
                largest = f"SELECT MAX({column}) FROM ({sub}) AS postpilot_max"  # noqa: S608
                return column, self._run(connection, largest + where, params).scalar()
        finally:
            if owned:
                engine.dispose()

    def _check_column(self, connection: Connection) -> None:
        names = list(self._run(connection, f"{self._subquery()} WHERE 1 = 0", {}).keys())
        if self.watermark not in names:
            raise InputError(
                f"the watermark column {self.watermark!r} is not among the query's columns "
                f"({', '.join(names) or 'none'})",
                field="source.sql.watermark",
                hint="Name one of the columns the query returns (names are case-sensitive)",
            )

    def _run(self, connection: Connection, sql: str, params: Mapping[str, Any]) -> Any:
        import sqlalchemy as sa

        try:
            return connection.execute(sa.text(sql), dict(params))
        except sa.exc.SQLAlchemyError as exc:
            raise InputError(
                f"the query of the source {self.shown_url} failed: {_message(exc)}",
                field="source.sql.query",
            ) from exc


def _without_password(url: str) -> str:
    from sqlalchemy.engine import URL, make_url

    parsed = make_url(url)
    bare = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False)


def _statement_ends(query: str) -> list[int]:
    """Where ``;`` stands outside quotes and comments."""
    ends = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch in "'\"`":
            close = query.find(ch, i + 1)
            i = n if close < 0 else close + 1
            continue
        if query.startswith("--", i):
            close = query.find("\n", i)
            i = n if close < 0 else close + 1
            continue
        if query.startswith("/*", i):
            close = query.find("*/", i + 2)
            i = n if close < 0 else close + 2
            continue
        if ch == ";":
            ends.append(i)
        i += 1
    return ends


def _check_query(query: object) -> str:
    """``query`` when it is one SELECT without a trailing semicolon, else an InputError."""
    if not isinstance(query, str) or not query.strip():
        raise InputError("the source's query is empty", field="source.sql.query")
    text = query.strip()
    ends = _statement_ends(text)
    if ends == [len(text) - 1]:
        raise InputError(
            "the source's query ends with a semicolon",
            field="source.sql.query",
            hint="Remove the trailing ';': the query is read as a subquery",
        )
    if ends:
        raise InputError(
            f"the source's query holds more than one statement (';' at character {ends[0] + 1})",
            field="source.sql.query",
            hint="Write a single SELECT",
        )
    uncommented = re.sub(r"^(\s|--[^\n]*\n|/\*.*?\*/|\()*", "", text, flags=re.S)
    first = uncommented.split(None, 1)[0].upper() if uncommented else ""
    if first not in ("SELECT", "WITH"):
        raise InputError(
            f"the source's query must be a SELECT; it starts with {first or text[:20]!r}",
            field="source.sql.query",
            hint="Write a single SELECT (or WITH ... SELECT) returning the rows to monitor",
        )
    return text
