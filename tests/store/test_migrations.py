from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from postpilot import ConfigError, Registry, StoreError
from postpilot.store.engine import make_engine
from postpilot.store.migrate import HEAD, MIGRATIONS, REVISIONS, ensure_schema
from postpilot.store.models import Base


def test_revisions_constant_matches_the_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    chain = [s.revision for s in scripts.walk_revisions()][::-1]
    assert tuple(chain) == REVISIONS
    assert scripts.get_current_head() == HEAD


def test_migrations_create_exactly_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_store_is_wal_with_foreign_keys(tmp_path: Path) -> None:
    reg = Registry(f"sqlite:///{tmp_path / 'p.db'}", actor="t")
    with reg.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    reg.close()


def test_default_store_lives_under_postpilot_home(tmp_path: Path) -> None:
    reg = Registry(actor="t")  # POSTPILOT_HOME is set by the autouse fixture
    reg.create_product("churn")
    reg.close()
    assert (tmp_path / "home" / "postpilot.db").is_file()


def test_a_store_from_a_newer_postpilot_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="newer postpilot"):
        ensure_schema(engine)
    engine.dispose()


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot open the metadata store"):
        Registry("postgresql+psycopg://127.0.0.1:1/none?connect_timeout=2", actor="t")


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="POSTPILOT_DATABASE_URL"):
        Registry("mysql+nothing://x/y", actor="t")


def test_migration_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    ensure_schema(engine)
    with engine.connect() as conn:
        assert "products" in inspect(conn).get_table_names()
    engine.dispose()
