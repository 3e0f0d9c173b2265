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
            ("reference_chunk", "0"),  # the bands' source, for recomputing from the store
            ("reference_chunk", "1"),
            ("reference_chunk", "2"),
            ("analysis", "0"),
            ("analysis", "1"),
            ("analysis", "2"),
        ]
        assert Profile.from_bytes(chunks[4].profile).rows == 10_000
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


def test_history_is_recomputed_from_stored_profiles_alone(cli: Run, files: Path) -> None:
    cli("product", "create", "churn")
    ran = []
    for current, expect in (("clean.parquet", 0), ("current.csv", 1)):
        args = ["drift", str(files / "reference.parquet"), str(files / current)]
        ran.append(
            as_json(
                cli(*args, "--product", "churn", "--chunk-size", "10000", "-f", "json",
                    "--no-multivariate", expect=expect)
            )
        )  # fmt: skip
    for data in files.glob("*.*"):  # the data files: nothing left to re-read
        data.unlink()

    history = as_json(cli("drift-history", "--product", "churn", "-f", "json", expect=1))
    original = [c for run in ran for c in run["chunks"]]
    assert [c["key"] for c in history["chunks"]] == ["1/0", "1/1", "1/2", "2/0", "2/1", "2/2"]
    for i, (before, again) in enumerate(zip(original, history["chunks"], strict=True)):
        assert again["rows"] == before["rows"]
        # The history compares every chunk with the latest run's reference sketch: the
        # same statistics for that run's chunks; for the first run's chunks, within the
        # difference between two sketches of the same reference (KLL is randomised).
        tolerance = {"rel": 1e-12} if i >= 3 else {"abs": 0.005}
        assert [r["statistic"] for r in again["columns"]] == pytest.approx(
            [r["statistic"] for r in before["columns"]], **tolerance
        )
        assert [r["drifted"] for r in again["columns"]] == [r["drifted"] for r in before["columns"]]
    assert history["drifted_columns"] == DRIFTED

    # Re-test the same history with a looser threshold on one column: f0 no longer drifts.
    looser = as_json(
        cli("drift-history", "--product", "churn", "-f", "json", "--threshold", "f0=0.9",
            expect=1)
    )  # fmt: skip
    assert "f0" not in looser["drifted_columns"]


def test_history_of_a_product_without_runs_is_an_error(cli: Run) -> None:
    cli("product", "create", "churn")
    result = cli("drift-history", "--product", "churn", expect=2)
    assert "no stored drift runs" in result.stderr
