"""``postpilot estimate`` through the CLI: every option's effect, every bad input one
error line (exit 2) with nothing stored or written, and stored runs on both stores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy import create_engine, text

from postpilot import Registry
from postpilot.errors import StoreError
from postpilot.registry.entities import Sla
from tests.helpers import Run, as_json


def _binary(seed: int, n: int, *, unsure: bool = False) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n) * (0.1 if unsure else 1.0)
    score = 1 / (1 + np.exp(-2 * x))
    return pl.DataFrame(
        {
            "pid": [f"p{seed}-{i}" for i in range(n)],
            "x": x,
            "score": score,
            "pred": (score >= 0.5).astype(int),
            "y": (rng.random(n) < score).astype(int),
        }
    )


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's store for this test: SQLite and PostgreSQL in turn."""
    monkeypatch.setenv("POSTPILOT_DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def files(tmp_path: Path) -> Path:
    _binary(1, 20_000).write_parquet(tmp_path / "reference.parquet")
    _binary(2, 8000).drop("y").write_csv(tmp_path / "steady.csv")
    pl.concat([_binary(3, 4000), _binary(4, 4000, unsure=True)]).write_parquet(
        tmp_path / "worse.parquet"
    )
    return tmp_path


def _args(files: Path, analysis: str, *extra: str) -> list[str]:
    return [
        "estimate",
        "--reference",
        str(files / "reference.parquet"),
        "--analysis",
        str(files / analysis),
        "--problem",
        "binary",
        "--y-true",
        "y",
        "--y-pred",
        "pred",
        "--y-pred-proba",
        "score",
        "--metric",
        "roc_auc",
        "-m",
        "f1",
        "--chunk-size",
        "2000",
        *extra,
    ]


def test_json_shape_and_exit_codes(cli: Run, files: Path) -> None:
    steady = as_json(cli(*_args(files, "steady.csv", "-f", "json")))
    assert steady["alerts"] == []
    assert len(steady["chunks"]) == 4
    chunk = steady["chunks"][0]
    assert {"key", "start", "end", "rows"} <= set(chunk)
    metric = chunk["metrics"][0]
    assert {"metric", "estimated", "lower", "upper", "realized", "alert"} <= set(metric)
    assert metric["metric"] == "roc_auc"
    assert metric["realized"] is None  # no labels in the analysis data
    assert metric["lower"] < metric["estimated"] < metric["upper"]

    worse = as_json(cli(*_args(files, "worse.parquet", "-f", "json"), expect=1))
    assert [c["metrics"][0]["alert"] for c in worse["chunks"]] == [False, False, True, True]
    assert worse["chunks"][3]["metrics"][0]["realized"] is not None  # labels in the file


def test_table_and_html_report(cli: Run, files: Path) -> None:
    table = cli(*_args(files, "worse.parquet"), expect=1).stdout
    assert "alert(s)" in table
    assert "threshold roc_auc:" in table
    out = files / "report.html"
    cli(*_args(files, "worse.parquet", "-f", "html", "-o", str(out)), expect=1)
    page = out.read_text()
    assert "Model performance" in page  # the performance section ...
    assert "<h2>x" in page  # ... inside the drift report of the model's input
    assert not re.search(r"(src|href)=['\"]https?:", page)  # self-contained
    cli(*_args(files, "worse.parquet", "-f", "html", "--no-drift", "-o", str(out)), expect=1)
    assert "<h2>x" not in out.read_text()


def test_multiclass_pairs_and_their_errors(cli: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    proba = rng.dirichlet([2, 2, 2], 6000)
    classes = np.array(["cat", "dog", "eel"])
    frame = pl.DataFrame(
        {
            "p_cat": proba[:, 0],
            "p_dog": proba[:, 1],
            "p_eel": proba[:, 2],
            "pred": classes[proba.argmax(axis=1)],
            "y": [classes[rng.choice(3, p=p)] for p in proba],
        }
    )
    frame.write_parquet(tmp_path / "mc.parquet")
    base = [
        "estimate", "--reference", str(tmp_path / "mc.parquet"), "--analysis",
        str(tmp_path / "mc.parquet"), "--problem", "multiclass", "--y-true", "y",
        "--y-pred", "pred", "-m", "accuracy,roc_auc", "-f", "json",
    ]  # fmt: skip
    result = as_json(
        cli(*base, "--y-pred-proba", "cat=p_cat,dog=p_dog", "--y-pred-proba", "eel=p_eel")
    )
    assert [m["metric"] for m in result["chunks"][0]["metrics"]] == ["accuracy", "roc_auc"]
    bad = cli(*base, "--y-pred-proba", "p_cat,p_dog,p_eel", expect=2)
    assert bad.stderr.count("\n") == 1
    assert "expected CLASS=COLUMN, got 'p_cat'" in bad.stderr
    assert "--y-pred-proba" in bad.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--problem", "ranking"], "unknown problem 'ranking'"),
        (["--y-true", "label"], "no column 'label'"),
        (["-m", "mape"], "mape"),
        (["--threshold", "f1=high"], "'high' is not a number"),
    ],
)
def test_unusable_input_is_one_line_exit_2(
    cli: Run, files: Path, extra: list[str], message: str
) -> None:
    result = cli(*_args(files, "steady.csv", *extra), expect=2)
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def _product(store: str, slug: str, sla: Sla | None = None) -> None:
    """Set-up through the Python API: only the command under test opens the store."""
    with Registry(store) as reg:
        reg.create_product(slug, sla=sla)


