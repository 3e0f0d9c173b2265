"""Engines for the metadata store: SQLite (embedded default) and PostgreSQL (teams).

SQLite is opened in WAL mode with foreign keys on and a busy timeout, and every
write transaction starts with ``BEGIN IMMEDIATE``: two processes writing at once
queue on the write lock instead of failing with "database is locked" when a
deferred transaction tries to upgrade from reading to writing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from postpilot.errors import ConfigError, MissingExtraError
from postpilot.settings import Settings

__all__ = ["BUSY_TIMEOUT_S", "READ_ONLY", "default_url", "make_engine"]

BUSY_TIMEOUT_S = 60.0
READ_ONLY = "postpilot_read_only"
"""Execution option: the transaction only reads, so SQLite may begin it deferred."""


def default_url(settings: Settings) -> str:
    """The store URL for these settings: ``database_url``, else SQLite under ``home``."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{(settings.home / 'postpilot.db').resolve()}"


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
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
