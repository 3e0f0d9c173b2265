"""Engines for the metadata store: SQLite (embedded default) and PostgreSQL (teams).

SQLite is opened in WAL mode with foreign keys on and a busy timeout, and every
write transaction starts with ``BEGIN IMMEDIATE``: two processes writing at once
queue on the write lock instead of failing with "database is locked" when a
deferred transaction tries to upgrade from reading to writing.

A SQLite file this process may not write (its mode, or its folder's, forbids
it) is opened read-only (``mode=ro``; ``immutable=1`` as well when no
``-shm`` file exists, since SQLite cannot otherwise read a WAL database in a
folder it cannot write): read commands work, and :func:`is_read_only` tells the
store to refuse writes with a clear error instead of failing inside SQLite.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from postpilot.errors import ConfigError, MissingExtraError, StoreError
from postpilot.settings import Settings

__all__ = ["BUSY_TIMEOUT_S", "READ_ONLY", "default_url", "describe", "is_read_only", "make_engine"]

BUSY_TIMEOUT_S = 60.0
READ_ONLY = "postpilot_read_only"
"""Execution option: the transaction only reads, so SQLite may begin it deferred."""
_READ_ONLY: weakref.WeakSet[Engine] = weakref.WeakSet()


def default_url(settings: Settings) -> str:
    """The store URL for these settings: ``database_url``, else SQLite under ``home``."""
    if settings.database_url:
        return settings.database_url
    home = settings.home
    if home.exists() and not home.is_dir():
        raise ConfigError(
            f"POSTPILOT_HOME is {str(home)!r}, which is a file, not a folder",
            field="POSTPILOT_HOME",
            hint="Point POSTPILOT_HOME at a folder (it is created if missing)",
        )
    return f"sqlite:///{(home / 'postpilot.db').resolve()}"


def is_read_only(engine: Engine) -> bool:
    """Whether ``engine`` was opened read-only (a SQLite file it may not write)."""
    return engine in _READ_ONLY


def describe(engine: Engine) -> str:
    """The store as messages name it: the SQLite file, else the URL without its password."""
    if engine.dialect.name == "sqlite" and engine.url.database:
        return engine.url.database
    return engine.url.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``, configured for concurrent, safe use."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"not a database URL: {url!r}",
            field="POSTPILOT_DATABASE_URL",
            hint="Use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db",
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if backend == "postgresql":
        try:
            return create_engine(url, pool_pre_ping=True)
        except (ModuleNotFoundError, NoSuchModuleError) as exc:
            raise MissingExtraError("psycopg", "postgres", "A PostgreSQL store") from exc
    raise ConfigError(
        f"unsupported database backend {backend!r}",
        field="POSTPILOT_DATABASE_URL",
        hint="postpilot supports sqlite and postgresql",
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    read_only = False
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        _make_folder(path.parent)
        read_only = path.exists() and not (_writable(path) and _writable(path.parent))
        if read_only:
            kwargs["creator"] = _read_only_connect(path)
    engine = create_engine(url, **kwargs)
    if read_only:
        _READ_ONLY.add(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if not read_only:  # setting it is a write
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise ConfigError(
            f"the store's folder {str(folder)!r} is a file, not a folder",
            field="POSTPILOT_DATABASE_URL",
            hint="Point POSTPILOT_HOME or POSTPILOT_DATABASE_URL at a folder",
        ) from exc
    except OSError as exc:
        raise StoreError(
            f"cannot create the store's folder {str(folder)!r}: {exc.strerror}",
            hint="Create it, or point POSTPILOT_HOME at a folder you may write",
        ) from exc


def _writable(path: Path) -> bool:
    """Whether this process (its effective user, as SQLite will act) may write ``path``."""
    effective = os.access in os.supports_effective_ids
    return os.access(path, os.W_OK, effective_ids=effective)


def _read_only_connect(path: Path) -> Any:
    """Connect to ``path`` read-only; immutable when SQLite could not read its WAL otherwise."""
    wal_index = path.with_name(path.name + "-shm")
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    if not wal_index.exists():
        uri += "&immutable=1"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)

    return connect
