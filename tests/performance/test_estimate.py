"""CBPE, DLE and the per-chunk run: estimates, bands, thresholds, alerts, late labels."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from postpilot.errors import InputError
from postpilot.performance.cbpe import CBPE, expected_roc_auc
from postpilot.performance.dle import DLE
from postpilot.performance.metrics import realized
from postpilot.performance.run import PerformanceOptions, estimate_performance


def _binary(rng: np.random.Generator, n: int, shift: float = 0.0) -> pl.DataFrame:
    """A calibrated binary model: the label is 1 with exactly the score's probability."""
    x = rng.normal(shift, 1.0, n)
    score = 1 / (1 + np.exp(-2 * x))
    y = (rng.random(n) < score).astype(int)
    return pl.DataFrame({"x": x, "score": score, "pred": (score >= 0.5).astype(int), "y": y})


def test_expected_auc_is_the_realized_auc_when_labels_are_certain() -> None:
    rng = np.random.default_rng(1)
    scores = rng.choice([0.1, 0.3, 0.3, 0.5, 0.8, 0.9], size=500)  # many ties
    labels = (rng.random(500) < scores).astype(float)
    assert expected_roc_auc(scores, labels) == pytest.approx(
        realized("roc_auc", "binary", labels, y_proba=scores), abs=1e-12
    )


def test_expected_confusion_metrics_are_realized_ones_when_labels_are_certain() -> None:
    rng = np.random.default_rng(2)
    scores = rng.random(1000)
    labels = (rng.random(1000) < scores).astype(int)
    pred = (scores > 0.5).astype(int)
    cbpe = CBPE("binary")
    for metric in ["precision", "recall", "f1", "specificity", "accuracy"]:
        got = cbpe._binary_metric(metric, scores, labels.astype(float), pred)
        assert got == pytest.approx(realized(metric, "binary", labels, y_pred=pred), abs=1e-12)


def test_cbpe_tracks_realized_performance_under_covariate_shift() -> None:
    rng = np.random.default_rng(3)
    reference = _binary(rng, 20_000)
    cbpe = CBPE("binary").fit(reference["y"].to_numpy(), reference["score"].to_numpy())
    for shift in (0.0, 0.8, 1.6):  # inputs move: performance really changes
        chunk = _binary(rng, 20_000, shift)
        truth = chunk["y"].to_numpy()
        got = cbpe.estimate(
            ["roc_auc", "accuracy"], chunk["score"].to_numpy(), chunk["pred"].to_numpy()
        )
        assert got["roc_auc"] == pytest.approx(
            realized("roc_auc", "binary", truth, y_proba=chunk["score"].to_numpy()), abs=0.01
        )
        assert got["accuracy"] == pytest.approx(
            realized("accuracy", "binary", truth, y_pred=chunk["pred"].to_numpy()), abs=0.01
        )


def test_multiclass_calibration_matches_classes_by_name() -> None:
    rng = np.random.default_rng(4)
    n = 6000
    proba = rng.dirichlet([1, 1, 1], n)
    classes = ["b", "c", "a"]
    truth = np.array([classes[rng.choice(3, p=p)] for p in proba])
    pred = np.array(classes)[proba.argmax(axis=1)]
    first = CBPE("multiclass", classes).fit(truth, proba).estimate(["accuracy", "f1"], proba, pred)
    order = [2, 0, 1]
    other = CBPE("multiclass", [classes[i] for i in order]).fit(truth, proba[:, order])
    second = other.estimate(["accuracy", "f1"], proba[:, order], pred)
    assert first == pytest.approx(second, abs=1e-12)
    assert first["accuracy"] == pytest.approx(
        realized("accuracy", "multiclass", truth, y_pred=pred), abs=0.03
    )


def _regression(rng: np.random.Generator, n: int, noisy_share: float) -> pl.DataFrame:
    """Errors are 10x larger where segment == 'noisy'."""
    segment = np.where(rng.random(n) < noisy_share, "noisy", "calm")
    x = rng.normal(0, 1, n)
    pred = 3 * x + 10
    noise = rng.normal(0, np.where(segment == "noisy", 5.0, 0.5))
    return pl.DataFrame({"x": x, "segment": segment, "pred": pred, "y": pred + noise})


def test_dle_sees_more_error_when_the_noisy_segment_grows() -> None:
    rng = np.random.default_rng(5)
    reference = _regression(rng, 20_000, 0.2)
    dle = DLE(["x", "segment"], ["mae", "rmse", "r2"]).fit(
        reference.select("x", "segment"), reference["pred"].to_numpy(), reference["y"].to_numpy()
    )
    for share in (0.2, 0.6):
        chunk = _regression(rng, 10_000, share)
        got = dle.estimate(["mae", "rmse", "r2"], chunk.select("x", "segment"), chunk["pred"])
        truth, pred = chunk["y"].to_numpy(), chunk["pred"].to_numpy()
        for metric in ("mae", "rmse"):
            want = realized(metric, "regression", truth, y_pred=pred)
            assert got[metric] == pytest.approx(want, rel=0.05), (share, metric)
        assert got["r2"] == pytest.approx(
            realized("r2", "regression", truth, y_pred=pred), abs=0.03
        )


def _options(**kw: object) -> PerformanceOptions:
    base: dict[str, object] = {
        "problem": "binary",
        "y_true": "y",
        "y_pred": "pred",
        "y_pred_proba": "score",
        "metrics": ["roc_auc", "f1"],
        "chunk_size": 2000,
    }
    base.update(kw)
    return PerformanceOptions(**base)  # type: ignore[arg-type]


