"""Batch sources: files found once each in natural order, SQL rows read once each by watermark."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from postpilot.errors import InputError
from postpilot.monitoring.sources import (
    KEY_LENGTH,
    Batch,
    BatchSource,
    FileSource,
    GatewaySource,
    QuerySource,
    open_batch_source,
)
from postpilot.monitoring.watermark import dump_watermark, load_watermark
from postpilot.profiles import profile
from postpilot.profiles.sql import SQLSource

# -- files --------------------------------------------------------------------------------


def _parquet(path: Path, value: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"x": [value, value + 1]}).write_parquet(path)
    return path


def _csv(path: Path, value: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"x\n{value}\n{value + 1}\n", encoding="utf-8")
    return path


def _names(batches: list[Batch]) -> list[str]:
    return [Path(b.label).name for b in batches]


def test_a_folder_gives_its_parquet_and_csv_files_not_others_nor_sub_folders(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    _parquet(data / "b.parquet")
    _csv(data / "a.csv")
    _csv(data / "c.csv")
    (data / "notes.txt").write_text("not data", encoding="utf-8")
    (data / "_SUCCESS").write_text("", encoding="utf-8")
    _parquet(data / ".b.parquet.part")
    _parquet(data / "_tmp.parquet")
    _parquet(data / "sub" / "deeper.parquet")
    batches = FileSource(data).pending(done=(), watermark=None)
    assert _names(batches) == ["a.csv", "b.parquet", "c.csv"]
    for batch in batches:
        assert batch.data == batch.label == str((data / Path(batch.label).name).resolve())
        assert batch.watermark is None
        assert profile(batch.data).rows == 2  # what the readers take
    only_csv = FileSource(data, format="csv").pending(done=(), watermark=None)
    assert _names(only_csv) == ["a.csv", "c.csv"]
    assert _names(FileSource(data, format="parquet").pending((), None)) == ["b.parquet"]


def test_globs_match_one_folder_or_every_folder_below(tmp_path: Path) -> None:
    _parquet(tmp_path / "data" / "day1.parquet")
    _csv(tmp_path / "data" / "extra.csv")
    _csv(tmp_path / "data" / "2026" / "02" / "day10.csv")
    _csv(tmp_path / "data" / "2026" / "02" / "day9.csv")
    _csv(tmp_path / "data" / "2026" / "01" / "day1.csv")
    _csv(tmp_path / "data" / "_temporary" / "0" / "day3.csv")  # a writer's scratch folder
    top = FileSource("data/*.parquet", base_dir=tmp_path).pending((), None)
    assert _names(top) == ["day1.parquet"]
    deep = FileSource("data/**/*.csv", base_dir=tmp_path).pending((), None)
    assert [str(Path(b.label).relative_to(tmp_path / "data")) for b in deep] == [
        "2026/01/day1.csv",  # ordered by the whole path, naturally
        "2026/02/day9.csv",
        "2026/02/day10.csv",
        "extra.csv",
    ]


def test_a_glob_matching_nothing_is_no_new_data(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    assert FileSource(tmp_path / "data" / "*.parquet").pending((), None) == []
    assert FileSource(tmp_path / "data").pending((), None) == []


def test_a_single_file_is_one_batch_with_its_modification_time(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "scores.parquet")
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    (batch,) = FileSource(path).pending((), None)
    assert batch.key == f"{path.resolve()}|{path.stat().st_size}|1700000000123456789"
    assert batch.modified == datetime(2023, 11, 14, 22, 13, 20, 123457, tzinfo=UTC)
    assert FileSource(path).pending({batch.key}, None) == []


def test_a_named_file_that_is_not_there_yet_is_no_new_data(tmp_path: Path) -> None:
    assert FileSource(tmp_path / "tomorrow.parquet").pending((), None) == []


def test_files_come_in_natural_order(tmp_path: Path) -> None:
    for day in (10, 2, 1, 11, 20, 3):
        _parquet(tmp_path / f"day{day}.parquet")
    _parquet(tmp_path / "Day4.parquet")  # case does not decide before the number does
    batches = FileSource(tmp_path).pending((), None)
    assert _names(batches) == [
        "day1.parquet",
        "day2.parquet",
        "day3.parquet",
        "Day4.parquet",
        "day10.parquet",
        "day11.parquet",
        "day20.parquet",
    ]


def test_processed_files_are_skipped_and_new_ones_come(tmp_path: Path) -> None:
    source = FileSource(tmp_path)
    _parquet(tmp_path / "day1.parquet")
    _parquet(tmp_path / "day2.parquet")
    first = source.pending((), None)
    done = {b.key for b in first}
    assert source.pending(done, None) == []
    _parquet(tmp_path / "day3.parquet")
    assert _names(source.pending(done, None)) == ["day3.parquet"]
    assert _names(source.pending({first[0].key}, None)) == ["day2.parquet", "day3.parquet"]


def test_a_file_rewritten_in_place_is_a_new_batch(tmp_path: Path) -> None:
    path = _csv(tmp_path / "day1.csv", 1)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    (before,) = FileSource(path).pending((), None)
    _csv(path, 2)  # same size, new contents
    os.utime(path, ns=(1_000_000_000_000_000_001, 1_000_000_000_000_000_001))
    (after,) = FileSource(path).pending({before.key}, None)
    assert after.key != before.key
    assert after.label == before.label
    path.write_text("x\n1\n2\n3\n", encoding="utf-8")  # longer, same time
    os.utime(path, ns=(1_000_000_000_000_000_001, 1_000_000_000_000_000_001))
    assert len(FileSource(path).pending({before.key, after.key}, None)) == 1


def test_files_still_being_written_wait_for_the_next_pass(tmp_path: Path) -> None:
    old = _parquet(tmp_path / "day1.parquet")
    fresh = _parquet(tmp_path / "day2.parquet")
    an_hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(old, ns=(an_hour_ago, an_hour_ago))
    assert _names(FileSource(tmp_path, settle=60).pending((), None)) == ["day1.parquet"]
    assert _names(FileSource(tmp_path).pending((), None)) == ["day1.parquet", "day2.parquet"]
    os.utime(fresh, ns=(an_hour_ago, an_hour_ago))
    assert len(FileSource(tmp_path, settle=60).pending((), None)) == 2


@pytest.mark.parametrize(
    "path", ["nope/day1.parquet", "nope/*.parquet", "nope/**/*.csv", "nope", "nope/deeper/"]
)
def test_a_missing_folder_is_an_error_naming_the_path(tmp_path: Path, path: str) -> None:
    with pytest.raises(InputError, match="does not exist") as caught:
        FileSource(path, base_dir=tmp_path).pending((), None)
    assert caught.value.file == str(tmp_path / path.rstrip("/"))
    assert "nope" in str(caught.value)


def test_a_named_file_of_another_format_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("x\n1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'data.txt' is not a Parquet or CSV file"):
        FileSource(tmp_path / "data.txt").pending((), None)
    _csv(tmp_path / "data.csv")
    with pytest.raises(InputError, match=r"'data.csv' is not a parquet file"):
        FileSource(tmp_path / "data.csv", format="parquet").pending((), None)
    with pytest.raises(InputError, match="unknown file format 'xlsx'"):
        FileSource(tmp_path, format="xlsx")


def test_keys_fit_the_store_however_long_the_path(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a_rather_long_folder_name_" + str(i) for i in range(12)])
    _parquet(deep / "day1.parquet")
    _parquet(deep / "day2.parquet")
    batches = FileSource(deep).pending((), None)
    assert len(str(deep)) > 300
    assert all(len(b.key) <= 300 for b in batches)
    assert len({b.key for b in batches}) == 2


def test_relative_paths_are_read_from_the_policy_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _parquet(tmp_path / "policies" / "data" / "day1.parquet")
    _parquet(tmp_path / "data" / "elsewhere.parquet")
    spec = {"path": "data", "format": "auto", "timestamp": "ts", "chunk_period": "day"}
    source = open_batch_source(spec, base_dir=tmp_path / "policies")
    assert _names(source.pending((), None)) == ["day1.parquet"]
    monkeypatch.chdir(tmp_path)
    assert _names(open_batch_source(spec).pending((), None)) == ["elsewhere.parquet"]


# -- SQL ----------------------------------------------------------------------------------


def _int(i: int) -> Any:
    return i


def _naive(i: int) -> Any:
    return datetime(2026, 3, 1, 9) + timedelta(hours=i, microseconds=i)


def _aware(i: int) -> Any:
    zone = timezone(timedelta(hours=2 if i % 2 else -5))  # offsets vary, instants increase
    return (datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(hours=i)).astimezone(zone)


def _string(i: int) -> Any:
    return f"batch-{i:04d}"


def _float(i: int) -> Any:
    return i / 10


def _decimal(i: int) -> Any:
    return Decimal(i) / 4


def _date(i: int) -> Any:
    return date(2026, 3, 1) + timedelta(days=i)


WATERMARKS = {
    "int": (sa.Integer(), _int),
    "naive datetime": (sa.DateTime(), _naive),
    "aware datetime": (sa.DateTime(timezone=True), _aware),
    "string": (sa.String(20), _string),
    "float": (sa.Float(), _float),
    "decimal": (sa.Numeric(10, 2), _decimal),
    "date": (sa.Date(), _date),
}


class Table:
    """A real table to watch: ``add`` inserts rows by their watermark's index."""

    def __init__(self, url: str, kind: sa.types.TypeEngine[Any], make: Any) -> None:
        self.engine = sa.create_engine(url)
        self.make = make
        meta = sa.MetaData()
        self.table = sa.Table(
            "scores",
            meta,
            sa.Column("id", sa.Integer),
            sa.Column("score", sa.Float),
            sa.Column("Scored At", kind),  # a name that needs quoting on both backends
        )
        meta.create_all(self.engine)
        self.next_id = 0

    def add(self, *indices: int | None) -> list[int]:
        rows = []
        for i in indices:
            self.next_id += 1
            wm = None if i is None else self.make(i)
            if isinstance(wm, datetime) and wm.tzinfo and self.engine.dialect.name == "sqlite":
                wm = wm.astimezone(UTC)  # SQLite keeps no zone: its times share one
            rows.append({"id": self.next_id, "score": 0.5, "Scored At": wm})
        with self.engine.begin() as conn:
            conn.execute(self.table.insert(), rows)
        return [r["id"] for r in rows]


