"""Where ``monitor run`` finds the data that arrived since its last pass.

A product's policy names one source (its ``source:`` mapping): files (a Parquet
or CSV file, a folder, or a glob), an SQL query with a watermark column, or the
gateway's prediction log (``gateway: true``, see
:mod:`postpilot.monitoring.sources.gateway`). Each
source lists the batches (:class:`Batch`) not processed yet, given what the monitor
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

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from postpilot.errors import InputError
from postpilot.monitoring.sources.batch import KEY_LENGTH, Batch, BatchSource
from postpilot.monitoring.sources.files import FORMATS, FileSource
from postpilot.monitoring.sources.gateway import GatewaySource, GatewayWindow, Reading
from postpilot.monitoring.sources.sql import QuerySource
from postpilot.profiles.sql import _hide_password

__all__ = [
    "FORMATS",
    "KEY_LENGTH",
    "Batch",
    "BatchSource",
    "FileSource",
    "GatewaySource",
    "GatewayWindow",
    "QuerySource",
    "open_batch_source",
]

_SQL_KEYS = ("url", "url_env", "query", "watermark")
_KINDS = {"path": "a path", "sql": "a query", "gateway": "the gateway"}


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
    settle: float | None = None,
    reading: Reading | None = None,
    product: str | None = None,
    now: datetime | None = None,
) -> FileSource | QuerySource | GatewaySource:
    """The source a policy's ``source:`` mapping names.

    ``{path: ..., format: auto|parquet|csv}``, ``{sql: {url: ... | url_env: NAME,
    query: ..., watermark: COLUMN}}`` or ``{gateway: true}``; other keys
    (``timestamp``, ``chunk_period``, ``contract``, ...) are the monitor's and ignored
    here. A relative path is read from ``base_dir`` (the policy file's folder), else
    the working directory; ``url_env`` names an environment variable of ``environ``
    (default: the process's), so the password stays out of the policy file.
    ``settle`` is :class:`FileSource`'s (default 0) or :class:`GatewaySource`'s
    (default 5 s). The gateway's log is read from the store ``reading`` opens, for
    ``product``, up to ``now`` (the pass's time).
    """
    spec = _mapping(spec, "source")
    named = [key for key in _KINDS if spec.get(key) not in (None, False)]
    if len(named) != 1:
        raise InputError(
            f"the source names both {' and '.join(_KINDS[key] for key in named)}"
            if named
            else "the source names neither a path nor a query nor the gateway",
            field="source",
            hint="Give exactly one of path: (a Parquet or CSV file, folder or glob), sql: "
            "{url, query, watermark} or gateway: true (the gateway's prediction log)",
        )
    if "gateway" in named:
        if spec["gateway"] is not True:
            raise InputError(
                f"source.gateway must be true; got {spec['gateway']!r}", field="source.gateway"
            )
        if reading is None or product is None:
            raise InputError(
                "a gateway source reads the store's prediction log: it needs the store and "
                "the product",
                field="source.gateway",
            )
        if settle is None:
            return GatewaySource(reading, product, now=now)
        return GatewaySource(reading, product, now=now, settle=settle)
    if "path" in spec:
        path, fmt = spec["path"], spec.get("format", "auto")
        if not isinstance(path, str):
            raise InputError(
                f"source.path must be a string; got {type(path).__name__}", field="source.path"
            )
        if not isinstance(fmt, str):
            raise InputError(f"source.format must be a string; got {fmt!r}", field="source.format")
        return FileSource(path, format=fmt, base_dir=base_dir, settle=settle or 0.0)
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
