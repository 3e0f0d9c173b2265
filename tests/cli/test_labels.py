"""``postpilot labels``: ingest CSV and Parquet files of labels, and count them."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from postpilot import Registry
from tests.helpers import Run, as_json


@pytest.fixture
def churn(cli: Run) -> Run:
    cli("product", "create", "churn")
    return cli


def ingest(cli: Run, path: Path, *extra: str, expect: int = 0, label: str = "churned") -> str:
    result = cli(
        "labels",
        "ingest",
        str(path),
        "--product",
        "churn",
        "--id-column",
        "pred_id",
        "--label-column",
        label,
        *extra,
        expect=expect,
    )
    if expect:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        return lines[0]
    return result.stdout


def count(cli: Run) -> int:
    return int(as_json(cli("labels", "count", "--product", "churn", "-f", "json"))["count"])


def test_csv_then_parquet(churn: Run, tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "pred_id": [f"{i:06d}" for i in range(50_000)],
            "churned": [i % 3 == 0 for i in range(50_000)],
            "revenue": [i * 0.1 for i in range(50_000)],
        }
    )
    frame.head(25_000).write_csv(tmp_path / "labels.csv")
    out = ingest(churn, tmp_path / "labels.csv")
    assert out.strip() == "ingested 25,000 labels for churn: 25,000 new, 0 updated, 0 unchanged"
    frame.write_parquet(tmp_path / "labels.parquet")
    out = ingest(churn, tmp_path / "labels.parquet")
    assert out.strip() == (
        "ingested 50,000 labels for churn: 25,000 new, 0 updated, 25,000 unchanged"
    )
    assert churn("labels", "count", "--product", "churn").stdout.strip() == (
        "churn has 50,000 labels"
    )
    assert count(churn) == 50_000
    with Registry() as reg:
        stored = reg.labels("churn", ["000000", "000001", "049999"])
    assert stored == {"000000": True, "000001": False, "049999": False}  # ids keep their zeros


def test_json_output_and_updated_values(churn: Run, tmp_path: Path) -> None:
    path = tmp_path / "revenue.csv"
    path.write_text("pred_id,revenue\na,1.5\nb,2\nc,0.1\n")
    ingest(churn, path, label="revenue")
    path.write_text("pred_id,revenue\na,1.5\nb,3\nd,4\n")
    result = as_json(
        churn(
            "labels",
            "ingest",
            str(path),
            "--product",
            "churn",
            "--id-column",
            "pred_id",
            "--label-column",
            "revenue",
            "-f",
            "json",
        )
    )
    assert result == {"product": "churn", "received": 3, "new": 1, "updated": 1, "unchanged": 1}
    assert as_json(churn("labels", "count", "--product", "churn", "--format", "json")) == {
        "product": "churn",
        "count": 4,
    }
    with Registry() as reg:
        assert reg.labels("churn") == {"a": 1.5, "b": 3.0, "c": 0.1, "d": 4.0}


def test_a_missing_column_is_named_with_the_columns_there(churn: Run, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("a,b,c\n1,2,3\n")
    line = ingest(churn, path, expect=2)
    assert line == f"error: {path} has no column 'pred_id'; columns: a, b, c"
    assert count(churn) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("p1,true\n,false\np3,true\n", "line 3 has no prediction id in column 'pred_id'"),
        ("p1,true\np2,false\np3,\n", "line 4 has no label in column 'churned'"),
        ("p1,1\np2,2\np3,3\np2,2\np1,1\n", "has prediction id 'p2' on lines 3 and 5"),
    ],
)
def test_a_bad_csv_row_is_named_by_its_line(
    churn: Run, tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("pred_id,churned\n" + body)
    line = ingest(churn, path, expect=2)
    assert line.startswith(f"error: {path} {message}")
    assert count(churn) == 0


def test_a_bad_parquet_row_is_named_by_its_number(churn: Run, tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    pl.DataFrame({"pred_id": ["a", "b", "c"], "churned": [1.0, None, 2.0]}).write_parquet(path)
    line = ingest(churn, path, expect=2)
    assert line.startswith(f"error: {path} row 2 has no label in column 'churned'")
    pl.DataFrame({"pred_id": ["a", "b", "a"], "churned": [1, 2, 3]}).write_parquet(path)
    assert "has prediction id 'a' on rows 1 and 3" in ingest(churn, path, expect=2)
    assert count(churn) == 0


def test_unusable_inputs(churn: Run, tmp_path: Path) -> None:
    assert ingest(churn, tmp_path / "none.csv", expect=2) == (
        f"error: {tmp_path / 'none.csv'} does not exist"
    )
    (tmp_path / "labels.json").write_text("{}")
    assert "cannot tell the format" in ingest(churn, tmp_path / "labels.json", expect=2)
    (tmp_path / "broken.parquet").write_text("not parquet")
    assert "broken.parquet cannot be read" in ingest(churn, tmp_path / "broken.parquet", expect=2)
    path = tmp_path / "labels.csv"
    path.write_text("pred_id,churned\np1,true\n")
    line = churn(
        "labels",
        "ingest",
        str(path),
        "--product",
        "nope",
        "--id-column",
        "pred_id",
        "--label-column",
        "churned",
        expect=2,
    ).stderr
    assert line.startswith("error: no product 'nope'")
    assert count(churn) == 0