def _ids(batch: Batch) -> list[int]:
    assert isinstance(batch.data, SQLSource)
    frame = pl.concat(list(batch.data.frames(1000)))
    return sorted(frame["id"].to_list())


@pytest.fixture
def watched(request: pytest.FixtureRequest, database_url: str) -> Iterator[Table]:
    kind, make = WATERMARKS[request.param]
    table = Table(database_url, kind, make)
    try:
        yield table
    finally:
        table.engine.dispose()


@pytest.mark.parametrize("watched", list(WATERMARKS), indirect=True)
def test_sql_rows_come_once_each_in_watermark_order(watched: Table, database_url: str) -> None:
    source = open_batch_source(
        {"sql": {"url": database_url, "query": "SELECT * FROM scores", "watermark": "Scored At"}}
    )
    assert source.pending((), None) == []  # an empty table: nothing yet
    first_ids = watched.add(1, 3, 2)
    watched.add(None)  # never read: its watermark is NULL
    (first,) = source.pending((), None)
    assert _ids(first) == first_ids
    assert first.modified is None
    assert first.key.startswith("sql:")
    assert "Scored At <= " in first.label
    if database_url.startswith("postgresql"):  # the driver's own type, exactly
        assert load_watermark(first.watermark or "") == watched.make(3)
    # the second pass, with what the monitor stored: nothing
    assert source.pending({first.key}, first.watermark) == []
    assert source.pending((), first.watermark) == []
    # later rows come in the next batch, once; a late row AT the stored watermark never does
    later_ids = watched.add(5, 4)
    watched.add(3, None)
    (second,) = source.pending({first.key}, first.watermark)
    assert _ids(second) == later_ids
    assert second.key != first.key
    assert " in (" in second.label
    assert source.pending({first.key, second.key}, second.watermark) == []
    # a pass that died before storing the second batch reads the same rows again
    assert source.pending({first.key}, first.watermark) == [second]
    assert source.pending({second.key}, first.watermark) == []  # its key alone marks it done


