"""Reading labels from CSV and Parquet files: types kept, every bad row named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from postpilot import InputError
from postpilot.registry.label_files import LabelFile, read_label_file


def read(path: Path, label: str = "y") -> LabelFile:
    return read_label_file(path, id_column="id", label_column=label)


def test_csv_ids_stay_text_and_labels_keep_their_type(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("id,b,i,f,s\n007,true,1,0.1,yes\n8,false,-2,2,no\n")
    assert read(path, "b") == LabelFile(["007", "8"], [True, False])
    assert read(path, "i") == LabelFile(["007", "8"], [1, -2])
    assert read(path, "f") == LabelFile(["007", "8"], [0.1, 2.0])
    assert read(path, "s") == LabelFile(["007", "8"], ["yes", "no"])


def test_parquet_integer_ids_become_text(tmp_path: Path) -> None:
    path = tmp_path / "l.parquet"
    pl.DataFrame({"id": [1, 2], "y": [0.5, 1.5]}).write_parquet(path)
    assert read(path) == LabelFile(["1", "2"], [0.5, 1.5])


def test_gzipped_csv(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "l.csv.gz"
    path.write_bytes(gzip.compress(b"id,y\na,1\n"))
    assert read(path) == LabelFile(["a"], [1])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a,1\nb,NaN\n", "line 3 has the label nan in column 'y'"),
        ("a,1\n" + "x" * 201 + ",2\n", "line 3: the prediction id in 'id' has 201 characters"),
        ('a,1\n"",2\n', "line 3: the prediction id in 'id' is empty"),
    ],
)
def test_bad_csv_rows(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "l.csv"
    path.write_text("id,y\n" + body)
    with pytest.raises(InputError, match=message):
        read(path)


def test_unusable_columns(tmp_path: Path) -> None:
    path = tmp_path / "l.parquet"
    pl.DataFrame({"id": [1.5], "y": [1], "d": [date(2026, 1, 1)]}).write_parquet(path)
    with pytest.raises(InputError, match="the id column 'id' holds Float64"):
        read(path)
    pl.DataFrame({"id": ["a"], "d": [date(2026, 1, 1)]}).write_parquet(path)
    with pytest.raises(InputError, match="the label column 'd' holds Date"):
        read(path, "d")
    with pytest.raises(InputError, match="the id and label columns are both 'id'"):
        read(path, "id")
