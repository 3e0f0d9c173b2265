"""How ``--engine spark`` tells a table from a path, and a path's format."""

from __future__ import annotations

from pathlib import Path

import pytest

from postpilot.errors import InputError
from postpilot.spark.session import _format, is_table, spark_error


@pytest.mark.parametrize("name", ["events", "db.events", "main.sales.orders_2026"])
def test_a_name_without_slash_or_suffix_is_a_table(name: str) -> None:
    assert is_table(name)


@pytest.mark.parametrize(
    "path",
    ["s3a://lake/events/", "/data/day.parquet", "day.parquet", "day.csv", "C:\\data", "./x"],
)
def test_paths_and_file_names_are_not_tables(path: str) -> None:
    assert not is_table(path)


def test_an_existing_local_name_is_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events").mkdir()
    assert not is_table("events")


def test_the_format_comes_from_the_option_the_suffix_or_a_delta_log(tmp_path: Path) -> None:
    assert _format("s3a://b/x.csv", "parquet") == "parquet"
    assert _format("s3a://b/x.tsv", None) == "csv"
    assert _format("s3a://b/part.pq", None) == "parquet"
    assert _format("s3a://b/events.jsonl", None) == "json"
    assert _format("s3a://b/events/", None) == "parquet"
    (tmp_path / "_delta_log").mkdir()
    assert _format(str(tmp_path), None) == "delta"
    with pytest.raises(InputError, match="unknown Spark format 'avro'") as caught:
        _format("x", "avro")
    assert caught.value.field == "spark_format"


def test_an_executors_error_is_its_last_line_without_the_class_path() -> None:
    text = "Traceback (most recent call last):\n  File ...\npostpilot.errors.InputError: bad"
    assert spark_error(RuntimeError(text)) == "bad"
    assert spark_error(RuntimeError("[PATH_NOT_FOUND] no\nmore")) == "[PATH_NOT_FOUND] no"