@pytest.mark.postgres
def test_the_password_stays_out_of_labels_keys_and_errors(postgres_url: str) -> None:
    url = sa.engine.make_url(postgres_url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        user = conn.execute(sa.text("SELECT current_user")).scalar()
        conn.execute(sa.text("CREATE TABLE t (id integer)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    engine.dispose()
    secret = url.set(username=user, password="s3cr3t-pw").render_as_string(hide_password=False)
    plain = url.set(username=user).render_as_string(hide_password=False)
    spec = {"sql": {"url_env": "SCORES_DB", "query": "SELECT id FROM t", "watermark": "id"}}
    (batch,) = open_batch_source(spec, environ={"SCORES_DB": secret}).pending((), None)
    (same,) = open_batch_source(spec, environ={"SCORES_DB": plain}).pending((), None)
    assert batch.key == same.key  # a new password is the same source
    for text in (batch.key, batch.label, repr(batch), repr(batch.data)):
        assert "s3cr3t" not in text
    assert "s3cr3t" not in repr(open_batch_source(spec, environ={"SCORES_DB": secret}))
    refused = url.set(username=user, password="s3cr3t-pw", host="127.0.0.1", port=1)
    spec["sql"]["url_env"] = "DOWN"
    down = {"DOWN": refused.render_as_string(hide_password=False)}
    with pytest.raises(InputError, match="cannot connect to the database of the source") as caught:
        open_batch_source(spec, environ=down).pending((), None)
    assert "s3cr3t" not in str(caught.value)
    assert "***" in str(caught.value)


def test_an_unreachable_database_is_an_error_naming_the_source(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}"
    source = QuerySource(url, "SELECT 1 AS id", "id")
    with pytest.raises(InputError, match=r"cannot connect to the database of the source sqlite"):
        source.pending((), None)


def test_queries_with_ctes_comments_and_semicolons_in_strings_work(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER, note TEXT)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1, 'a;b'), (2, 'c'), (3, 'd')"))
    engine.dispose()
    query = "WITH kept AS (SELECT * FROM t WHERE note != ';') SELECT * FROM kept -- all of it"
    (batch,) = QuerySource(url, query, "id").pending((), None)
    assert _ids(batch) == [1, 2, 3]
    assert load_watermark(batch.watermark or "") == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT * FROM t;", "ends with a semicolon"),
        ("SELECT * FROM t; ", "ends with a semicolon"),
        ("SELECT 1; DROP TABLE t", "more than one statement"),
        ("DELETE FROM t", "must be a SELECT; it starts with 'DELETE'"),
        ("  ", "is empty"),
    ],
)
def test_queries_other_than_one_select_are_refused(query: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        QuerySource("sqlite://", query, "id")
    assert caught.value.field == "source.sql.query"


def test_a_watermark_column_the_query_lacks_is_named_with_the_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    source = QuerySource(url, "SELECT 1 AS id, 2 AS score", "scored_at")
    with pytest.raises(InputError, match=r"'scored_at' is not among the query's columns \(id, "):
        source.pending((), None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "neither a path nor a query"),
        ({"path": "a.csv", "sql": {}}, "both a path and a query"),
        ({"path": 3}, "source.path must be a string"),
        ({"sql": "SELECT 1"}, "source.sql must be a mapping"),
        ({"sql": {"url": "sqlite://", "query": "SELECT 1 AS id"}}, "watermark must be a string"),
        ({"sql": {"query": "SELECT 1 AS id", "watermark": "id"}}, "exactly one of"),
        (
            {"sql": {"url": "sqlite://", "query": "SELECT 1", "watermark": "id", "table": "t"}},
            r"unknown key\(s\) in source.sql: table",
        ),
        (
            {"sql": {"url_env": "NOT_SET", "query": "SELECT 1", "watermark": "id"}},
            "the environment variable NOT_SET",
        ),
        (
            {"sql": {"url": "nodb://x", "query": "SELECT 1", "watermark": "id"}},
            "not a usable SQLAlchemy database URL",
        ),
        ({"path": "a.csv", "gateway": True}, "both a path and the gateway"),
        ({"gateway": "yes"}, "source.gateway must be true"),
        ({"gateway": True}, "it needs the store and the product"),
    ],
)
def test_malformed_source_specs_are_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_batch_source(spec, environ={})


