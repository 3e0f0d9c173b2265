"""Apply the store's Alembic migrations, automatically on first use.

Concurrent first use is safe: on SQLite the migration runs inside a
``BEGIN IMMEDIATE`` transaction (one process migrates, the others wait and then
find the schema current); on PostgreSQL inside a transaction holding an
advisory lock.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from postpilot.errors import StoreError

__all__ = ["HEAD", "REVISIONS", "current_revision", "ensure_schema", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004")
"""Every revision, oldest first. A test checks this against the scripts."""
HEAD = REVISIONS[-1]
_ADVISORY_LOCK_KEY = 0x706F737470  # "postp"


def current_revision(conn: Connection) -> str | None:
    """The store's revision, or None for an empty store."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Migrate the store to :data:`HEAD` unless it is already there (a cheap check)."""
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except (OperationalError, ProgrammingError) as exc:
        raise StoreError(
            f"cannot open the metadata store: {exc.orig}",
            field=engine.url.render_as_string(hide_password=True),
            hint="Check POSTPILOT_DATABASE_URL / POSTPILOT_HOME and that the server is running",
        ) from exc
    if revision == HEAD:
        return
    _check_known(revision, engine)
    upgrade(engine)


def upgrade(engine: Engine) -> None:
    """Run every pending migration in one transaction."""
    from alembic import command  # imported here: only needed when migrating
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        _check_known(current_revision(conn), engine)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _check_known(revision: str | None, engine: Engine) -> None:
    if revision is not None and revision not in REVISIONS:
        raise StoreError(
            f"the metadata store is at revision {revision!r}, which this postpilot does not know",
            field=engine.url.render_as_string(hide_password=True),
            hint="It was migrated by a newer postpilot: upgrade postpilot",
        )