def _ingest(store: str, slug: str, labels: pl.DataFrame) -> None:
    with Registry(store) as reg:
        reg.ingest_labels(slug, labels["pid"].to_list(), labels["y"].cast(pl.String).to_list())


def _realized(cli: Run, files: Path, slug: str = "churn") -> list[list[float | None]]:
    result = as_json(
        cli(*_args(files, "analysis.parquet", "-f", "json", "--product", slug,
                   "--id-column", "pid"))
    )  # fmt: skip
    return [[m["realized"] for m in c["metrics"]] for c in result["chunks"]]


def test_late_labels_in_two_parts_equal_labels_at_once(cli: Run, files: Path, store: str) -> None:
    _product(store, "churn")
    analysis = _binary(6, 8000)
    analysis.drop("y").write_parquet(files / "analysis.parquet")
    labels = analysis.select("pid", "y")

    before = _realized(cli, files)
    assert all(v is None for chunk in before for v in chunk)
    _ingest(store, "churn", labels.head(3000))
    partial = _realized(cli, files)
    assert partial[0][0] is not None  # chunks fill in as labels land
    assert partial[3][0] is None
    _ingest(store, "churn", labels.tail(5000))
    in_two = _realized(cli, files)

    _product(store, "churn2")
    _ingest(store, "churn2", labels)
    assert in_two == _realized(cli, files, "churn2")
    with_labels = as_json(cli(*_args(files, "analysis.parquet", "-f", "json")))
    assert all(
        v is None for c in with_labels["chunks"] for m in c["metrics"] for v in [m["realized"]]
    )
    analysis.write_parquet(files / "labelled.parquet")
    direct = as_json(cli(*_args(files, "labelled.parquet", "-f", "json")))
    assert in_two == [[m["realized"] for m in c["metrics"]] for c in direct["chunks"]]

    with Registry(store) as reg:
        runs = reg.monitoring_runs("churn")
        assert {r.kind for r in runs} == {"performance"}
        assert len(runs) == 3
        assert runs[-1].result["settings"]["alert_direction"] == "worse"
        assert reg.audit_log(product="churn")[-1].action == "monitoring.performance"


def test_id_column_without_product_is_refused(cli: Run, files: Path) -> None:
    result = cli(*_args(files, "steady.csv", "--id-column", "pid"), expect=2)
    assert "--product" in result.stderr


def test_the_products_sla_is_the_threshold(cli: Run, files: Path, store: str) -> None:
    _product(store, "churn", Sla(quality_metric="roc_auc", quality_threshold=0.99))
    result = as_json(cli(*_args(files, "steady.csv", "-f", "json", "--product", "churn"), expect=1))
    assert result["thresholds"]["roc_auc"] == {"lower": 0.99, "upper": None, "source": "sla"}
    assert result["thresholds"]["f1"]["source"] == "reference chunks"
    explicit = _args(files, "steady.csv", "-f", "json", "--product", "churn", "--threshold",
                     "roc_auc=0.5")  # fmt: skip
    assert as_json(cli(*explicit))["thresholds"]["roc_auc"]["lower"] == 0.5


# --- --alert-direction: which side of the acceptable range alerts ----------------------