# -- watermarks ---------------------------------------------------------------------------

_VALUES = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.text(),
)


@given(_VALUES)
def test_a_watermark_reads_back_as_the_same_value_of_the_same_type(value: Any) -> None:
    back = load_watermark(dump_watermark(value))
    assert type(back) is type(value)
    assert str(back) == str(value)  # a Decimal keeps its digits, a float its bits
    if isinstance(value, datetime) and value.tzinfo is not None:
        # the same instant and offset (a zone's repeated hour is never == another zone's)
        assert isinstance(back, datetime)
        assert back.utcoffset() == value.utcoffset()
        assert back.replace(tzinfo=None) == value.replace(tzinfo=None)
    else:
        assert back == value


@pytest.mark.parametrize("value", [True, b"bytes", None, 1j])
def test_values_that_cannot_be_watermarks_are_refused(value: object) -> None:
    with pytest.raises(InputError, match="a watermark must be a number, a date"):
        dump_watermark(value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12",
        '{"type": "int"}',
        '{"type": "money", "value": "1"}',
        '{"type": "int", "value": "x"}',
    ],
)
def test_a_damaged_stored_watermark_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="watermark"):
        load_watermark(text)


# -- every source -------------------------------------------------------------------------


def _file_source(tmp_path: Path) -> BatchSource:
    _parquet(tmp_path / "day1.parquet")  # two rows
    _csv(tmp_path / "day2.csv").write_text("x\n3\n", encoding="utf-8")  # one row
    return FileSource(tmp_path)


