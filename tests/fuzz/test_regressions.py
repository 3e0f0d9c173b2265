"""Every case issue 14 names, as a deterministic test named after it.

Each runs the command as a user would (in-process, in its own folder) through
:func:`tests.fuzz.promise.run`, which also checks the whole promise: exit 0/1/2, no
traceback, one ``error:`` line on exit 2, valid JSON, and nothing stored or written
after a failure. The assertions here add what the issue's "Deliver" asks of the case.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy import text
from typer.testing import Result

from tests.fuzz.promise import RUNNER, run
from tests.helpers import CliStore
from tests.realdata import penguins_raw

P = "churn"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def churn(cli_store: CliStore, work: Path) -> CliStore:
    """A store (each backend) with a person and the product ``churn``."""
    for args in (
        ["person", "add", "maya@example.com", "--name", "Maya Chen"],
        ["product", "create", P, "--owner", "maya@example.com"],
    ):
        assert run(args, store=cli_store, work=work).exit_code == 0
    return cli_store


def error(result: Result, *words: str) -> str:
    """The one error line of an exit-2 result, holding each of ``words``."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    line = result.stderr.strip()
    for word in words:
        assert word in line, (word, line)
    return line


def numbers(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {"a": rng.normal(0, 1, n), "b": rng.normal(5, 2, n), "c": rng.integers(0, 9, n)}
    )


