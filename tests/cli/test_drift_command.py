from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def test_html_when_the_only_drift_is_a_type_change(cli: Run, tmp_path: Path) -> None:
    # found by the fuzz suite: the summary's "look first at" took the worst statistic,
    # and a column that drifted by changing type has none (an IndexError, exit 3)
    (tmp_path / "reference.csv").write_text("code,x\n" + "a,1\nb,2\n" * 20)
    (tmp_path / "current.csv").write_text("code,x\n" + "1.5,1\n2.5,2\n" * 20)
    out = tmp_path / "report.html"
    cli(
        "drift",
        str(tmp_path / "reference.csv"),
        str(tmp_path / "current.csv"),
        "-f",
        "html",
        "-o",
        str(out),
        expect=1,
    )
    page = out.read_text()
    assert "1 column(s) drifted" in page
    assert "Look first at <b>code</b>: string in the reference but float in the current" in page


def test_results_are_stored_per_product(
    cli: Run, files: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _create_churn(database_url, monkeypatch)
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
    with Registry(database_url) as reg:
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


# --- issue 13/14: every option reaches the code; bad input is one line, exit 2 -------


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """2,000-row planted files (fast), plus the odd files people have."""
    import polars as pl

    reference = frame(2_000, 1)
    reference.write_parquet(tmp_path / "ref.parquet")
    frame(2_000, 2, drift=True).write_parquet(tmp_path / "drifted.parquet")
    frame(2_000, 3).write_parquet(tmp_path / "clean.parquet")
    reference.head(0).write_parquet(tmp_path / "empty.parquet")
    pl.DataFrame().write_parquet(tmp_path / "nocolumns.parquet")
    pl.DataFrame({"q": [1.0, 2.0, 3.0]}).write_parquet(tmp_path / "other.parquet")
    reference.with_columns(pl.lit(None, dtype=pl.Float64).alias("f3")).write_parquet(
        tmp_path / "null_f3.parquet"
    )
    reference.with_columns(pl.col("f3").cast(pl.String)).write_parquet(tmp_path / "str_f3.parquet")
    reference.drop("i2").write_parquet(tmp_path / "no_i2.parquet")
    return tmp_path


def _one_error_line(result: Any, *needles: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize(
    ("current", "args", "needles"),
    [
        ("empty.parquet", [], ["has no rows", "empty.parquet"]),
        ("nocolumns.parquet", [], ["has no columns", "nocolumns.parquet"]),
        ("other.parquet", [], ["no column in common", "f0", "q"]),
        ("clean.parquet", ["--columns", "ts", "--timestamp", "ts"], ["no column could", "ts"]),
        ("clean.parquet", ["--columns", "nope"], ["'nope'", "(--columns)"]),
        ("clean.parquet", ["--columns", "f0,f0"], ["twice", "(--columns)"]),
        ("clean.parquet", ["--test", "nope=ks"], ["'nope'", "(--test)"]),
        ("clean.parquet", ["--test", "f0=nosuch"], ["unknown drift test", "(--test)"]),
        ("clean.parquet", ["--test", "c0=ks"], ["categorical", "(--test)"]),
        ("clean.parquet", ["--threshold", "nope=0.1"], ["'nope'", "(--threshold)"]),
        ("clean.parquet", ["--threshold", "f0=nan"], ["finite", "(--threshold)"]),
        ("clean.parquet", ["--threshold", "f0=-1"], ["(--threshold)"]),
        ("clean.parquet", ["--test", "f0=ks", "--threshold", "f0=2"], ["p-value", "(--threshold)"]),
        ("clean.parquet", ["--chunk-size", "0"], ["(--chunk-size)"]),
        ("clean.parquet", ["--chunk-size", "-5"], ["(--chunk-size)"]),
        ("clean.parquet", ["--chunk-size", "99999999999999999999999"], ["(--chunk-size)"]),
        ("clean.parquet", ["--chunk-number", "0"], ["(--chunk-number)"]),
        ("clean.parquet", ["--chunk-number", "5000"], ["(--chunk-number)"]),
    ],
)
def test_unusable_input_or_options_are_one_error_line(
    cli: Run, small: Path, current: str, args: list[str], needles: list[str]
) -> None:
    result = cli("drift", str(small / "ref.parquet"), str(small / current), *args, expect=2)
    _one_error_line(result, *needles)
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("current", "column", "change", "severity"),
    [
        ("null_f3.parquet", "f3", "all_null", "drift"),
        ("str_f3.parquet", "f3", "type_change", "severe"),
        ("no_i2.parquet", "i2", "missing", "drift"),
    ],
)
def test_a_column_left_out_is_drift(
    cli: Run, small: Path, current: str, column: str, change: str, severity: str
) -> None:
    args = ["drift", str(small / "ref.parquet"), str(small / current), "-f", "json"]
    data = as_json(cli(*args, "--no-multivariate", expect=1))
    assert data["drifted_columns"] == [column]
    assert [(c["column"], c["change"], c["severity"]) for c in data["schema_changes"]] == [
        (column, change, severity)
    ]
    assert column in data["settings"]["skipped_columns"]
    table = cli(*args[:3], "--no-multivariate", expect=1).stdout
    assert f"DRIFT schema: {column}" in table


def test_a_new_column_alone_is_reported_not_counted(cli: Run, small: Path) -> None:
    args = ["drift", str(small / "no_i2.parquet"), str(small / "ref.parquet"), "-f", "json"]
    data = as_json(cli(*args, "--no-multivariate"))
    assert data["drifted_columns"] == []
    assert [(c["column"], c["change"]) for c in data["schema_changes"]] == [("i2", "new_column")]


def test_chunk_number_makes_that_many_chunks_on_both_sides(cli: Run, small: Path) -> None:
    data = as_json(
        cli("drift", str(small / "ref.parquet"), str(small / "ref.parquet"), "-f", "json",
            "--chunk-number", "7", "--no-multivariate")
    )  # fmt: skip
    assert len(data["chunks"]) == 7
    assert len(data["reference_chunks"]) == 7
    assert sum(c["rows"] for c in data["chunks"]) == 2_000
    assert {c["rows"] for c in data["chunks"]} <= {285, 286}


@pytest.mark.parametrize(
    "chunking", [[], ["--chunk-size", "10"], ["--chunk-number", "3"], ["--chunk-size", "150"]]
)
@pytest.mark.parametrize("kind", ["small", "categorical", "constant", "planted"])
def test_a_file_compared_with_itself_never_alerts(
    cli: Run, tmp_path: Path, kind: str, chunking: list[str]
) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(5)
    if kind == "small":
        data = pl.DataFrame({"x": rng.normal(size=12), "y": rng.integers(0, 3, 12)})
    elif kind == "categorical":
        data = pl.DataFrame(
            {f"c{i}": rng.choice(["a", "b", "c", "d"], 600, p=[0.7, 0.2, 0.09, 0.01])
             for i in range(8)} | {"n": np.sort(rng.normal(size=600))}
        )  # fmt: skip
    elif kind == "constant":
        data = pl.DataFrame({"k": [1.0] * 300, "s": ["x"] * 300, "t": np.arange(300.0)})
    else:
        data = frame(3_000, 1)
    path = tmp_path / "data.parquet"
    data.write_parquet(path)
    result = as_json(
        cli("drift", str(path), str(path), "-f", "json", "--no-multivariate", *chunking)
    )
    assert result["drifted_columns"] == []


def test_columns_test_threshold_and_no_multivariate_reach_the_run(cli: Run, small: Path) -> None:
    args = ["drift", str(small / "ref.parquet"), str(small / "drifted.parquet"), "-f", "json"]
    full = as_json(cli(*args, expect=1))
    assert full["chunks"][0]["multivariate"] is not None
    picked = as_json(
        cli(*args, "--columns", "f0,c0", "--test", "f0=psi", "--threshold", "c0=0.9",
            "--no-multivariate", expect=1)
    )  # fmt: skip
    by_column = {c["column"]: c for c in picked["chunks"][0]["columns"]}
    assert list(by_column) == ["f0", "c0"]
    assert by_column["f0"]["test"] == "psi"
    assert by_column["c0"]["threshold"] == 0.9
    assert picked["chunks"][0]["multivariate"] is None
    assert picked["drifted_columns"] == ["f0"]


def test_chunk_size_period_and_timestamp_reach_the_run(cli: Run, small: Path) -> None:
    args = ["drift", str(small / "ref.parquet"), str(small / "ref.parquet"), "-f", "json"]
    sized = as_json(cli(*args, "--chunk-size", "500", "--no-multivariate"))
    assert [c["rows"] for c in sized["chunks"]] == [500] * 4
    weekly = as_json(cli(*args, "--chunk-period", "week", "--timestamp", "ts", "--no-multivariate"))
    assert [c["key"] for c in weekly["chunks"]] == ["2026-01-05", "2026-01-12"]
    assert all(r["column"] != "ts" for c in weekly["chunks"] for r in c["columns"])


def test_the_table_names_decisions_and_alerts_in_plain_text(cli: Run, small: Path) -> None:
    table = cli(
        "drift", str(small / "ref.parquet"), str(small / "drifted.parquet"), "--no-multivariate",
        "--test", "f0=ks", expect=1,
    ).stdout  # fmt: skip
    assert "DRIFT: 5 column(s) drifted: f0, f1, i0, c0, c1" in table
    assert "Holm" in table  # p-value tests show p and the adjusted p against the level
    f0 = next(line for line in table.splitlines() if "│ f0 " in line)
    assert "DRIFT" in f0
    assert "p=" in f0
    assert "< 0.05" in f0


def _create_churn(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at ``database_url`` and create the product there (through the API:
    the registry commands are not this module's subject)."""
    monkeypatch.setenv("POSTPILOT_DATABASE_URL", database_url)
    with Registry(database_url) as reg:
        reg.create_product("churn")


def _stored(database_url: str) -> tuple[int, int]:
    with Registry(database_url) as reg:
        return len(reg.monitoring_runs("churn", kind="drift")), len(reg.audit_log())


def test_an_unwritable_output_stores_nothing(
    cli: Run, small: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _create_churn(database_url, monkeypatch)
    before = _stored(database_url)
    args = ["drift", str(small / "ref.parquet"), str(small / "clean.parquet"), "--product", "churn"]
    result = cli(*args, "-o", str(small / "nope" / "x.json"), "-f", "json", expect=2)
    _one_error_line(result, "(--output)")
    result = cli(*args, "-o", str(small / "ref.parquet"), expect=2)
    _one_error_line(result, "also an input", "(--output)")
    assert _stored(database_url) == before
    out = small / "report.json"
    cli(*args, "-o", str(out), "-f", "json", "--no-multivariate")
    assert json.loads(out.read_text())["drifted_columns"] == []
    assert _stored(database_url) == (before[0] + 1, before[1] + 1)
    assert [p.name for p in small.glob(".*.tmp")] == []


def test_history_across_a_schema_change_compares_what_runs_share(
    cli: Run, small: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import polars as pl

    _create_churn(database_url, monkeypatch)
    base = ["--product", "churn", "--no-multivariate", "--chunk-size", "1000", "-f", "json"]
    cli("drift", str(small / "ref.parquet"), str(small / "ref.parquet"), *base)
    renamed = small / "renamed_ref.parquet"  # the migration: f5 is now q, f4 a string
    pl.read_parquet(small / "ref.parquet").rename({"f5": "q"}).with_columns(
        pl.col("f4").cast(pl.String)
    ).write_parquet(renamed)
    cli("drift", str(renamed), str(renamed), *base)

    history = as_json(cli("drift-history", "--product", "churn", "-f", "json"))
    assert len(history["chunks"]) == 4
    first_run = history["chunks"][0]["columns"]
    assert {r["column"] for r in first_run} >= {"f0", "c0"}
    assert "q" not in {r["column"] for r in first_run}  # the old chunks have no q
    changes = {(c["column"], c["change"]) for c in history["schema_changes"]}
    assert ("q", "missing") in changes  # q is not in the first run's chunks
    assert ("f5", "new_column") in changes  # f5 is only in the first run's chunks
    assert ("f4", "type_change") in changes
    assert history["drifted_columns"] == []

    out = small / "history.json"
    again = cli("drift-history", "--product", "churn", "-f", "json", "-o", str(out),
                "--test", "f0=psi", "--threshold", "f0=0.5")  # fmt: skip
    assert again.stdout.startswith("wrote")
    data = json.loads(out.read_text())
    f0 = [r for c in data["chunks"] for r in c["columns"] if r["column"] == "f0"]
    assert {r["test"] for r in f0} == {"psi"}
    assert {r["threshold"] for r in f0} == {0.5}
