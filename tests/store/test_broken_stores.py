"""Read-only and broken stores: each named as what it is, with what to do; never a traceback.

Read commands work on a SQLite store this process may not write (file mode
0444, a read-only folder, or both); a write command says the store is
read-only. A file that is not a database, a database holding another
application's tables, a postpilot store that lost its ``alembic_version`` table
or is half-migrated, and a ``POSTPILOT_HOME`` that is a file are each exit 2
with one line, and never "migrated" over.

The tests run as root in some environments, where file modes do not bind:
there the read-only cases switch the effective user to ``nobody`` around the
commands (and the store lives in a folder that user may enter).
"""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine, text

from postpilot import Registry, StoreError
from postpilot.errors import ConfigError
from postpilot.store.engine import make_engine
from postpilot.store.migrate import HEAD, ensure_schema
from tests.helpers import Run, as_json

NOBODY = 65534


@contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as a user that file modes bind (``nobody`` when we are root)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def one_error(result: object) -> str:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def populated(cli: Run, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store with a person, a product, a contract and a drift run, in a folder
    ``nobody`` may enter; yields the folder (POSTPILOT_HOME)."""
    base = Path(tempfile.mkdtemp(prefix="pp-ro-"))
    base.chmod(0o755)
    home = base / "home"
    monkeypatch.setenv("POSTPILOT_HOME", str(home))
    frame = pl.DataFrame({"x": [float(i % 17) for i in range(300)], "c": ["a", "b", "c"] * 100})
    data = base / "data.csv"
    frame.write_csv(data)
    data.chmod(0o644)
    cli("person", "add", "ana@example.com", "--name", "Ana")
    cli("product", "create", "churn")
    cli("contract", "infer", str(data), "-o", str(base / "c.yaml"), "--name", "feed")
    cli("drift", str(data), str(data), "--product", "churn")
    # Run the read commands once with our own rights: whatever they import lazily is
    # imported now. As ``nobody`` they could not read the sources of a checkout in a
    # private folder (``mktemp -d`` makes it 0700), which has nothing to do with the store.
    for command in READ_COMMANDS:
        cli(*[str(data) if a == "{data}" else a for a in command])
    gc.collect()  # close every pooled connection: the WAL is checkpointed into the file
    assert not (home / "postpilot.db-wal").exists()
    try:
        yield home
    finally:
        home.chmod(0o755)
        for path in home.iterdir():
            path.chmod(0o644)
        shutil.rmtree(base)


READ_COMMANDS = [
    ["product", "list"],
    ["product", "show", "churn"],
    ["person", "list"],
    ["audit", "log"],
    ["audit", "verify"],
    ["contract", "list"],
    ["contract", "show", "feed@1"],
    ["contract", "check", "feed@1", "{data}"],
    ["drift-history", "--product", "churn"],
]


@pytest.mark.parametrize("mode", ["file", "folder", "both"])
def test_read_commands_work_on_a_read_only_store(cli: Run, populated: Path, mode: str) -> None:
    store = populated / "postpilot.db"
    before = store.read_bytes()
    if mode in ("file", "both"):
        store.chmod(0o444)
    if mode == "file":
        populated.chmod(0o777)  # only the file's mode stops writes
    if mode == "folder":
        store.chmod(0o666)  # only the folder stops writes
    if mode in ("folder", "both"):
        populated.chmod(0o555)
    data = str(populated.parent / "data.csv")
    with unprivileged():
        writable = [os.access(p, os.W_OK, effective_ids=True) for p in (store, populated)]
        assert writable == {"file": [False, True], "folder": [True, False]}.get(
            mode, [False, False]
        )
        for command in READ_COMMANDS:
            result = cli(*[data if a == "{data}" else a for a in command])
            assert "error" not in result.stderr, (command, result.stderr)
        assert as_json(cli("product", "list", "-f", "json"))[0]["name"] == "churn"
        result = cli("person", "add", "bo@example.com", "--name", "Bo", expect=2)
        line = one_error(result)
        assert "read-only" in line
        assert str(store) in line
        result = cli("product", "create", "other", expect=2)
        assert "read-only" in one_error(result)
    assert store.read_bytes() == before  # nothing written, not even a migration


def test_a_read_only_store_behind_the_current_revision_says_so(cli: Run, populated: Path) -> None:
    store = populated / "postpilot.db"
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0003'")
    conn.close()
    store.chmod(0o444)
    with unprivileged():
        line = one_error(cli("product", "list", expect=2))
    assert "read-only" in line
    assert f"needs revision {HEAD}" in line
    assert "writable" in line


def test_a_file_that_is_not_a_database(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "postpilot.db").write_bytes(b"these are my notes, not a database\n" * 200)
    before = (home / "postpilot.db").read_bytes()
    line = one_error(cli("product", "list", expect=2))
    assert "not a SQLite database" in line
    assert str(home / "postpilot.db") in line
    assert (home / "postpilot.db").read_bytes() == before


def test_another_applications_sqlite_database_is_not_migrated_over(
    cli: Run, tmp_path: Path
) -> None:
    path = tmp_path / "home" / "postpilot.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.close()
    for command in (["product", "list"], ["product", "create", "churn"], ["init"]):
        line = one_error(cli(*command, expect=2))
        assert "not a postpilot store" in line
        assert "invoices" in line
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert tables == {"invoices"}


def test_another_alembic_application_is_not_taken_for_a_newer_postpilot(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('ae1027a6acf')")
        conn.execute("CREATE TABLE users (id INTEGER)")
    conn.close()
    with pytest.raises(StoreError, match="not a postpilot store"):
        Registry(f"sqlite:///{path}", actor="t")


def test_a_store_whose_alembic_version_was_dropped(cli: Run, tmp_path: Path) -> None:
    cli("product", "create", "churn")
    path = tmp_path / "home" / "postpilot.db"
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE alembic_version")
    conn.close()
    line = one_error(cli("product", "list", expect=2))
    assert "no alembic_version table" in line
    assert "backup" in line
    with sqlite3.connect(path) as conn:  # nothing recreated behind the user's back
        assert conn.execute("SELECT name FROM products").fetchall() == [("churn",)]
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert "alembic_version" not in names


def test_a_half_migrated_store_at_head_missing_tables(cli: Run, tmp_path: Path) -> None:
    cli("product", "create", "churn")
    path = tmp_path / "home" / "postpilot.db"
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE labels")
    conn.close()
    line = one_error(cli("product", "list", expect=2))
    assert "half-migrated" in line
    assert "labels" in line


def test_a_half_migrated_store_behind_head_is_left_unchanged(cli: Run, tmp_path: Path) -> None:
    cli("product", "create", "churn")
    path = tmp_path / "home" / "postpilot.db"
    with sqlite3.connect(path) as conn:  # says 0003, but 0004's tables are already there
        conn.execute("UPDATE alembic_version SET version_num = '0003'")
    conn.close()
    before = path.read_bytes()
    line = one_error(cli("product", "list", expect=2))
    assert "migrating the metadata store from revision 0003" in line
    assert "left as it was" in line
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0003",)]
    conn.close()
    assert len(path.read_bytes()) == len(before)


def test_postpilot_home_that_is_a_file(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home-file"
    home.write_text("x")
    monkeypatch.setenv("POSTPILOT_HOME", str(home))
    line = one_error(cli("product", "list", expect=2))
    assert "POSTPILOT_HOME" in line
    assert "a file, not a folder" in line
    with pytest.raises(ConfigError) as info:
        Registry(actor="t")
    assert info.value.field == "POSTPILOT_HOME"


def test_database_url_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        Registry(f"sqlite:///{tmp_path / 'f' / 'p.db'}", actor="t")


def test_store_in_a_folder_that_cannot_be_created(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = Path(tempfile.mkdtemp(prefix="pp-ro-"))
    try:
        base.chmod(0o555)
        monkeypatch.setenv("POSTPILOT_HOME", str(base / "home"))
        with unprivileged():
            line = one_error(cli("product", "list", expect=2))
        assert "cannot create the store's folder" in line
    finally:
        base.chmod(0o755)
        shutil.rmtree(base)


def test_unreachable_postgres_names_the_url_without_its_password(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://alice:s3cret@127.0.0.1:1/none?connect_timeout=2"
    monkeypatch.setenv("POSTPILOT_DATABASE_URL", url)
    line = one_error(cli("product", "list", expect=2))
    assert "cannot open the metadata store" in line
    assert "127.0.0.1:1" in line
    assert "alice" in line
    assert "s3cret" not in line


@pytest.mark.postgres
def test_postgres_schema_with_other_tables_is_not_migrated_over(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id integer)"))
    with pytest.raises(
        StoreError, match=r"not a postpilot store: it holds other tables \(invoices\)"
    ):
        Registry(postgres_url, actor="t")
    with engine.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema()"
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert tables == ["invoices"]


@pytest.mark.postgres
def test_postgres_store_without_alembic_version(postgres_url: str) -> None:
    Registry(postgres_url, actor="t").close()
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()
    with pytest.raises(StoreError, match="no alembic_version table"):
        Registry(postgres_url, actor="t")


def test_make_engine_marks_only_unwritable_files_read_only(tmp_path: Path) -> None:
    from postpilot.store.engine import is_read_only

    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    assert not is_read_only(engine)
    engine.dispose()
    assert stat.S_IMODE((tmp_path / "p.db").stat().st_mode) & 0o200
