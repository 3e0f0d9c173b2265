from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from postpilot import Registry
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


def _ingest(cli: Run, path: Path) -> None:
    cli(
        "labels", "ingest", str(path), "--product", "churn", "--id-column", "pid",
        "--label-column", "y",
    )  # fmt: skip


def _realized(cli: Run, files: Path) -> list[list[float | None]]:
    result = as_json(
        cli(*_args(files, "analysis.parquet", "-f", "json", "--product", "churn",
                   "--id-column", "pid"))
    )  # fmt: skip
    return [[m["realized"] for m in c["metrics"]] for c in result["chunks"]]


def test_late_labels_in_two_parts_equal_labels_at_once(cli: Run, files: Path) -> None:
    cli("product", "create", "churn")
    analysis = _binary(6, 8000)
    analysis.drop("y").write_parquet(files / "analysis.parquet")
    labels = analysis.select("pid", "y")
    labels.head(3000).write_csv(files / "first.csv")
    labels.tail(5000).write_csv(files / "second.csv")
    labels.write_csv(files / "all.csv")

    before = _realized(cli, files)
    assert all(v is None for chunk in before for v in chunk)
    _ingest(cli, files / "first.csv")
    partial = _realized(cli, files)
    assert partial[0][0] is not None  # chunks fill in as labels land
    assert partial[3][0] is None
    _ingest(cli, files / "second.csv")
    in_two = _realized(cli, files)

    cli("product", "create", "churn2")
    cli(
        "labels", "ingest", str(files / "all.csv"), "--product", "churn2", "--id-column", "pid",
        "--label-column", "y",
    )  # fmt: skip
    once = as_json(
        cli(*_args(files, "analysis.parquet", "-f", "json", "--product", "churn2",
                   "--id-column", "pid"))
    )  # fmt: skip
    assert in_two == [[m["realized"] for m in c["metrics"]] for c in once["chunks"]]
    with_labels = as_json(cli(*_args(files, "analysis.parquet", "-f", "json")))
    assert all(
        v is None for c in with_labels["chunks"] for m in c["metrics"] for v in [m["realized"]]
    )
    analysis.write_parquet(files / "labelled.parquet")
    direct = as_json(cli(*_args(files, "labelled.parquet", "-f", "json")))
    assert in_two == [[m["realized"] for m in c["metrics"]] for c in direct["chunks"]]

    with Registry() as reg:
        runs = reg.monitoring_runs("churn")
        assert {r.kind for r in runs} == {"performance"}
        assert reg.audit_log(product="churn")[-1].action == "monitoring.performance"


def test_id_column_without_product_is_refused(cli: Run, files: Path) -> None:
    result = cli(*_args(files, "steady.csv", "--id-column", "pid"), expect=2)
    assert "--product" in result.stderr


def test_the_products_sla_is_the_threshold(cli: Run, files: Path) -> None:
    cli("product", "create", "churn", "--sla-metric", "roc_auc", "--sla-threshold", "0.99")
    result = as_json(cli(*_args(files, "steady.csv", "-f", "json", "--product", "churn"), expect=1))
    assert result["thresholds"]["roc_auc"] == {"lower": 0.99, "upper": None, "source": "sla"}
    assert result["thresholds"]["f1"]["source"] == "reference chunks"
    explicit = _args(files, "steady.csv", "-f", "json", "--product", "churn", "--threshold",
                     "roc_auc=0.5")  # fmt: skip
    assert as_json(cli(*explicit))["thresholds"]["roc_auc"]["lower"] == 0.5