def test_no_alert_on_fresh_samples_and_an_alert_when_performance_drops() -> None:
    rng = np.random.default_rng(6)
    reference = _binary(rng, 20_000)
    steady = _binary(rng, 10_000).drop("y")
    report = estimate_performance(reference, steady, _options())
    assert not report.alert
    assert all(m.realized is None for c in report.chunks for m in c.metrics)
    for chunk in report.chunks:
        for m in chunk.metrics:
            assert m.lower is not None
            assert m.upper is not None
            assert m.lower < m.estimated < m.upper  # type: ignore[operator]

    # Inputs move into the region where the model is unsure: ROC AUC falls.
    dropped = pl.concat([_binary(rng, 6000), _binary(rng, 4000, 0.0).with_columns(
        pl.col("x") * 0.1, score=1 / (1 + (-(pl.col("x") * 0.2)).exp()),
    )]).drop("y")  # fmt: skip
    report = estimate_performance(reference, dropped, _options(metrics=["roc_auc"]))
    flags = [c.alert for c in report.chunks]
    assert flags == [False, False, False, True, True]
    assert report.to_dict()["alerts"][0] == {
        "chunk": "3",
        "metric": "roc_auc",
        "estimated": pytest.approx(report.chunks[3].metrics[0].estimated),
        "realized": None,
        "change": "worse",
    }


def test_sla_threshold_replaces_the_reference_range() -> None:
    rng = np.random.default_rng(7)
    reference = _binary(rng, 10_000)
    report = estimate_performance(
        reference, _binary(rng, 4000).drop("y"), _options(thresholds={"roc_auc": 0.99})
    )
    assert report.thresholds["roc_auc"].source == "sla"
    assert report.thresholds["roc_auc"].lower == 0.99
    assert report.thresholds["roc_auc"].upper is None
    assert all(c.alert for c in report.chunks)  # a good model, but not 0.99 good


def test_one_reference_chunk_falls_back_to_the_sampling_error_not_a_zero_band() -> None:
    rng = np.random.default_rng(8)
    reference = _binary(rng, 3000)
    report = estimate_performance(reference, _binary(rng, 3000), _options(chunk_size=5000))
    threshold = report.thresholds["roc_auc"]
    assert threshold.source == "reference sampling error"
    assert threshold.lower is not None
    assert threshold.upper is not None
    assert threshold.upper - threshold.lower > 0.005


def test_realized_values_fill_in_from_labels_joined_by_id() -> None:
    rng = np.random.default_rng(9)
    reference = _binary(rng, 10_000)
    analysis = _binary(rng, 4000).with_row_index("pid").with_columns(pl.col("pid").cast(pl.String))
    labels = dict(zip(analysis["pid"].to_list(), analysis["y"].to_list(), strict=True))
    options = _options(id_column="pid")
    with_column = estimate_performance(reference, analysis, options)
    without = analysis.drop("y")
    joined = estimate_performance(reference, without, options, labels=labels)
    assert joined.to_dict()["chunks"] == with_column.to_dict()["chunks"]
    half = dict(list(labels.items())[:2000])  # the first chunk's labels have arrived
    partial = estimate_performance(reference, without, options, labels=half)
    assert [c.labelled for c in partial.chunks] == [2000, 0]
    assert partial.chunks[0].metrics == joined.chunks[0].metrics
    assert all(m.realized is None for m in partial.chunks[1].metrics)


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        (_options(problem="ranking"), "problem", "unknown problem 'ranking'"),
        (_options(metrics=["mae"]), "metrics", "mae"),
        (_options(y_pred_proba=None), "y_pred_proba", "needs the model's scores"),
        (_options(y_pred=None), "y_pred", "f1 needs the predictions"),
        (_options(y_true="label"), "label", "no column 'label'"),
        (_options(thresholds={"accuracy": 0.9}), "thresholds", "not one of the metrics"),
        (_options(problem="multiclass"), "y_pred_proba", "one probability column per class"),
    ],
)
def test_unusable_input_names_the_field(
    options: PerformanceOptions, field: str, message: str
) -> None:
    rng = np.random.default_rng(10)
    data = _binary(rng, 500)
    with pytest.raises(InputError) as caught:
        estimate_performance(data, data, options)
    assert caught.value.field == field
    assert message in str(caught.value)


def test_binary_labels_must_be_zero_or_one() -> None:
    data = _binary(np.random.default_rng(11), 500).with_columns(
        pl.when(pl.col("y") == 1).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("y")
    )
    with pytest.raises(InputError, match="'no' is not a number"):
        estimate_performance(data, data, _options())


def test_scores_outside_the_calibrated_range_per_row() -> None:
    binary = CBPE("binary").fit(np.array([0, 1, 0, 1]), np.array([0.2, 0.4, 0.6, 0.8]))
    assert binary.score_ranges == [(0.2, 0.8)]
    below, above, either = binary.outside_reference(np.array([0.1, 0.2, 0.5, 0.8, 0.9, 0.95]))
    assert (below, above, either) == pytest.approx((1 / 6, 2 / 6, 3 / 6))
    assert np.isnan(binary.outside_reference(np.array([]))[2])

    # multiclass: a row counts once, when any class's score leaves that class's range
    fitted = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.2, 0.5]])
    multi = CBPE("multiclass", ["a", "b", "c"]).fit(np.array(["a", "b", "c"]), fitted)
    rows = np.array([[0.4, 0.3, 0.3], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8]])
    assert multi.outside_reference(rows) == pytest.approx((1 / 3, 2 / 3, 2 / 3))