def binary(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    score = 1 / (1 + np.exp(-2 * x))
    return pl.DataFrame(
        {
            "x": x,
            "score": score,
            "pred": (score >= 0.5).astype(int),
            "y": (rng.random(n) < score).astype(int),
        }
    )


ESTIMATE = ["--problem", "binary", "--y-true", "y", "--y-pred", "pred", "--y-pred-proba"]


def estimate(reference: str, analysis: str, *extra: str, store: CliStore | None = None) -> Result:
    return run(
        [
            "estimate",
            "--reference",
            reference,
            "--analysis",
            analysis,
            *ESTIMATE,
            "score",
            "--metric",
            "roc_auc",
            "-f",
            "json",
            *extra,
        ],
        store=store,
    )


# --- tracebacks: user text as markup ----------------------------------------------------


@pytest.mark.parametrize("name", ["[/]", "[bold red]x[/bold red]"])
def test_person_named_like_markup_shows_as_typed_in_every_table(churn: CliStore, name: str) -> None:
    run(["person", "add", "odd@example.com", "--name", name], store=churn)
    run(["role", "assign", P, "training_lead", "odd@example.com"], store=churn)
    for args in (["person", "list"], ["product", "show", P], ["audit", "log"]):
        result = run(args, store=churn)
        assert result.exit_code == 0
        assert name in result.stdout, args
    out = run(["person", "deactivate", "odd@example.com"], store=churn).stdout
    assert name in out


def test_markup_column_name_is_shown_as_typed_not_styled(work: Path) -> None:
    name = "[bold red]x[/bold red]"
    numbers(200, 1).rename({"a": name}).write_csv("ref.csv")
    numbers(200, 2).rename({"a": name}).with_columns(pl.col(name) + 10).write_csv("cur.csv")
    result = run(["drift", "ref.csv", "cur.csv", "--no-multivariate"])
    assert result.exit_code == 1
    assert name in result.stdout


# --- tracebacks: files --------------------------------------------------------------------


def _nan_inf_only(path: str) -> None:
    pl.DataFrame(
        {"nan": [float("nan")] * 20, "inf": [float("inf")] * 20, "ok": list(range(20))}
    ).write_csv(path)


def test_contract_infer_on_nan_and_inf_only_columns(churn: CliStore) -> None:
    _nan_inf_only("train.csv")
    result = run(["contract", "infer", "train.csv", "-o", "c.yaml"], store=churn)
    assert result.exit_code in (0, 2)
    if result.exit_code == 0:
        assert run(["contract", "check", "c.yaml", "train.csv"]).exit_code == 0


def test_model_register_training_data_with_nan_and_inf_only_columns(churn: CliStore) -> None:
    _nan_inf_only("train.csv")
    result = run(
        [
            "model",
            "register",
            P,
            "--artifact",
            "a",
            "--flavor",
            "sklearn",
            "--training-data",
            "train.csv",
        ],
        store=churn,
    )
    assert result.exit_code in (0, 2)


def test_drift_on_zero_rows_is_an_input_error(work: Path) -> None:
    numbers(100).write_parquet("ref.parquet")
    numbers(0).write_parquet("empty.parquet")
    error(run(["drift", "ref.parquet", "empty.parquet"]), "empty.parquet")


def test_drift_on_zero_columns_is_an_input_error(work: Path) -> None:
    numbers(100).write_parquet("ref.parquet")
    pl.DataFrame().write_parquet("none.parquet")
    error(run(["drift", "ref.parquet", "none.parquet"]))
    error(run(["drift", "none.parquet", "none.parquet"]))


def test_estimate_with_a_string_score_column(work: Path) -> None:
    binary(2000).write_parquet("ref.parquet")
    binary(500, 1).with_columns(pl.col("score").cast(pl.String) + "%").write_parquet("a.parquet")
    error(estimate("ref.parquet", "a.parquet"), "score")


def test_estimate_with_a_string_regression_prediction(work: Path) -> None:
    frame = numbers(2000).with_columns(pred=pl.col("b") + 0.1)
    frame.write_parquet("ref.parquet")
    frame.with_columns(pl.col("pred").cast(pl.String) + "x").write_parquet("a.parquet")
    result = run(
        [
            "estimate",
            "--reference",
            "ref.parquet",
            "--analysis",
            "a.parquet",
            "--problem",
            "regression",
            "--y-true",
            "b",
            "--y-pred",
            "pred",
            "-m",
            "mae",
        ]
    )
    error(result, "pred")


def test_estimate_with_an_unknown_features_column(work: Path) -> None:
    frame = numbers(2000).with_columns(pred=pl.col("b") + 0.1)
    frame.write_parquet("ref.parquet")
    frame.write_parquet("a.parquet")
    result = run(
        [
            "estimate",
            "--reference",
            "ref.parquet",
            "--analysis",
            "a.parquet",
            "--problem",
            "regression",
            "--y-true",
            "b",
            "--y-pred",
            "pred",
            "-m",
            "mae",
            "--features",
            "a,nosuch",
        ]
    )
    error(result, "nosuch")


def test_duplicated_column_name_is_an_input_error_in_drift_and_estimate(work: Path) -> None:
    Path("dup.csv").write_text("a,a,y,score,pred\n" + "1,2,0,0.2,0\n3,4,1,0.9,1\n" * 50)
    binary(200).write_csv("ok.csv")
    error(run(["drift", "dup.csv", "dup.csv"]), "a")
    error(estimate("dup.csv", "dup.csv"), "a")


# --- tracebacks: option values, output paths, stores ----------------------------------------


def test_chunk_size_too_large_for_an_integer(work: Path) -> None:
    numbers(100).write_parquet("d.parquet")
    error(
        run(["drift", "d.parquet", "d.parquet", "--chunk-size", "99999999999999999999999"]),
        "--chunk-size",
    )


def test_range_tolerance_nan(churn: CliStore) -> None:
    numbers(100).write_csv("train.csv")
    result = run(
        ["contract", "infer", "train.csv", "-o", "c.yaml", "--range-tolerance", "nan"],
        store=churn,
    )
    error(result, "--range-tolerance")


def test_unwritable_output_is_an_input_error(churn: CliStore) -> None:
    numbers(100).write_csv("d.csv")
    error(run(["drift", "d.csv", "d.csv", "-f", "json", "-o", "/proc/nope/x.json"]), "-o")
    run(["model", "register", P, "--artifact", "a", "--flavor", "sklearn"], store=churn)
    error(run(["card", P, "-o", "."], store=churn), "-o")


def test_postpilot_home_that_is_a_regular_file(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("home").write_text("not a folder")
    monkeypatch.setenv("POSTPILOT_HOME", str(work / "home"))
    error(run(["person", "list"]), "POSTPILOT_HOME")
    error(run(["init"]), "POSTPILOT_HOME")


def test_store_file_that_is_not_a_database(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = work.parent / "home"
    home.mkdir(exist_ok=True)
    (home / "postpilot.db").write_bytes(b"this is not a database at all\n" * 100)
    error(run(["person", "list"]), "postpilot.db")
    assert (home / "postpilot.db").read_bytes() == b"this is not a database at all\n" * 100


def test_store_with_a_dropped_alembic_version_table(cli_store: CliStore, work: Path) -> None:
    run(["person", "add", "maya@example.com", "--name", "Maya"], store=cli_store)
    with cli_store.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    error(run(["person", "list"]))
    error(run(["person", "add", "dev@example.com", "--name", "Dev"]))


@pytest.mark.parametrize(
    "args",
    [
        ["person", "add", "x" * 250 + "@example.com", "--name", "Long"],
        ["person", "add", "long@example.com", "--name", "n" * 201],
        ["team", "add", "t" * 201],
        ["source", "add", P, "s" * 201],
    ],
    ids=["email-over-254", "name-over-200", "team-over-200", "source-over-200"],
)
def test_too_long_values_are_refused_alike_on_both_stores(churn: CliStore, args: list[str]) -> None:
    error(run(args, store=churn))


def test_nul_byte_in_a_labels_file(churn: CliStore) -> None:
    Path("labels.csv").write_text("pid,label\np1,a\x00b\np2,c\n")
    result = run(
        [
            "labels",
            "ingest",
            "labels.csv",
            "--product",
            P,
            "--id-column",
            "pid",
            "--label-column",
            "label",
        ],
        store=churn,
    )
    error(result, "labels.csv")


def test_nul_byte_in_a_name(churn: CliStore) -> None:
    error(run(["person", "add", "nul@example.com", "--name", "a\x00b"], store=churn))


# --- half-written state ---------------------------------------------------------------------


def test_drift_with_product_and_an_output_in_a_missing_folder_stores_nothing(
    churn: CliStore,
) -> None:
    numbers(100).write_csv("d.csv")
    before = churn.snapshot()
    result = run(
        ["drift", "d.csv", "d.csv", "--product", P, "-f", "json", "-o", "/nonexistent/x.json"],
        store=churn,
    )
    error(result, "-o")
    assert churn.snapshot() == before


def test_contract_infer_to_a_folder_stores_nothing_and_leaves_no_tmp(churn: CliStore) -> None:
    numbers(100).write_csv("train.csv")
    Path("out").mkdir()
    error(run(["contract", "infer", "train.csv", "-o", "out"], store=churn), "out")
    assert list(Path("out").iterdir()) == []
    assert run(["contract", "list", "-f", "json"]).stdout.strip() == "[]"


def test_contract_infer_onto_its_own_data_file_is_refused(churn: CliStore) -> None:
    numbers(100).write_csv("data.csv")
    data = Path("data.csv").read_bytes()
    error(run(["contract", "infer", "data.csv", "-o", "data.csv"], store=churn), "data.csv")
    assert Path("data.csv").read_bytes() == data


def test_contract_infer_to_a_profile_path_would_write_one_file_twice(churn: CliStore) -> None:
    numbers(100).write_csv("data.csv")
    Path("out").mkdir()
    error(run(["contract", "infer", "data.csv", "-o", "out/x.profile"], store=churn))
    assert list(Path("out").iterdir()) == []


# --- silent wrong answers: drift ----------------------------------------------------------


def test_drift_with_no_shared_columns_is_exit_2(work: Path) -> None:
    numbers(100).write_csv("ref.csv")
    numbers(100).rename({"a": "p", "b": "q", "c": "r"}).write_csv("cur.csv")
    error(run(["drift", "ref.csv", "cur.csv"]))


def test_drift_with_a_feature_that_became_entirely_null_is_not_green(work: Path) -> None:
    numbers(300).write_csv("ref.csv")
    numbers(300, 1).with_columns(pl.lit(None, pl.Float64).alias("a")).write_csv("cur.csv")
    result = run(["drift", "ref.csv", "cur.csv", "-f", "json", "--no-multivariate"])
    assert result.exit_code == 1
    assert "a" in json.loads(result.stdout)["drifted_columns"]
    numbers(300, 1).select(pl.lit(None, pl.Float64).alias("a")).write_csv("only.csv")
    error(run(["drift", "ref.csv", "only.csv", "--columns", "a"]))


def test_drift_with_a_float_column_that_became_strings_is_drift(work: Path) -> None:
    numbers(300).write_csv("ref.csv")
    cur = numbers(300, 1).with_columns(pl.format("v{}", pl.col("a")).alias("a"))
    cur.write_csv("cur.csv")
    result = run(["drift", "ref.csv", "cur.csv", "-f", "json", "--no-multivariate"])
    assert result.exit_code == 1
    assert "a" in json.loads(result.stdout)["drifted_columns"]


def test_drift_with_a_semicolon_delimited_current_file(work: Path) -> None:
    numbers(300).write_csv("ref.csv")
    numbers(300, 1).write_csv("cur.csv", separator=";")
    result = run(["drift", "ref.csv", "cur.csv", "-f", "json", "--no-multivariate"])
    if result.exit_code != 2:  # the delimiter was detected: every column compared
        report = json.loads(result.stdout)
        compared = {r["column"] for c in report["chunks"] for r in c["columns"]}
        assert compared == {"a", "b", "c"}


def test_drift_with_only_a_timestamp_column_selected(work: Path) -> None:
    frame = numbers(100).with_columns(
        when=pl.datetime_range(
            pl.datetime(2026, 1, 1), pl.datetime(2026, 1, 1, 1, 39), "1m", eager=True
        )
    )
    frame.write_parquet("d.parquet")
    error(run(["drift", "d.parquet", "d.parquet", "--columns", "when"]))


def test_drift_of_a_small_categorical_file_against_itself_exits_0(work: Path) -> None:
    rng = np.random.default_rng(3)
    pl.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue"], 60),
            "size": rng.choice(["s", "m", "l", "xl"], 60),
            "flag": rng.choice(["y", "n"], 60),
            "n": rng.integers(0, 3, 60),
        }
    ).write_csv("small.csv")
    result = run(["drift", "small.csv", "small.csv", "-f", "json"])
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["multivariate_alerts"] in ([], 0)


def test_drift_of_a_real_table_against_itself_exits_0(work: Path) -> None:
    penguins_raw().write_parquet("penguins.parquet")
    for extra in ([], ["--chunk-number", "4"], ["--chunk-size", "50"]):
        result = run(["drift", "penguins.parquet", "penguins.parquet", "-f", "json", *extra])
        assert result.exit_code == 0, (extra, result.stdout[-2000:])


def test_drift_of_disjoint_categories_is_drift_with_a_real_error_bound(work: Path) -> None:
    pl.DataFrame({"v": [f"old{i}" for i in range(100_000)]}).write_parquet("ref.parquet")
    pl.DataFrame({"v": [f"new{i}" for i in range(100_000)]}).write_parquet("cur.parquet")
    # every value distinct: an identifier, compared only when named
    skipped = run(["drift", "ref.parquet", "cur.parquet", "--no-multivariate"])
    assert skipped.exit_code == 2
    assert "an identifier" in skipped.stderr
    result = run(
        ["drift", "ref.parquet", "cur.parquet", "-f", "json", "--no-multivariate", "-c", "v"]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["drifted_columns"] == ["v"]
    (column,) = report["chunks"][0]["columns"]
    assert column["statistic"] > 0.5
    assert column.get("error_bound") != 0.0


@pytest.mark.parametrize(
    "option", [["--test", "nosuch=ks"], ["--threshold", "nosuch=0.1"], ["--test", "a=nosuch"]]
)
def test_drift_unknown_column_or_test_in_options_is_exit_2(work: Path, option: list[str]) -> None:
    numbers(100).write_csv("d.csv")
    error(run(["drift", "d.csv", "d.csv", *option]), "nosuch")


@pytest.mark.parametrize("value", ["nan", "-0.1", "inf"])
def test_drift_threshold_not_finite_or_negative_is_exit_2(work: Path, value: str) -> None:
    numbers(100).write_csv("d.csv")
    error(run(["drift", "d.csv", "d.csv", "--threshold", f"a={value}"]), "--threshold")


# --- silent wrong answers: estimate -------------------------------------------------------


def test_estimate_on_a_header_only_analysis_file_is_exit_2(work: Path) -> None:
    binary(2000).write_parquet("ref.parquet")
    binary(0).write_csv("a.csv")
    error(estimate("ref.parquet", "a.csv"), "a.csv")


def test_estimate_with_a_single_class_reference_is_exit_2(work: Path) -> None:
    binary(2000).with_columns(y=pl.lit(0)).write_parquet("ref.parquet")
    binary(500, 1).write_parquet("a.parquet")
    error(estimate("ref.parquet", "a.parquet"))


@pytest.mark.parametrize("threshold", ["roc_auc=nan", "nosuch=0.1", "roc_auc=inf"])
def test_estimate_bad_threshold_is_exit_2(work: Path, threshold: str) -> None:
    binary(2000).write_parquet("ref.parquet")
    binary(500, 1).write_parquet("a.parquet")
    error(estimate("ref.parquet", "a.parquet", "--threshold", threshold), "--threshold")


def test_estimate_threshold_above_a_metric_with_no_lower_bound_is_exit_2(work: Path) -> None:
    """r2 has no lower bound; a threshold above its maximum (1) crashed formatting the
    message (found by the fuzz suite)."""
    frame = binary(300).with_columns(pl.col("x").alias("pred_value"))
    frame.write_parquet("ref.parquet")
    frame.write_parquet("a.parquet")
    result = run(
        [
            "estimate", "--reference", "ref.parquet", "--analysis", "a.parquet",
            "--problem", "regression", "--y-true", "x", "--y-pred", "pred_value",
            "--metric", "r2", "--threshold", "r2=1.5",
        ]
    )  # fmt: skip
    error(result, "--threshold")
    assert "r2 goes up to 1" in result.stderr


# --- silent wrong answers: registry ---------------------------------------------------------


def test_sla_threshold_nan_is_refused(churn: CliStore) -> None:
    result = run(
        ["product", "create", "fraud", "--sla-metric", "roc_auc", "--sla-threshold", "nan"],
        store=churn,
    )
    error(result, "--sla-threshold")


def test_sla_latency_names_the_option_not_the_python_field(churn: CliStore) -> None:
    line = error(run(["product", "create", "fraud", "--sla-latency-ms", "-5"], store=churn))
    assert "--sla-latency-ms" in line
    assert "sla_latency_p99_ms" not in line


def test_training_rows_negative_is_refused(churn: CliStore) -> None:
    result = run(
        [
            "model",
            "register",
            P,
            "--artifact",
            "a",
            "--flavor",
            "sklearn",
            "--training-data",
            "s3://b/k",
            "--training-rows",
            "-5",
        ],
        store=churn,
    )
    error(result, "--training-rows")


def test_card_version_without_model_is_ambiguous_between_two_models(churn: CliStore) -> None:
    for model in ("alpha", "beta"):
        run(
            ["model", "register", P, "--artifact", model, "--flavor", "sklearn", "--model", model],
            store=churn,
        )
    error(run(["card", P, "--version", "1"]), "--model")
    card = run(["card", P, "--version", "1", "--model", "beta"])
    assert card.exit_code == 0
    assert "beta" in card.stdout


def test_contract_named_with_an_at_sign_is_refused_or_reads_back(churn: CliStore) -> None:
    numbers(100).write_csv("d.csv")
    result = run(["contract", "infer", "d.csv", "-o", "c.yaml", "--name", "foo@2"], store=churn)
    if result.exit_code == 0:
        shown = run(["contract", "show", "foo@2@1"])
        assert shown.exit_code == 0
        assert "foo@2" in shown.stdout
        assert run(["contract", "check", "foo@2@1", "d.csv"]).exit_code == 0
    else:
        error(result, "--name")


# --- files as people have them ---------------------------------------------------------------


def test_semicolon_csv_is_read_as_its_columns(churn: CliStore) -> None:
    numbers(100).write_csv("semi.csv", separator=";")
    result = run(["contract", "infer", "semi.csv", "-o", "c.yaml", "--no-store"])
    if result.exit_code == 0:
        assert "3 columns" in result.stdout
    else:
        error(result, "semi.csv")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_utf16_and_bom_csv_are_read_or_named(churn: CliStore, encoding: str) -> None:
    Path("enc.csv").write_bytes(numbers(100).write_csv().encode(encoding))
    result = run(["contract", "infer", "enc.csv", "-o", "c.yaml", "--no-store"])
    if result.exit_code == 0:
        assert "3 columns" in result.stdout
        contract = Path("c.yaml").read_text(encoding="utf-8")
        for name in ("a:", "b:", "c:"):
            assert name in contract
    else:
        error(result, "enc.csv")


def test_duplicate_csv_headers_are_an_error_as_in_parquet(churn: CliStore) -> None:
    Path("dup.csv").write_text("a,b,a\n1,2,3\n4,5,6\n")
    error(run(["contract", "infer", "dup.csv", "-o", "c.yaml"], store=churn), "a")
    error(
        run(
            [
                "labels",
                "ingest",
                "dup.csv",
                "--product",
                P,
                "--id-column",
                "b",
                "--label-column",
                "a",
            ],
            store=churn,
        )
    )


def test_header_only_training_file_is_refused(churn: CliStore) -> None:
    Path("header.csv").write_text("a,b,c\n")
    error(run(["contract", "infer", "header.csv", "-o", "c.yaml"], store=churn), "header.csv")
    pl.DataFrame({"a": [None] * 5, "b": [None] * 5}).write_parquet("nulls.parquet")
    error(run(["contract", "infer", "nulls.parquet", "-o", "c.yaml"], store=churn))


# --- an option that does something else -------------------------------------------------


def test_drift_chunk_number_5_gives_5_chunks(work: Path) -> None:
    numbers(1000).write_parquet("ref.parquet")
    numbers(1000, 1).write_parquet("cur.parquet")
    start = time.perf_counter()
    result = run(["drift", "ref.parquet", "cur.parquet", "-f", "json", "--chunk-number", "5"])
    assert result.exit_code in (0, 1)
    chunks = json.loads(result.stdout)["chunks"]
    assert [c["rows"] for c in chunks] == [200] * 5
    assert time.perf_counter() - start < 30


# --- history that breaks -----------------------------------------------------------------


def test_drift_history_across_a_schema_change(churn: CliStore) -> None:
    numbers(300).write_csv("ref.csv")
    numbers(300, 1).write_csv("day1.csv")
    changed = numbers(300, 2).rename({"c": "q"}).with_columns(pl.format("v{}", pl.col("a")))
    changed.write_csv("day2.csv")
    for current in ("day1.csv", "day2.csv"):
        run(["drift", "ref.csv", current, "--product", P, "-f", "json"], store=churn)
    result = run(["drift-history", "--product", P, "-f", "json"], store=churn)
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert len(report["chunks"]) == 2
    assert "b" in {r["column"] for c in report["chunks"] for r in c["columns"]}


# --- messages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["drift", "d.csv", "d.csv", "--chunk-size", "abc"], "--chunk-size"),
        (["drift", "d.csv", "d.csv", "--nosuch"], "--nosuch"),
        (["person", "list", "--format", "xml"], "--format"),
        (["product", "create"], "SLUG"),
        (["card", P, "--version", "x"], "--version"),
    ],
)
def test_option_parser_errors_are_one_line_naming_the_option(
    work: Path, args: list[str], option: str
) -> None:
    numbers(10).write_csv("d.csv")
    error(run(args), option)


