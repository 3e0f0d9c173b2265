"""Profiling a SQL query through SQLAlchemy, on a real SQLite file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from postpilot.errors import InputError
from postpilot.profiles import CategoricalColumn, NullColumn, NumericColumn, SQLSource, profile
from postpilot.profiles import profiler as profiler_module

from .helpers import assert_moments_close, exact_parts


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE orders (id INTEGER, amount REAL, channel TEXT, note TEXT, "
                "placed TIMESTAMP)"
            )
        )
        conn.execute(
            sa.text("INSERT INTO orders VALUES (:id, :amount, :channel, :note, :placed)"),
            [
                {
                    "id": i,
                    "amount": None if i % 7 == 0 else i * 1.5,
                    "channel": ["web", "app", None][i % 3],
                    "note": None if i < 900 else f"n{i}",
                    "placed": dt.datetime(2024, 1, 1) + dt.timedelta(hours=i),
                }
                for i in range(1_000)
            ],
        )
    engine.dispose()
    return url


def test_query_matches_the_same_rows_in_polars(database: str) -> None:
    source = SQLSource(database, "SELECT id, amount, channel, note FROM orders")
    got = profile(source, batch_size=128)
    frame = pl.DataFrame(
        {
            "id": range(1_000),
            "amount": [None if i % 7 == 0 else i * 1.5 for i in range(1_000)],
            "channel": [["web", "app", None][i % 3] for i in range(1_000)],
            "note": [None if i < 900 else f"n{i}" for i in range(1_000)],
        }
    )
    want = profile(frame)
    assert got.columns == ("id", "amount", "channel", "note")
    assert exact_parts(got) == exact_parts(want)
    assert_moments_close(got, want)


def test_query_is_read_in_batches(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = profiler_module.summarize

    def counting(batch: pl.DataFrame) -> object:
        calls.append(batch.height)
        return real(batch)

    monkeypatch.setattr(profiler_module, "summarize", counting)
    p = profile(SQLSource(database, "SELECT id FROM orders"), batch_size=300)
    assert calls == [300, 300, 300, 100]
    assert p.rows == 1_000


def test_params_columns_and_an_engine(database: str) -> None:
    engine = sa.create_engine(database)
    try:
        source = SQLSource(engine, "SELECT * FROM orders WHERE id < :n", {"n": 10})
        p = profile(source, columns=["amount", "id"])
        assert (p.rows, p.columns) == (10, ("amount", "id"))
        amount = p.column("amount")
        assert isinstance(amount, NumericColumn)
        assert (amount.nulls, amount.max) == (2, 13.5)
        with engine.connect() as conn:  # the caller's engine is left usable
            assert conn.execute(sa.text("SELECT count(*) FROM orders")).scalar() == 1_000
    finally:
        engine.dispose()


def test_empty_result_keeps_the_columns(database: str) -> None:
    p = profile(SQLSource(database, "SELECT id, channel FROM orders WHERE id < 0"))
    assert (p.rows, p.columns) == (0, ("id", "channel"))
    assert all(isinstance(c, NullColumn) for c in p)


def test_all_null_first_batches_then_values(database: str) -> None:
    p = profile(SQLSource(database, "SELECT note FROM orders ORDER BY id"), batch_size=100)
    note = p.column("note")
    assert isinstance(note, CategoricalColumn)
    assert (note.rows, note.nulls, note.count) == (1_000, 900, 100)


def test_timestamps_from_sqlite_text_stay_strings(database: str) -> None:
    """SQLite returns its TIMESTAMPs as text to a text() query: profiled as strings."""
    p = profile(SQLSource(database, "SELECT placed FROM orders"))
    assert p.column("placed").type == "string"


def test_bad_query_names_the_query(database: str) -> None:
    with pytest.raises(InputError) as info:
        profile(SQLSource(database, "SELECT nope FROM orders"))
    assert info.value.field == "query"
    assert "nope" in str(info.value)
    assert "\n" not in str(info.value)


def test_mixed_types_in_a_column_name_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (v)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1), ('one')"))
    engine.dispose()
    with pytest.raises(InputError) as info:
        profile(SQLSource(url, "SELECT v FROM t"))
    assert info.value.field == "v"


def test_duplicate_column_names_are_rejected(database: str) -> None:
    with pytest.raises(InputError) as info:
        profile(SQLSource(database, "SELECT id, id FROM orders"))
    assert info.value.field == "id"


@pytest.mark.parametrize("url", ["not a url", "nosuchdialect://host/db"])
def test_bad_url(url: str) -> None:
    with pytest.raises(InputError) as info:
        profile(SQLSource(url, "SELECT 1"))
    assert info.value.field == "url"


def test_unreachable_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    with pytest.raises(InputError) as info:
        profile(SQLSource(url, "SELECT 1"))
    assert info.value.field == "url"


def test_password_is_hidden() -> None:
    source = SQLSource("postgresql+psycopg://maya:s3cret@db.example/sales", "SELECT 1")
    assert "s3cret" not in repr(source)
    assert "maya:***@db.example" in repr(source)


def test_type_changes_between_batches(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER, widens, breaks)"))
        rows = [{"id": i, "widens": i, "breaks": i} for i in range(8)]
        rows += [{"id": 8, "widens": 2.5, "breaks": "eight"}]  # alone in the third batch
        conn.execute(sa.text("INSERT INTO t VALUES (:id, :widens, :breaks)"), rows)
    engine.dispose()
    p = profile(SQLSource(url, "SELECT widens FROM t ORDER BY id"), batch_size=4)
    widens = p.column("widens")
    assert isinstance(widens, NumericColumn)
    assert (widens.type, widens.min, widens.max, widens.moments.count) == ("float", 0, 7, 9)
    with pytest.raises(InputError) as info:
        profile(SQLSource(url, "SELECT breaks FROM t ORDER BY id"), batch_size=4)
    assert info.value.field == "breaks"
    assert "int" in str(info.value)
    assert "string" in str(info.value)