def _query_source(tmp_path: Path) -> BatchSource:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER, x REAL)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1, 0.5), (2, 1.5), (3, 2.5)"))
    engine.dispose()
    return QuerySource(url, "SELECT id, x FROM t", "id")


def _gateway_source(tmp_path: Path) -> BatchSource:
    import json

    from postpilot import Registry
    from postpilot.store.models import PredictionRow, ProductRow

    reg = Registry(f"sqlite:///{tmp_path / 'pp.db'}", actor="t@example.com")
    reg.create_product("churn")
    at = datetime.now(UTC) - timedelta(minutes=5)
    with reg.store.transaction() as session:
        product = session.scalar(sa.select(ProductRow.id).where(ProductRow.slug == "churn"))
        session.execute(
            sa.insert(PredictionRow),
            [
                {
                    "id": f"pr_{int(at.timestamp() * 1e9) + i * 1000:016x}{i:016x}",
                    "request_id": "rq",
                    "product_id": product,
                    "model": "churn",
                    "version": 1,
                    "consumer": "crm",
                    "key_id": "k",
                    "inputs": json.dumps({"x": x}),
                    "output": json.dumps({"prediction": x > 1}),
                    "served_by": "primary",
                    "latency_ms": 3.0,
                    "created_at": at + timedelta(microseconds=i),
                }
                for i, x in enumerate([0.5, 1.5, 2.5])
            ],
        )
    return GatewaySource(reg.store.reading, "churn")


@pytest.mark.parametrize(
    "make", [_file_source, _query_source, _gateway_source], ids=["files", "sql", "gateway"]
)
def test_every_source_keeps_the_batch_contract(make: Any, tmp_path: Path) -> None:
    """What the monitor relies on: readable batches with unique short keys, and nothing
    pending once their keys and the last watermark are stored."""
    source = make(tmp_path)
    batches = source.pending((), None)
    assert batches
    assert len({b.key for b in batches}) == len(batches)
    assert all(0 < len(b.key) <= KEY_LENGTH for b in batches)
    assert sum(profile(b.data).rows for b in batches) == 3
    assert source.pending((), None) == batches  # listing changes nothing
    watermark = batches[-1].watermark
    assert source.pending({b.key for b in batches}, watermark) == []
    source.close()
