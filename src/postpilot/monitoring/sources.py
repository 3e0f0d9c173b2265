"""Where ``monitor run`` finds the data that arrived since its last pass.

A product's policy names one source (its ``source:`` mapping): files (a Parquet
or CSV file, a folder, or a glob) or an SQL query with a watermark column. Each
source lists its :class:`Batch` es not processed yet, given what the monitor
stored after earlier passes: the keys of the batches it processed and, for SQL,
the last watermark. The monitor stores both in the same transaction as each
batch's results, so a second pass over the same data finds nothing, and a pass
that died half-way finds exactly the batches whose results were not stored.

Files. A batch is one file; its key is the file's resolved path, size and
modification time (nanoseconds), so **a file changed after it was processed is
processed again**, as a new batch (append to a new file instead). Files are
listed in natural order (``day2`` before ``day10``). Names starting with ``.``
or ``_`` are skipped in folders and globs (temporary and marker files:
``.part``, ``_SUCCESS``), like Spark and Arrow datasets do.

SQL. A batch is every row whose watermark lies in ``(lo, hi]``: ``lo`` is the
stored watermark (none on the first pass), ``hi`` the largest watermark now.
Watermarks must increase: a row inserted later with a watermark at or below the
stored one (an equal timestamp, a late event time) is never read. Use a strictly
increasing column (an auto-incremented id, an insertion timestamp set by the
database), not an event time. Rows whose watermark is NULL are never read.

>>> from pathlib import Path
>>> _ = Path("day2.csv").write_text("x\\n1\\n")
>>> _ = Path("day10.csv").write_text("x\\n2\\n")
>>> source = open_batch_source({"path": "*.csv"})
>>> [batch.label.rsplit("/", 1)[-1] for batch in source.pending(done=(), watermark=None)]
['day2.csv', 'day10.csv']
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from postpilot.errors import InputError
from postpilot.monitoring.watermark import dump_watermark, load_watermark, watermark_text
from postpilot.profiles.readers import CSV_SUFFIXES, PARQUET_SUFFIXES
from postpilot.profiles.sql import SQLSource, _hide_password, _message

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["FORMATS", "Batch", "BatchSource", "FileSource", "QuerySource", "open_batch_source"]

FORMATS: Final = {
    "auto": PARQUET_SUFFIXES + CSV_SUFFIXES,
    "parquet": PARQUET_SUFFIXES,
    "csv": CSV_SUFFIXES,
}
"""The ``format`` values of a file source and the file names each takes."""
KEY_LENGTH: Final = 300
"""The longest key a batch has (what the store keeps)."""
_GLOB = re.compile(r"[*?\[]")
_DIGITS = re.compile(r"(\d+)")
_SQL_KEYS = ("url", "url_env", "query", "watermark")


@dataclass(frozen=True)
class Batch:
    """New data to monitor: ``data`` is what postpilot's readers take (a path string,
    or an :class:`~postpilot.profiles.sql.SQLSource`)."""

    key: str
    """Unique within its source, at most 300 characters; stored once processed."""
    label: str
    """For people: the path, or the query with its watermark range."""
    data: object
    watermark: str | None
    """SQL: the batch's upper watermark, serialized (store it once processed)."""
    modified: datetime | None
    """Files: the modification time, in UTC."""


class BatchSource:
    """What every source does: list the batches not processed yet."""

    def pending(self, done: Collection[str], watermark: str | None) -> list[Batch]:
        """The batches whose keys are not in ``done`` (and, for SQL, whose rows lie
        above ``watermark``), oldest first."""
        raise NotImplementedError


def _natural(path: str) -> tuple[list[Any], str]:
    """Sort key: runs of digits compare as numbers, so ``day2`` < ``day10``."""
    parts = _DIGITS.split(path)
    return [int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)], path


