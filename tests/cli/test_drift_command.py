from __future__ import annotations

from pathlib import Path

import pytest

from postpilot import Registry
from postpilot.profiles import Profile
from tests.helpers import Run, as_json
from tests.monitoring.planted import DRIFTED, frame


@pytest.fixture
def files(tmp_path: Path) -> Path:
    frame(30_000, 1).write_parquet(tmp_path / "reference.parquet")
    frame(30_000, 2, drift=True).write_csv(tmp_path / "current.csv")
    frame(30_000, 3).write_parquet(tmp_path / "clean.parquet")
    return tmp_path


def test_json_exit_codes_and_shape(cli: Run, files: Path) -> None:
    drifted = as_json(
        cli(
            "drift",
            str(files / "reference.parquet"),
            str(files / "current.csv"),
            "--format",
            "json",
            "--no-multivariate",
            expect=1,
        )
    )
    assert drifted["drifted_columns"] == DRIFTED
    chunk = drifted["chunks"][0]
    assert chunk["rows"] == 30_000
    assert chunk["multivariate"] is None
    clean = as_json(
        cli(
            "drift",
            str(files / "reference.parquet"),
            str(files / "clean.parquet"),
            "-f",
            "json",
            "--chunk-size",
            "10000",
        )
    )
    assert clean["drifted_columns"] == []
    assert len(clean["chunks"]) == 3
    assert clean["chunks"][0]["multivariate"]["alert"] is False


def test_table_and_html(cli: Run, files: Path) -> None:
    table = cli(
        "drift", str(files / "reference.parquet"), str(files / "current.csv"), expect=1
    ).stdout
    assert "5 column(s) drifted" in table
    out = files / "report.html"
    cli(
        "drift",
        str(files / "reference.parquet"),
        str(files / "current.csv"),
        "-f",
        "html",
        "-o",
        str(out),
        "--chunk-size",
        "10000",
        expect=1,
    )
    page = out.read_text()
    assert page.startswith("<!doctype html>")
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page
    assert "5 column(s) drifted" in page
    assert "Look first at" in page
    assert page.count("<svg") >= len(DRIFTED)


def test_results_are_stored_per_product(cli: Run, files: Path) -> None:
    cli("product", "create", "churn")
    cli(
        "drift",
        str(files / "reference.parquet"),
        str(files / "clean.parquet"),
        "--product",
        "churn",
        "--chunk-size",
        "10000",
        "-f",
        "json",
    )
    cli(
        "drift",
        str(files / "reference.parquet"),
        str(files / "current.csv"),
        "--product",
        "churn",
        "-f",
        "json",
        expect=1,
    )
    with Registry() as reg:
        runs = reg.monitoring_runs("churn", kind="drift")
        assert [r.alert for r in runs] == [False, True]
        assert runs[1].result["drifted_columns"] == DRIFTED
        chunks = reg.monitoring_chunks(runs[0].id)
        assert [(c.period, c.key) for c in chunks] == [
            ("reference", "all"),
            ("analysis", "0"),
            ("analysis", "1"),
            ("analysis", "2"),
        ]
        assert Profile.from_bytes(chunks[1].profile).rows == 10_000
        assert reg.audit_log(product="churn")[-1].action == "monitoring.drift"


def test_unusable_input_is_one_line_and_exit_2(cli: Run, files: Path) -> None:
    result = cli("drift", str(files / "nope.parquet"), str(files / "clean.parquet"), expect=2)
    assert result.stderr.startswith("error: ")
    assert "nope.parquet" in result.stderr
    bad = cli(
        "drift",
        str(files / "reference.parquet"),
        str(files / "clean.parquet"),
        "--threshold",
        "f0=high",
        expect=2,
    )
    assert "(--threshold)" in bad.stderr
    period = cli(
        "drift",
        str(files / "reference.parquet"),
        str(files / "clean.parquet"),
        "--chunk-period",
        "week",
        expect=2,
    )
    assert "(--timestamp)" in period.stderr
    unknown = cli(
        "drift",
        str(files / "reference.parquet"),
        str(files / "clean.parquet"),
        "--product",
        "nope",
        expect=2,
    )
    assert "no product 'nope'" in unknown.stderr