def test_chunk_size_zero_names_the_option_not_the_field(work: Path) -> None:
    numbers(100).write_csv("d.csv")
    line = error(run(["drift", "d.csv", "d.csv", "--chunk-size", "0"]), "--chunk-size")
    assert "chunk_size" not in line.replace("--chunk-size", "")


def test_read_only_store_serves_read_commands(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = work.parent / "ro.db"
    monkeypatch.setenv("POSTPILOT_DATABASE_URL", f"sqlite:///{db}")
    run(["init"])
    run(["person", "add", "maya@example.com", "--name", "Maya"])
    monkeypatch.setenv("POSTPILOT_DATABASE_URL", f"sqlite:///file:{db}?mode=ro&uri=true")
    for args in (["person", "list"], ["product", "list"], ["audit", "verify"], ["audit", "log"]):
        result = run(args)
        assert result.exit_code == 0, (args, result.stderr)
    assert "maya@example.com" in run(["person", "list"]).stdout
    line = error(run(["person", "add", "dev@example.com", "--name", "Dev"]))
    assert "server is running" not in line


def test_binary_labels_file_is_one_line(churn: CliStore) -> None:
    Path("labels.csv").write_bytes(bytes(range(256)) * 40)
    result = run(
        [
            "labels",
            "ingest",
            "labels.csv",
            "--product",
            P,
            "--id-column",
            "pid",
            "--label-column",
            "label",
        ],
        store=churn,
    )
    error(result, "labels.csv")


# --- the internal-error path -----------------------------------------------------------------


def test_an_unexpected_error_is_one_line_without_a_traceback(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anything unexpected prints ``error: internal error: ...; please report it`` and
    exits with its own code (not 0, 1 or 2), with no traceback unless asked for."""
    import postpilot.cli.people as people
    from postpilot.cli import app

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(people, "registry", broken)
    result = RUNNER.invoke(app, ["person", "list"])
    assert result.exit_code not in (0, 1, 2)
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: internal error:")
    assert "please report it" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    monkeypatch.setenv("POSTPILOT_DEBUG", "1")
    debug = RUNNER.invoke(app, ["person", "list"])
    assert "Traceback" in debug.stderr or isinstance(debug.exception, RuntimeError)


# --- wide tables ----------------------------------------------------------------------------


def test_rename_matching_on_a_wide_table_stays_near_the_plain_check(work: Path) -> None:
    rng = np.random.default_rng(5)
    width = 400
    frame = pl.DataFrame({f"col_{i}": rng.normal(i, 1, 300) for i in range(width)})
    frame.write_parquet("train.parquet")
    frame.write_parquet("same.parquet")
    frame.rename({f"col_{i}": f"renamed_{i}" for i in range(width)}).write_parquet("ren.parquet")
    run(["contract", "infer", "train.parquet", "-o", "c.yaml", "--no-store"])
    start = time.perf_counter()
    assert run(["contract", "check", "c.yaml", "same.parquet"]).exit_code == 0
    plain = time.perf_counter() - start
    start = time.perf_counter()
    assert run(["contract", "check", "c.yaml", "ren.parquet"]).exit_code == 1
    renamed = time.perf_counter() - start
    assert renamed < 10 * plain + 3, (plain, renamed)


# --- policies, incidents and monitor passes (issue 11) --------------------------------------


@pytest.fixture
def product(work: Path) -> None:
    """The product ``churn`` in the default (SQLite) store: for what happens before any
    store is asked, reading a policy file."""
    assert run(["product", "create", P]).exit_code == 0


def _policy(text: str, name: str = "p.yaml") -> str:
    Path(name).write_text(text, encoding="utf-8")
    return name


def _apply(name: str, product: str = P, store: CliStore | None = None) -> Result:
    return run(["policy", "apply", name, "--product", product], store=store)


@pytest.mark.parametrize(
    "text",
    [
        "rules: " + "[" * 3000 + "]" * 3000 + "\n",
        "rules:\n" + "".join(" " * i + "- \n" for i in range(400)),
    ],
    ids=["flow", "block"],
)
@pytest.mark.usefixtures("product")
def test_policy_nested_thousands_deep_is_one_line_not_a_recursion_error(text: str) -> None:
    error(_apply(_policy(text)), "p.yaml:", "nested more than 100 levels")


@pytest.mark.usefixtures("product")
def test_policy_alias_bomb_is_refused_before_it_expands() -> None:
    """Nine nodes per level, six levels: half a million nodes from seven lines (nine
    levels, the classic "billion laughs", hung the command)."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 6)]
    text = "\n".join([*lines, "rules: *l5"]) + "\n"
    error(_apply(_policy(text)), "p.yaml:2:", "aliases expand it to")


@pytest.mark.usefixtures("product")
def test_policy_alias_inside_its_own_anchor_is_refused() -> None:
    """``&r [*r]`` is a list that holds itself: checking its keys looped forever."""
    error(_apply(_policy("schema_version: 1\nrules: &r [*r]\n")), "p.yaml:2:", "*r")


@pytest.mark.usefixtures("product")
def test_yaml_with_a_control_character_is_one_line_naming_its_line() -> None:
    error(_apply(_policy("schema_version: 1\nrules: []\x07\n")), "p.yaml:2:", "U+0007")
    numbers(10).write_csv("d.csv")
    run(["contract", "infer", "d.csv", "-o", "c.yaml", "--no-store"])
    Path("c.yaml").write_text("\x1b" + Path("c.yaml").read_text(), encoding="utf-8")
    error(run(["contract", "check", "c.yaml", "d.csv"]), "c.yaml:1:", "U+001B")


@pytest.mark.usefixtures("product")
def test_policy_for_another_product_names_the_line_of_its_product() -> None:
    name = _policy("schema_version: 1\nrules: []\nproduct: other\n")
    error(_apply(name), "p.yaml:3: product:", "'other'")


@pytest.mark.usefixtures("product")
def test_policy_test_of_a_file_for_another_product_is_refused_like_apply() -> None:
    """``policy test`` replayed churn's history through a policy written for another
    product, which ``policy apply`` would refuse."""
    name = _policy("schema_version: 1\nproduct: other\nrules: []\n")
    error(run(["policy", "test", name, "--product", P]), "p.yaml:2: product:", "'other'")


@pytest.mark.parametrize("after", ["3000000d", "9" * 5000 + "s"], ids=["century", "digits"])
@pytest.mark.usefixtures("product")
def test_policy_duration_beyond_a_century_is_refused_at_load(after: str) -> None:
    """``after: 3000000d`` was accepted, then every pass that opened the incident
    crashed adding it to the time; 5000 digits crashed ``int()``."""
    text = (
        "schema_version: 1\nrules:\n  - name: r\n    when: {metric: drift.share, threshold: 1}\n"
        f"    then: [open_incident: {{}}, escalate: {{to: owner, after: {after}}}]\n"
    )
    error(_apply(_policy(text)), "p.yaml:5:", "too long")


def test_monitor_as_of_at_the_ends_of_the_calendar_is_exit_2(
    cli_store: CliStore, work: Path
) -> None:
    """Before year 1 in UTC, or so late that an escalation a day later is past year 9999:
    both crashed the pass half-way."""
    from postpilot import Registry
    from tests.policies.scenario import DRIFT_FROM, day_end, setup_product, write_day

    with Registry() as reg:
        setup_product(reg, work)
    text = (
        "schema_version: 1\nproduct: churn\nsource: {path: batches, timestamp: scored_at}\n"
        "rules:\n  - name: r\n    when: {metric: drift.share, threshold: 0.5}\n"
        "    then: [open_incident: {}, escalate: {to: owner, after: 1d, via: [store]}]\n"
    )
    assert _apply(_policy(text), store=cli_store).exit_code == 0
    write_day(work, DRIFT_FROM)
    passed = ["monitor", "run", "--product", "churn", "--as-of"]
    for as_of in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59+00:00"):
        error(run([*passed, as_of], store=cli_store), "--as-of")
    assert run([*passed, day_end(DRIFT_FROM).isoformat()]).exit_code == 1


def test_incident_number_beyond_64_bits_is_not_found(churn: CliStore) -> None:
    for command in ("show", "ack", "resolve"):
        error(run(["incident", command, "9223372036854775808"], store=churn), "no incident")


def test_notify_list_with_an_unknown_status_is_exit_2_like_incident_list(churn: CliStore) -> None:
    """``--status faild`` listed nothing, as if no notification had failed."""
    error(run(["notify", "list", "--status", "faild"], store=churn), "--status", "failed")
    assert run(["notify", "list", "--status", "failed", "-f", "json"]).stdout.strip() == "[]"


def test_output_that_is_a_pipe_or_device_is_refused_not_replaced(work: Path) -> None:
    """``-o`` renamed a temporary file over its target: a FIFO (or, for root,
    ``/dev/null``) was replaced by a regular file."""
    os.mkfifo("pipe")
    error(run(["policy", "schema", "-o", "pipe"]), "pipe", "not a regular file")
    assert stat.S_ISFIFO(Path("pipe").lstat().st_mode)


def test_output_that_cannot_be_written_names_it_not_a_temporary_file(work: Path) -> None:
    """A write refused after the checks (for root, who passes every permission check)
    named ``/proc/.version.x1y2.tmp``."""
    line = error(run(["policy", "schema", "-o", "/proc/version"]), "/proc/version")
    assert ".tmp" not in line