def _sharper(seed: int, n: int, factor: float) -> pl.DataFrame:
    """The calibrated model of ``_binary`` on inputs ``factor`` times as spread: more
    confident scores, a better ROC AUC and a lower log loss (factor > 1), or worse."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n) * factor
    score = 1 / (1 + np.exp(-2 * x))
    return pl.DataFrame(
        {"score": score, "pred": (score >= 0.5).astype(int), "y": (rng.random(n) < score)}
    ).with_columns(pl.col("y").cast(pl.Int64))


@pytest.fixture
def directions(tmp_path: Path) -> list[str]:
    """Four chunks of 2,000 rows: steady, steady, better (chunk 2), worse (chunk 3)."""
    _sharper(1, 20_000, 1.0).write_parquet(tmp_path / "reference.parquet")
    analysis = pl.concat(
        [_sharper(2, 4000, 1.0), _sharper(3, 2000, 3.0), _sharper(4, 2000, 0.3)]
    ).drop("y")
    analysis.write_parquet(tmp_path / "analysis.parquet")
    return [
        "estimate", "--reference", str(tmp_path / "reference.parquet"), "--analysis",
        str(tmp_path / "analysis.parquet"), "--problem", "binary", "--y-true", "y",
        "--y-pred-proba", "score", "-m", "roc_auc,log_loss", "--chunk-size", "2000",
    ]  # fmt: skip


def _flagged(report: dict[str, object], key: str) -> set[tuple[str, str, str]]:
    entries = report[key]
    assert isinstance(entries, list)
    return {(e["chunk"], e["metric"], e["change"]) for e in entries}


def test_only_a_change_for_the_worse_alerts_by_default(cli: Run, directions: list[str]) -> None:
    worse = {("3", "roc_auc", "worse"), ("3", "log_loss", "worse")}
    better = {("2", "roc_auc", "better"), ("2", "log_loss", "better")}  # log loss fell
    default = as_json(cli(*directions, "-f", "json", expect=1))
    assert _flagged(default, "alerts") == worse
    assert _flagged(default, "improvements") == better  # reported, not alerted
    assert default["settings"]["alert_direction"] == "worse"
    chunk2 = default["chunks"][2]["metrics"]
    assert [(m["change"], m["alert"]) for m in chunk2] == [("better", False)] * 2

    either = as_json(cli(*directions, "-f", "json", "--alert-direction", "either", expect=1))
    assert _flagged(either, "alerts") == worse | better
    assert either["settings"]["alert_direction"] == "either"
    only_better = as_json(cli(*directions, "-f", "json", "--alert-direction", "better", expect=1))
    assert _flagged(only_better, "alerts") == better


def test_the_table_names_each_alert_in_plain_text(cli: Run, directions: list[str]) -> None:
    out = cli(*directions, expect=1).stdout
    assert "2 alert(s): roc_auc in chunk 3; log_loss in chunk 3" in out
    assert "ALERT: chunk 3, roc_auc is worse than its threshold" in out
    assert "ALERT: chunk 3, log_loss is worse than its threshold" in out
    assert "note: chunk 2, roc_auc is better than its threshold" in out
    assert "(not alerted)" in out
    assert "ALERT (worse)" in out  # the cell says it too, not only its colour
    assert "\x1b[" not in out  # CliRunner has no terminal: plain text
    assert "(alerting on: worse)" in out


def test_an_unknown_alert_direction_is_refused(cli: Run, directions: list[str]) -> None:
    result = cli(*directions, "--alert-direction", "up", expect=2)
    assert result.stderr == (
        "error: unknown alert direction 'up' (--alert-direction); use one of: worse, better, "
        "either\n"
    )


# --- regression (DLE) and --features --------------------------------------------------


def _regression(seed: int, n: int, noisy_share: float) -> pl.DataFrame:
    """Errors are 10x larger where segment == 'noisy'."""
    rng = np.random.default_rng(seed)
    segment = np.where(rng.random(n) < noisy_share, "noisy", "calm")
    x = rng.normal(0, 1, n)
    pred = 3 * x + 10
    noise = rng.normal(0, np.where(segment == "noisy", 5.0, 0.5))
    return pl.DataFrame({"x": x, "segment": segment, "pred": pred, "y": pred + noise})


@pytest.fixture
def regression(tmp_path: Path) -> list[str]:
    _regression(1, 10_000, 0.2).write_parquet(tmp_path / "reference.parquet")
    analysis = pl.concat([_regression(2, 4000, 0.2), _regression(3, 4000, 0.7)])
    analysis.drop("y").write_csv(tmp_path / "analysis.csv")
    return [
        "estimate", "--reference", str(tmp_path / "reference.parquet"), "--analysis",
        str(tmp_path / "analysis.csv"), "--problem", "regression", "--y-true", "y",
        "--y-pred", "pred", "-m", "mae", "--chunk-size", "2000", "-f", "json",
    ]  # fmt: skip


def test_regression_sees_the_noisy_segment_grow_through_its_features(
    cli: Run, regression: list[str]
) -> None:
    report = as_json(cli(*regression, expect=1))
    assert report["method"] == "dle"
    assert report["settings"]["features"] == ["x", "segment"]  # every input by default
    # MAE rose: for a loss that is the worse side, so the default alerts on it
    assert _flagged(report, "alerts") == {("2", "mae", "worse"), ("3", "mae", "worse")}
    assert report["chunks"][0]["scores_outside_reference"] is None  # no scores in DLE
    assert as_json(cli(*regression, "--alert-direction", "better"))["alerts"] == []

    # Told the model reads only x, DLE cannot see the segment: MAE looks flat.
    only_x = as_json(cli(*regression, "--features", "x"))
    assert only_x["settings"]["features"] == ["x"]
    assert only_x["alerts"] == []
    named = as_json(cli(*regression, "--features", "x,segment", expect=1))
    assert named["settings"]["features"] == ["x", "segment"]

    # An SLA on a loss is a ceiling.
    capped = as_json(cli(*regression, "--threshold", "mae=0.1", expect=1))
    assert capped["thresholds"]["mae"] == {"lower": None, "upper": 0.1, "source": "sla"}
    assert all(c["metrics"][0]["alert"] for c in capped["chunks"])


# --- chunking: --chunk-number, --chunk-period with --timestamp, --chunk-size ------------


def _timed(seed: int, start: str, days: int, per_day: int) -> pl.DataFrame:
    frame = _binary(seed, days * per_day)
    first = pl.Series([start]).str.to_datetime()[0]
    stamps = [first + np.timedelta64(i * 86_400 // per_day, "s") for i in range(frame.height)]
    return frame.with_columns(pl.Series("ts", stamps).cast(pl.Datetime("us")))


def test_chunk_period_groups_rows_by_the_timestamp(cli: Run, tmp_path: Path) -> None:
    _timed(1, "2024-03-01", 4, 2500).write_parquet(tmp_path / "reference.parquet")
    _timed(2, "2024-04-01", 3, 1000).drop("y").write_csv(tmp_path / "analysis.csv")
    args = [
        "estimate", "--reference", str(tmp_path / "reference.parquet"), "--analysis",
        str(tmp_path / "analysis.csv"), "--problem", "binary", "--y-true", "y",
        "--y-pred", "pred", "--y-pred-proba", "score", "-m", "f1", "-f", "json",
    ]  # fmt: skip
    daily = as_json(cli(*args, "--chunk-period", "day", "--timestamp", "ts"))
    assert [(c["key"], c["rows"]) for c in daily["chunks"]] == [
        ("2024-04-01", 1000), ("2024-04-02", 1000), ("2024-04-03", 1000)
    ]  # fmt: skip
    assert [c["key"] for c in daily["reference_chunks"]] == [f"2024-03-0{d}" for d in (1, 2, 3, 4)]
    assert daily["settings"]["timestamp"] == "ts"
    monthly = as_json(cli(*args, "--chunk-period", "month", "--timestamp", "ts"))
    assert [(c["key"], c["rows"]) for c in monthly["chunks"]] == [("2024-04-01", 3000)]
    missing = cli(*args, "--chunk-period", "day", "--timestamp", "when", expect=2)
    assert "'when'" in missing.stderr
    assert "(--timestamp)" in missing.stderr


def test_chunk_number_and_chunk_size(cli: Run, files: Path) -> None:
    base = [*_args(files, "steady.csv")[:-2], "-f", "json"]  # without --chunk-size
    four = as_json(cli(*base, "--chunk-number", "4"))
    assert [c["rows"] for c in four["chunks"]] == [2000] * 4
    assert len(four["reference_chunks"]) == 4  # the reference is cut the same way
    assert len(as_json(cli(*base))["chunks"]) == 10  # the default: ten chunks
    sized = as_json(cli(*base, "--chunk-size", "3000"))
    assert [c["rows"] for c in sized["chunks"]] == [3000, 3000, 2000]
    huge = as_json(cli(*base, "--chunk-size", "99999999999999999999999"))
    assert [c["rows"] for c in huge["chunks"]] == [8000]  # one chunk, not a traceback


# --- bad input: one line, exit 2, nothing stored, nothing written ---------------------


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """Small files, valid and broken, for the refusals."""
    reference = _binary(1, 3000)
    reference.write_parquet(tmp_path / "reference.parquet")
    _binary(2, 2000).drop("y").write_csv(tmp_path / "analysis.csv")
    _binary(2, 2000).head(0).write_csv(tmp_path / "header-only.csv")
    reference.with_columns(y=pl.lit(1)).write_parquet(tmp_path / "one-class.parquet")
    reference.with_columns(
        score=pl.when(pl.col("score") > 0.9).then(pl.lit("high")).otherwise(pl.col("score"))
    ).write_csv(tmp_path / "text-score.csv")
    head = "x,score,score,pred,y\n"
    body = "".join(
        f"{x},{s},{s},{p},{y}\n"
        for x, s, p, y in reference.select("x", "score", "pred", "y").head(500).iter_rows()
    )
    (tmp_path / "twice.csv").write_text(head + body)
    regression = _regression(4, 2000, 0.2)
    regression.write_parquet(tmp_path / "regression.parquet")
    regression.with_columns(pred=pl.col("pred").cast(pl.String) + " EUR").write_csv(
        tmp_path / "text-pred.csv"
    )
    return tmp_path


def _small(path: Path, *extra: str, **swap: str) -> list[str]:
    args = {
        "--reference": str(path / "reference.parquet"),
        "--analysis": str(path / "analysis.csv"),
        "--problem": "binary",
        "--y-true": "y",
        "--y-pred": "pred",
        "--y-pred-proba": "score",
        "--metric": "roc_auc,f1",
    }
    for key, value in swap.items():
        option = "--" + key.replace("_", "-")
        if value:
            args[option] = str(path / value) if option in ("--reference", "--analysis") else value
        else:
            del args[option]
    return ["estimate", *[v for pair in args.items() for v in pair], *extra]


def _regression_args(path: Path, reference: str, *extra: str) -> list[str]:
    return [
        "estimate", "--reference", str(path / reference), "--analysis", str(path / reference),
        "--problem", "regression", "--y-true", "y", "--y-pred", "pred", "-m", "mae", *extra,
    ]  # fmt: skip


REFUSALS = [
    ("header-only analysis", {"analysis": "header-only.csv"}, [], "has no rows", "--analysis"),
    ("single-class reference", {"reference": "one-class.parquet"}, [],
     "class 0 never occurs in the labels", "--y-true"),
    ("text in the score column", {"reference": "text-score.csv"}, [],
     "score column 'score'", "--y-pred-proba"),
    ("a column named twice", {"reference": "twice.csv"}, [], "the column 'score' twice",
     "twice.csv"),
    ("an unknown feature", {}, ["--features", "x,nosuch"], "no column 'nosuch'", "--features"),
    ("threshold nan", {}, ["--threshold", "roc_auc=nan"], "roc_auc=nan is not a finite",
     "--threshold"),
    ("threshold inf", {}, ["--threshold", "f1=inf"], "f1=inf is not a finite", "--threshold"),
    ("threshold for an unknown metric", {}, ["--threshold", "nosuch=0.1"],
     "threshold for 'nosuch'", "--threshold"),
    ("threshold above the range", {}, ["--threshold", "roc_auc=1.5"],
     "roc_auc=1.5 is out of range: roc_auc goes from 0 to 1", "--threshold"),
    ("threshold below the range", {}, ["--threshold", "f1=-0.2"], "f1=-0.2 is out of range",
     "--threshold"),
    ("an unknown metric", {"metric": "roc_auc,nosuch"}, [], "unknown metric 'nosuch'",
     "--metric"),
    ("two ways to chunk", {}, ["--chunk-size", "10", "--chunk-number", "3"],
     "choose one way to chunk, got --chunk-size and --chunk-number", "--chunk-number"),
    ("chunk size zero", {}, ["--chunk-size", "0"], "whole number from 1", "--chunk-size"),
    ("a period without a timestamp", {}, ["--chunk-period", "week"], "needs the timestamp",
     "--timestamp"),
    ("an unknown period", {}, ["--chunk-period", "year", "--timestamp", "x"],
     "unknown chunk period 'year'", "--chunk-period"),
    ("output in a missing folder", {}, ["-f", "json", "-o", "/nonexistent/out.json"],
     "the folder /nonexistent does not exist", "--output"),
    ("output over an input", {}, ["-f", "json", "-o", "{analysis}"], "is also an input",
     "--output"),
    ("output is a folder", {}, ["-f", "json", "-o", "{folder}"], "is a folder", "--output"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("swap", "extra", "message", "where"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSALS],
)
def test_bad_input_is_one_line_and_stores_nothing(
    cli: Run,
    small: Path,
    store: str,
    swap: dict[str, str],
    extra: list[str],
    message: str,
    where: str,
) -> None:
    _product(store, "churn")
    with Registry(store) as reg:
        events = len(reg.audit_log())
    filled = [
        e.format(analysis=small / "analysis.csv", folder=small) for e in [*extra, "--product"]
    ]
    before = sorted(small.iterdir())
    result = cli(*_small(small, *filled, "churn", **swap), expect=2)
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert f"({where})" in result.stderr or f"/{where})" in result.stderr
    assert result.stdout == ""
    with Registry(store) as reg:
        assert reg.monitoring_runs("churn") == []
        assert len(reg.audit_log()) == events
    assert sorted(small.iterdir()) == before  # no report, no stray temporary file


@pytest.mark.parametrize(
    ("reference", "extra", "message", "where"),
    [
        ("text-pred.csv", [], "prediction column 'pred'", "--y-pred"),
        ("regression.parquet", ["--features", "x,nosuch"], "no column 'nosuch'", "--features"),
        ("regression.parquet", ["--threshold", "mae=-1"], "mae=-1 is out of range", "--threshold"),
        ("regression.parquet", ["--features", "x,x"], "feature 'x' is named twice", "--features"),
    ],
)
def test_bad_regression_input_is_one_line(
    cli: Run, small: Path, reference: str, extra: list[str], message: str, where: str
) -> None:
    result = cli(*_regression_args(small, reference, *extra), expect=2)
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert f"({where})" in result.stderr


def test_an_unknown_product_names_the_option(cli: Run, small: Path, store: str) -> None:
    result = cli(*_small(small, "--product", "nosuch"), expect=2)
    assert result.stderr.startswith("error: no product 'nosuch' (--product)")


def test_an_unusable_stored_sla_is_refused(cli: Run, small: Path, store: str) -> None:
    _product(store, "churn", Sla(quality_metric="roc_auc", quality_threshold=0.9))
    engine = create_engine(store)  # a value stored before the store checked it
    with engine.begin() as conn:
        conn.execute(text("UPDATE products SET sla_quality_threshold = 1.5"))
    engine.dispose()
    result = cli(*_small(small, "--product", "churn"), expect=2)
    assert "the quality SLA of churn: threshold roc_auc=1.5 is out of range" in result.stderr
    assert "(--product)" in result.stderr
    with Registry(store) as reg:
        assert reg.monitoring_runs("churn") == []


# --- -o: checked first, landed together with the stored run ---------------------------


def test_the_report_and_the_stored_run_land_together(
    cli: Run, small: Path, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _product(store, "churn")
    out = small / "report.json"
    cli(*_small(small, "-f", "json", "-o", str(out), "--product", "churn"))
    written = json.loads(out.read_text())
    with Registry(store) as reg:
        (run,) = reg.monitoring_runs("churn")
    assert run.result["chunks"] == written["chunks"]

    table = small / "report.txt"  # a table goes to the file as plain text
    cli(*_small(small, "-o", str(table)))
    assert "every metric within its threshold" in table.read_text()
    assert "\x1b[" not in table.read_text()

    def broken(*_: object, **__: object) -> None:
        raise StoreError("the store went away")

    monkeypatch.setattr(Registry, "record_monitoring", broken)
    again = small / "again.json"
    before = sorted(small.iterdir())
    result = cli(*_small(small, "-f", "json", "-o", str(again), "--product", "churn"), expect=2)
    assert "the store went away" in result.stderr
    assert sorted(small.iterdir()) == before  # neither the report nor a temporary file


def test_an_unusable_output_is_refused_before_any_work(
    cli: Run, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import postpilot.performance.run as run

    def never(*_: object, **__: object) -> None:
        raise AssertionError("estimated before checking the output")

    monkeypatch.setattr(run, "estimate_performance", never)
    result = cli(*_small(small, "-f", "html", "-o", str(small / "no" / "r.html")), expect=2)
    assert "(--output)" in result.stderr
