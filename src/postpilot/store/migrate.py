"""Apply the store's Alembic migrations, automatically on first use.

Concurrent first use is safe: on SQLite the migration runs inside a
``BEGIN IMMEDIATE`` transaction (one process migrates, the others wait and then
find the schema current); on PostgreSQL inside a transaction holding an
advisory lock.

Before migrating, the store is recognised, never guessed at: a file that is
not a database, a database holding other tables (another application's), a
postpilot store whose ``alembic_version`` table is gone, a half-migrated one
(at the current revision but missing tables, or failing to migrate), a
read-only store that would need migrating: each is a StoreError saying what it
is and what to do. postpilot never migrates over tables it did not create.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from postpilot.errors import StoreError
from postpilot.store.engine import describe, is_read_only

__all__ = ["HEAD", "REVISIONS", "current_revision", "ensure_schema", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")
"""Every revision, oldest first. A test checks this against the scripts."""
HEAD = REVISIONS[-1]
_ADVISORY_LOCK_KEY = 0x706F737470  # "postp"


def current_revision(conn: Connection) -> str | None:
    """The store's revision, or None for an empty store."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Migrate the store to :data:`HEAD` unless it is already there (a cheap check).

    A store that is not postpilot's, is damaged, or is read-only and behind
    raises StoreError naming it; nothing is written then.
    """
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revision = current_revision(conn) if "alembic_version" in tables else None
    except DBAPIError as exc:
        raise _unusable(engine, exc) from exc
    _recognise(engine, revision, tables)
    if revision == HEAD:
        return
    if is_read_only(engine):
        at = f"at revision {revision}" if revision else "empty"
        raise StoreError(
            f"the metadata store is read-only and {at}; this postpilot needs revision {HEAD}",
            file=describe(engine),
            hint="Make the file and its folder writable once so postpilot can migrate it",
        )
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
        tables = set(inspect(conn).get_table_names())
        revision = current_revision(conn) if "alembic_version" in tables else None
        _recognise(engine, revision, tables)
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except DBAPIError as exc:
            raise StoreError(
                f"migrating the metadata store from revision {revision or '(none)'} to {HEAD} "
                f"failed, so it was left as it was: {_first_line(exc.orig)}",
                file=describe(engine),
                hint="Its tables do not match its recorded revision (half-migrated, or "
                "changed by hand): restore it from a backup",
            ) from exc


def _recognise(engine: Engine, revision: str | None, tables: set[str]) -> None:
    """Refuse a database that is not a postpilot store at a revision this code knows."""
    from postpilot.store.models import Base

    ours = set(Base.metadata.tables)
    where = describe(engine)
    if revision is None:
        if tables & ours:
            raise StoreError(
                "the metadata store has postpilot's tables but no alembic_version table, "
                "so its schema revision is unknown",
                file=where,
                hint="Restore it from a backup; postpilot will not guess a revision and "
                "migrate over it",
            )
        other = sorted(t for t in tables if not t.startswith("sqlite_"))
        if other:
            shown = ", ".join(other[:5]) + (", ..." if len(other) > 5 else "")
            raise StoreError(
                f"the database is not a postpilot store: it holds other tables ({shown})",
                file=where,
                hint="Point POSTPILOT_HOME or POSTPILOT_DATABASE_URL at an empty database "
                "(or schema) or at a postpilot store",
            )
        return
    if revision not in REVISIONS:
        if not tables & ours:
            raise StoreError(
                f"the database is not a postpilot store: its alembic_version is {revision!r} "
                "and it holds none of postpilot's tables",
                file=where,
                hint="Point POSTPILOT_HOME or POSTPILOT_DATABASE_URL at an empty database "
                "(or schema) or at a postpilot store",
            )
        raise StoreError(
            f"the metadata store is at revision {revision!r}, which this postpilot does not know",
            file=where,
            hint="It was migrated by a newer postpilot: upgrade postpilot",
        )
    missing = sorted(ours - tables)
    if revision == HEAD and missing:
        raise StoreError(
            f"the metadata store is half-migrated: it says revision {revision} but lacks "
            f"the tables {', '.join(missing)}",
            file=where,
            hint="Restore it from a backup",
        )


def _unusable(engine: Engine, exc: DBAPIError) -> StoreError:
    """The store could not even be opened: say why in one line, naming it."""
    reason = _first_line(exc.orig)
    where = describe(engine)
    if "not a database" in reason or "file is encrypted" in reason:
        return StoreError(
            "the metadata store is not a SQLite database",
            file=where,
            hint="POSTPILOT_HOME or POSTPILOT_DATABASE_URL points at another kind of file: "
            "move it away or point them elsewhere",
        )
    if engine.dialect.name == "sqlite":
        return StoreError(
            f"cannot open the metadata store: {reason}",
            file=where,
            hint="Check POSTPILOT_HOME / POSTPILOT_DATABASE_URL and the file's permissions",
        )
    return StoreError(
        f"cannot open the metadata store: {reason}",
        field=where,
        hint="Check POSTPILOT_DATABASE_URL and that the server is running and reachable",
    )


def _first_line(error: BaseException | None) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
