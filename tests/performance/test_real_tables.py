"""Performance alerts on NannyML's bundled real and synthetic tables.

- US census employment (Massachusetts, 2015 reference, 2016-2018 analysis): realized
  F1 rises above the reference chunks' range in six of eleven 20,000-row chunks and
  falls below it in two. Only the falls alert by default; the rises are reported.
- CBPE fitted on scores from a narrower range than the analysis's: the chunks with
  scores outside the calibrated range are flagged, the others are not.
"""

from __future__ import annotations

import functools
import warnings

import polars as pl
import pytest

from postpilot.performance.results import PerformanceReport
from postpilot.performance.run import PerformanceOptions, estimate_performance
from tests.realdata import nannyml_table, random_halves


@functools.cache
def _labelled(name: str, target: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """NannyML's reference and analysis, with the analysis targets joined by id."""
    with warnings.catch_warnings():  # importing nannyml warns (pyspark, pandas 3)
        warnings.simplefilter("ignore")
        import nannyml

        reference, analysis = nannyml_table(name)
        targets = pl.from_pandas(getattr(nannyml.datasets, f"load_{name}")()[2])
    return reference, analysis.join(targets.select("id", target), on="id", how="left")


Flags = set[tuple[str, str]]


def _census(
    analysis: pl.DataFrame | None = None, alert_direction: str = "worse"
) -> tuple[PerformanceReport, Flags, Flags]:
    reference, full = _labelled("us_census_ma_employment_data", "employed")
    options = PerformanceOptions(
        problem="binary",
        y_true="employed",
        y_pred="prediction",
        y_pred_proba="predicted_probability",
        metrics=["f1", "roc_auc"],
        chunk_size=20_000,
        alert_direction=alert_direction,
    )
    report = estimate_performance(reference, full if analysis is None else analysis, options)
    flagged = {(a["chunk"], a["metric"]) for a in report.alerts}
    better = {(a["chunk"], a["metric"]) for a in report.improvements}
    return report, flagged, better


def test_census_improving_f1_is_reported_not_alerted_by_default() -> None:
    report, flagged, better = _census()
    rises = {(str(k), "f1") for k in (3, 4, 5, 8, 9, 10)}
    assert better == rises  # realized F1 above the reference chunks' ceiling
    # By default only the real drops alert: F1 in 2017's chunk 6 and 2018's chunk 7
    # (0.779 and 0.810 against a floor of 0.821), ROC AUC in chunk 6 (realized 0.896).
    assert flagged == {("6", "f1"), ("7", "f1"), ("6", "roc_auc")}
    assert all(a["change"] == "worse" for a in report.alerts)
    page = report.to_html()
    assert "ALERT: chunk 6, f1 (worse)." in page
    assert "(reported, not alerted): f1 in chunk 3, f1 in chunk 4" in page
    assert report.settings["alert_direction"] == "worse"

    _, either, _ = _census(alert_direction="either")
    assert either == flagged | rises  # 8 of 11 chunks, as before this option existed
    _, only_better, _ = _census(alert_direction="better")
    assert only_better == rises

    # The 2018 tail, where the model only improved: no alert unless asked for.
    _, full = _labelled("us_census_ma_employment_data", "employed")
    tail = full.slice(160_000)
    report, flagged, better = _census(tail)
    assert not report.alert
    assert flagged == set()
    assert better == {("0", "f1"), ("1", "f1"), ("2", "f1")}
    assert _census(tail, alert_direction="either")[1] == better


def _synthetic_binary() -> tuple[pl.DataFrame, pl.DataFrame]:
    return _labelled("synthetic_binary_classification_dataset", "work_home_actual")


def _cbpe(reference: pl.DataFrame, analysis: pl.DataFrame) -> PerformanceReport:
    return estimate_performance(
        reference,
        analysis,
        PerformanceOptions(
            problem="binary",
            y_true="work_home_actual",
            y_pred="y_pred",
            y_pred_proba="y_pred_proba",
            metrics=["roc_auc", "accuracy"],
            chunk_size=5000,
        ),
    )


def test_scores_outside_the_calibrated_range_are_flagged() -> None:
    reference, analysis = _synthetic_binary()
    moderate = pl.col("y_pred_proba").is_between(0.1, 0.9)
    # The reference saw only moderately confident scores; from chunk 3 on the model
    # is confident on about 60 % of rows, outside what the calibrator was fitted on.
    pushed = pl.concat([analysis.filter(moderate).head(15_000), analysis.tail(25_000)])
    report = _cbpe(reference.filter(moderate), pushed)
    chunks = report.chunks
    shares = [c.scores_outside_reference for c in chunks]
    assert shares[:3] == [0.0, 0.0, 0.0]
    assert all(s is not None and 0.5 < s < 0.7 for s in shares[3:]), shares
    assert [bool(c.warnings) for c in chunks] == [False] * 3 + [True] * 5
    assert "outside the reference's range [0.1, 0.9]" in chunks[3].warnings[0]
    below, above = chunks[3].scores_below_reference, chunks[3].scores_above_reference
    assert below is not None
    assert above is not None
    assert below + above == pytest.approx(shares[3])
    data = report.to_dict()
    assert [w["chunk"] for w in data["warnings"]] == ["3", "4", "5", "6", "7"]
    assert data["chunks"][3]["scores_outside_reference"] == pytest.approx(shares[3])
    assert data["settings"]["scores_outside_warning"] == 0.10
    assert "Warning, chunk 3: 5" in report.to_html()
    # Where the calibration is extrapolated the estimate is further off.
    error = [abs((c.metrics[0].estimated or 0) - (c.metrics[0].realized or 0)) for c in chunks]
    assert max(error[:3]) < min(error[3:7])


def test_random_halves_of_a_reference_are_not_flagged() -> None:
    reference, _ = _synthetic_binary()
    moderate = reference.filter(pl.col("y_pred_proba").is_between(0.1, 0.9))
    for fit, other in random_halves(moderate, 5):
        report = _cbpe(fit, other)
        assert report.to_dict()["warnings"] == []
        assert all((c.scores_outside_reference or 0) < 0.01 for c in report.chunks)