def _short(text: str, limit: int = KEY_LENGTH) -> str:
    """``text`` if it fits in ``limit`` characters, else its head and a hash of it."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{text[: limit - len(digest) - 1]}#{digest}"


class FileSource(BatchSource):
    """A Parquet or CSV file, a folder (its ``*.parquet`` and ``*.csv`` files, not its
    sub-folders) or a glob (``data/*.parquet``, ``data/**/*.csv``).

    ``format`` keeps only Parquet (``parquet``) or CSV (``csv``) files; ``auto`` takes
    both. Files modified in the last ``settle`` seconds are left for the next pass:
    they may still be being written. A glob that matches nothing, or a named file
    that does not exist yet, is no new data; a folder that does not exist is an
    InputError naming the path.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        format: str = "auto",
        base_dir: Path | None = None,
        settle: float = 0.0,
    ) -> None:
        if format not in FORMATS:
            raise InputError(
                f"unknown file format {format!r}",
                field="source.format",
                hint=f"Use one of: {', '.join(FORMATS)}",
            )
        text = os.fspath(path)
        if not text.strip():
            raise InputError("the source path is empty", field="source.path")
        self.path = Path(base_dir or Path.cwd()) / Path(text).expanduser()
        self.format = format
        self.settle = settle
        self._suffixes = FORMATS[format]

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, format={self.format!r})"

    def _wanted(self, path: Path) -> bool:
        return path.name.lower().endswith(self._suffixes)

    def _missing_folder(self, folder: Path) -> InputError:
        return InputError(
            f"the folder {str(folder)!r} does not exist",
            field="source.path",
            file=str(self.path),
            hint="Create it, or fix the source's path (a relative path is read from the "
            "policy file's folder)",
        )

    def files(self) -> list[Path]:
        """Every file the source names now, resolved, in natural order."""
        text = str(self.path)
        if _GLOB.search(text):
            parts = self.path.parts
            first = next(i for i, p in enumerate(parts) if _GLOB.search(p))
            folder = Path(*parts[:first])
            if not folder.is_dir():
                raise self._missing_folder(folder)
            found = [p for p in folder.glob("/".join(parts[first:])) if self._listed(p, folder)]
        elif self.path.is_dir():
            found = [p for p in self.path.iterdir() if self._listed(p, self.path)]
        else:
            if not self.path.exists() and not self.path.suffix:
                raise self._missing_folder(self.path)  # a folder that is not there (yet)
            if not self._wanted(self.path):
                kinds = ", ".join(self._suffixes)
                what = "Parquet or CSV" if self.format == "auto" else self.format
                raise InputError(
                    f"{self.path.name!r} is not a {what} file",
                    field="source.path",
                    file=text,
                    hint=f"Name a file ending in {kinds}, a folder or a glob",
                )
            if not self.path.parent.is_dir():
                raise self._missing_folder(self.path.parent)
            found = [self.path] if self.path.is_file() else []  # not there yet: no new data
        resolved = {str(p.resolve()) for p in found}
        return [Path(p) for p in sorted(resolved, key=_natural)]

    def _listed(self, path: Path, folder: Path) -> bool:
        """A supported file, not hidden, in no hidden folder below ``folder``."""
        hidden = any(part.startswith((".", "_")) for part in path.relative_to(folder).parts)
        return not hidden and self._wanted(path) and path.is_file()

    def pending(self, done: Collection[str], watermark: str | None = None) -> list[Batch]:
        """Every file not processed yet (``watermark`` is ignored), in natural order."""
        now = time.time_ns()
        out = []
        for path in self.files():
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed since it was listed
                continue
            if self.settle > 0 and now - stat.st_mtime_ns < self.settle * 1e9:
                continue
            text = str(path)
            tail = f"|{stat.st_size}|{stat.st_mtime_ns}"
            key = _short(text, KEY_LENGTH - len(tail)) + tail
            if key in done:
                continue
            modified = datetime.fromtimestamp(stat.st_mtime_ns / 1e9, UTC)
            out.append(Batch(key, text, text, None, modified))
        return out


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
        key = prefix + _short(f"{lo_text or ''}..{hi_text}", KEY_LENGTH - len(prefix))
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


def _mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(
            f"{field} must be a mapping; got {type(value).__name__}",
            field=field,
        )
    return value


def open_batch_source(
    spec: Mapping[str, Any],
    *,
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    settle: float = 0.0,
) -> FileSource | QuerySource:
    """The source a policy's ``source:`` mapping names.

    ``{path: ..., format: auto|parquet|csv}`` or ``{sql: {url: ... | url_env: NAME,
    query: ..., watermark: COLUMN}}``; other keys (``timestamp``, ``chunk_period``,
    ``contract``, ...) are the monitor's and ignored here. A relative path is read
    from ``base_dir`` (the policy file's folder), else the working directory;
    ``url_env`` names an environment variable of ``environ`` (default: the
    process's), so the password stays out of the policy file. ``settle`` is
    :class:`FileSource`'s.
    """
    spec = _mapping(spec, "source")
    if ("path" in spec) == ("sql" in spec):
        raise InputError(
            "the source names both a path and a query"
            if "path" in spec
            else "the source names neither a path nor a query",
            field="source",
            hint="Give either path: (a Parquet or CSV file, folder or glob) or sql: "
            "{url, query, watermark}",
        )
    if "path" in spec:
        path, fmt = spec["path"], spec.get("format", "auto")
        if not isinstance(path, str):
            raise InputError(
                f"source.path must be a string; got {type(path).__name__}", field="source.path"
            )
        if not isinstance(fmt, str):
            raise InputError(f"source.format must be a string; got {fmt!r}", field="source.format")
        return FileSource(path, format=fmt, base_dir=base_dir, settle=settle)
    sql = _mapping(spec["sql"], "source.sql")
    unknown = sorted(set(sql) - set(_SQL_KEYS))
    if unknown:
        raise InputError(
            f"unknown key(s) in source.sql: {', '.join(map(str, unknown))}",
            field="source.sql",
            hint=f"Accepted: {', '.join(_SQL_KEYS)}",
        )
    for name in ("query", "watermark"):
        if not isinstance(sql.get(name), str):
            raise InputError(
                f"source.sql.{name} must be a string" + ("" if name in sql else "; it is missing"),
                field=f"source.sql.{name}",
            )
    url = _url(sql, os.environ if environ is None else environ)
    return QuerySource(url, sql["query"], sql["watermark"])


def _url(sql: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    if ("url" in sql) == ("url_env" in sql):
        raise InputError(
            "give exactly one of source.sql.url and source.sql.url_env",
            field="source.sql",
            hint="url_env names an environment variable holding the URL, which keeps the "
            "password out of the policy file",
        )
    if "url" in sql:
        url = sql["url"]
        if not isinstance(url, str) or not url.strip():
            raise InputError("source.sql.url must be a database URL", field="source.sql.url")
    else:
        name = sql["url_env"]
        if not isinstance(name, str) or not name:
            raise InputError(
                "source.sql.url_env must name an environment variable", field="source.sql.url_env"
            )
        url = environ.get(name, "")
        if not url.strip():
            raise InputError(
                f"the environment variable {name} (source.sql.url_env) is not set",
                field="source.sql.url_env",
                hint=f"Set {name} to the database's SQLAlchemy URL",
            )
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url).get_dialect()
    except (ArgumentError, ValueError) as exc:  # NoSuchModuleError is an ArgumentError
        raise InputError(
            f"not a usable SQLAlchemy database URL: {_hide_password(str(exc))[:300]}",
            field="source.sql.url",
            hint="Write it as dialect+driver://user:password@host/database, "
            "e.g. sqlite:///path/to/file.db",
        ) from exc
    return url
