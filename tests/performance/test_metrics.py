"""Realized metrics agree with scikit-learn, say nan where undefined, and reject bad input."""

from __future__ import annotations

import doctest
import inspect
import math
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from sklearn import metrics as sk
from sklearn.exceptions import UndefinedMetricWarning

import postpilot.performance.metrics as metrics_module
from postpilot.errors import InputError
from postpilot.performance.metrics import METRICS, metric_info, realized, realized_many

CLASSIFICATION = ["roc_auc", "f1", "precision", "recall", "specificity", "accuracy", "log_loss"]
REGRESSION = ["mae", "mape", "mse", "rmse", "r2"]
LABEL_METRICS = ["f1", "precision", "recall", "specificity", "accuracy"]


def tight(expected: float, *, nan_ok: bool = False) -> Any:
    """Equal to 1e-12, relative or absolute."""
    return pytest.approx(expected, rel=1e-12, abs=1e-12, nan_ok=nan_ok)


# --- scikit-learn references --------------------------------------------------------


def sk_log_loss(y: Any, proba: Any, labels: Any) -> float:
    if "y_proba" in inspect.signature(sk.log_loss).parameters:  # renamed in 1.9
        return float(sk.log_loss(y, y_proba=proba, labels=labels))
    return float(sk.log_loss(y, proba, labels=labels))


def sk_specificity(y: Any, pred: Any, labels: Any, *, binary: bool) -> float:
    with warnings.catch_warnings():  # one label in all: sklearn warns about the 1x1 shape
        warnings.filterwarnings("ignore", "A single label was found", UserWarning)
        matrix = sk.confusion_matrix(y, pred, labels=labels)
    tp = np.diag(matrix)
    fp = matrix.sum(axis=0) - tp
    tn = matrix.sum() - matrix.sum(axis=1) - fp
    with np.errstate(invalid="ignore"):
        per_class = tn / (tn + fp)
    if binary:  # class 1 is the positive one
        return float(per_class[1])
    defined = per_class[~np.isnan(per_class)]
    return float(defined.mean()) if defined.size else math.nan


def reference(
    metric: str,
    problem: str,
    y: Any,
    *,
    pred: Any = None,
    proba: Any = None,
    classes: Any = None,
) -> float:
    """scikit-learn's value, with the module's documented conventions."""
    binary = problem == "binary"
    labels = [0, 1] if binary else classes
    average = "binary" if binary else "macro"
    label_kw = {} if binary else {"labels": classes}
    if metric == "roc_auc":
        if binary:
            return float(sk.roc_auc_score(y, proba))
        return float(sk.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels))
    if metric == "log_loss":
        return sk_log_loss(y, proba, labels)
    if metric == "accuracy":
        return float(sk.accuracy_score(y, pred))
    if metric == "specificity":
        if labels is None:
            labels = sorted(set(np.asarray(y).tolist()) | set(np.asarray(pred).tolist()))
        return sk_specificity(y, pred, labels, binary=binary)
    if metric in ("f1", "precision", "recall"):
        score = {"f1": sk.f1_score, "precision": sk.precision_score, "recall": sk.recall_score}
        return float(score[metric](y, pred, average=average, zero_division=np.nan, **label_kw))
    regression = {
        "mae": sk.mean_absolute_error,
        "mape": sk.mean_absolute_percentage_error,
        "mse": sk.mean_squared_error,
        "rmse": sk.root_mean_squared_error,
        "r2": sk.r2_score,
    }
    return float(regression[metric](y, pred))


def probabilities(rng: np.random.Generator, n: int, k: int, *, ties: bool) -> NDArray[np.float64]:
    raw = rng.integers(1, 4, size=(n, k)).astype(float) if ties else rng.random((n, k)) + 0.01
    rows: NDArray[np.float64] = raw / raw.sum(axis=1, keepdims=True)
    return rows


# --- the catalogue -----------------------------------------------------------------


def test_docstring_examples_run() -> None:
    result = doctest.testmod(metrics_module, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_catalogue() -> None:
    assert set(METRICS) == set(CLASSIFICATION) | set(REGRESSION)
    for name, info in METRICS.items():
        assert info.name == name
        assert info.label
        assert info.needs_proba == (name in ("roc_auc", "log_loss"))
        assert info.higher_is_better == (name not in ("log_loss", "mae", "mape", "mse", "rmse"))
        expected = {"binary", "multiclass"} if name in CLASSIFICATION else {"regression"}
        assert info.problems == expected
    assert (METRICS["r2"].lower, METRICS["r2"].upper) == (None, 1.0)
    assert (METRICS["roc_auc"].lower, METRICS["roc_auc"].upper) == (0.0, 1.0)
    assert (METRICS["log_loss"].lower, METRICS["log_loss"].upper) == (0.0, None)


def test_metric_info_errors_list_the_valid_metrics() -> None:
    assert metric_info("roc_auc", "multiclass") is METRICS["roc_auc"]
    with pytest.raises(InputError, match="unknown metric 'auc'") as unknown:
        metric_info("auc", "binary")
    assert unknown.value.field == "metric"
    assert unknown.value.hint is not None
    assert "roc_auc" in unknown.value.hint
    assert "mae" not in unknown.value.hint
    with pytest.raises(InputError, match="does not apply to regression") as wrong:
        metric_info("f1", "regression")
    assert wrong.value.field == "metric"
    assert wrong.value.hint == "Use one of: mae, mape, mse, rmse, r2"
    with pytest.raises(InputError, match="unknown problem") as problem:
        metric_info("f1", "ranking")
    assert problem.value.field == "problem"


# --- agreement with scikit-learn on random data --------------------------------------


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("metric", CLASSIFICATION)
def test_binary_matches_sklearn(metric: str, seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 3_000))
    y = rng.integers(0, 2, n)
    proba = rng.integers(0, 11, n) / 10 if ties else rng.random(n)
    pred = (proba > rng.random(n)).astype(int)
    ours = realized(metric, "binary", y, y_pred=pred, y_proba=proba)
    assert ours == tight(reference(metric, "binary", y, pred=pred, proba=proba))


@pytest.mark.parametrize("dtype", [bool, np.int8, np.float32, float])
def test_binary_accepts_any_zero_one_dtype(dtype: type) -> None:
    rng = np.random.default_rng(7)
    y, pred, proba = rng.integers(0, 2, 200), rng.integers(0, 2, 200), rng.random(200)
    for metric in CLASSIFICATION:
        expected = realized(metric, "binary", y, y_pred=pred, y_proba=proba)
        got = realized(metric, "binary", y.astype(dtype), y_pred=pred.astype(dtype), y_proba=proba)
        assert got == expected


CLASS_SETS = [["cat", "dog", "eel"], ["alpha", "bravo", "charlie", "delta", "echo"]]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("classes", CLASS_SETS, ids=["3", "5"])
@pytest.mark.parametrize("metric", CLASSIFICATION)
def test_multiclass_matches_sklearn(metric: str, classes: list[str], seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(50, 3_000)), len(classes)
    labels = np.array(classes)
    y = labels[rng.integers(0, k, n)]
    proba = probabilities(rng, n, k, ties=ties)
    pred = labels[proba.argmax(axis=1)]
    expected = reference(metric, "multiclass", y, pred=pred, proba=proba, classes=classes)
    got = realized(metric, "multiclass", y, y_pred=pred, y_proba=proba, classes=classes)
    assert got == tight(expected)
    as_objects = realized(
        metric, "multiclass", y.astype(object), y_pred=pred, y_proba=proba, classes=classes
    )
    assert as_objects == got
    if not METRICS[metric].needs_proba:  # classes default to the sorted union of the labels
        assert realized(metric, "multiclass", y, y_pred=pred) == tight(got)


@pytest.mark.parametrize("metric", CLASSIFICATION)
def test_multiclass_columns_follow_classes_in_any_order(metric: str) -> None:
    rng = np.random.default_rng(3)
    classes = [0, 1, 2, 3]
    y = rng.integers(0, 4, 500)
    proba = probabilities(rng, 500, 4, ties=True)
    pred = proba.argmax(axis=1)
    expected = realized(metric, "multiclass", y, y_pred=pred, y_proba=proba, classes=classes)
    order = [2, 0, 3, 1]
    shuffled = realized(
        metric, "multiclass", y, y_pred=pred, y_proba=proba[:, order], classes=order
    )
    assert shuffled == tight(expected)
    assert expected == tight(
        reference(metric, "multiclass", y, pred=pred, proba=proba, classes=classes)
    )


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("metric", REGRESSION)
def test_regression_matches_sklearn(metric: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3_000))
    y = rng.normal(10, 5, n)
    y[: n // 10] = 0.0  # mape's floor at machine epsilon
    pred = y + rng.normal(0, 2, n)
    ours = realized(metric, "regression", y, y_pred=pred)
    assert ours == tight(reference(metric, "regression", y, pred=pred))
    as_ints = np.round(y).astype(int)
    ours = realized(metric, "regression", as_ints, y_pred=pred)
    assert ours == tight(reference(metric, "regression", as_ints, pred=pred))


def test_log_loss_clips_like_sklearn() -> None:
    y = np.array([0, 1, 1, 0, 1])
    proba = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    assert realized("log_loss", "binary", y, y_proba=proba) == tight(sk_log_loss(y, proba, [0, 1]))
    single = realized("log_loss", "binary", y, y_proba=proba.astype(np.float32))
    assert single == pytest.approx(sk_log_loss(y, proba.astype(np.float32), [0, 1]), rel=1e-6)
    assert single < realized("log_loss", "binary", y, y_proba=proba)  # eps is float32's


def test_realized_many() -> None:
    rng = np.random.default_rng(11)
    y, proba = rng.integers(0, 2, 100), rng.random(100)
    pred = (proba > 0.5).astype(int)
    many = realized_many(CLASSIFICATION, "binary", y, y_pred=pred, y_proba=proba)
    assert list(many) == CLASSIFICATION
    for metric, value in many.items():
        assert value == realized(metric, "binary", y, y_pred=pred, y_proba=proba)


# --- hypothesis properties ------------------------------------------------------------

zero_one = st.integers(0, 1)
scores = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]))  # ties


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(zero_one, zero_one, scores), min_size=1, max_size=80))
def test_binary_property_matches_sklearn(rows: list[tuple[int, int, float]]) -> None:
    y, pred, proba = (np.array(column) for column in zip(*rows, strict=True))
    for metric in ["f1", "precision", "recall", "specificity", "accuracy", "log_loss"]:
        ours = realized(metric, "binary", y, y_pred=pred, y_proba=proba)
        expected = reference(metric, "binary", y, pred=pred, proba=proba)
        assert ours == tight(expected, nan_ok=True), metric
    auc = realized("roc_auc", "binary", y, y_proba=proba)
    if len(set(y.tolist())) < 2:
        assert math.isnan(auc)
        return
    assert auc == tight(reference("roc_auc", "binary", y, proba=proba))
    flipped = realized("roc_auc", "binary", 1 - y, y_proba=proba)
    assert auc + flipped == tight(1.0)
    order = np.random.default_rng(len(rows)).permutation(len(rows))
    assert realized("roc_auc", "binary", y[order], y_proba=proba[order]) == auc


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcde"), st.sampled_from("abcde")), min_size=1, max_size=80)
)
def test_multiclass_labels_property_matches_sklearn(rows: list[tuple[str, str]]) -> None:
    y, pred = (np.array(column) for column in zip(*rows, strict=True))
    classes = list("abcde")
    for metric in LABEL_METRICS:
        for given_classes in (classes, None):
            ours = realized(metric, "multiclass", y, y_pred=pred, classes=given_classes)
            expected = reference(metric, "multiclass", y, pred=pred, classes=given_classes)
            assert ours == tight(expected, nan_ok=True), (metric, given_classes)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(3, 5).flatmap(
        lambda k: st.lists(
            st.tuples(st.integers(0, k - 1), st.lists(st.integers(1, 3), min_size=k, max_size=k)),
            min_size=k,
            max_size=60,
        )
    )
)
def test_multiclass_proba_property_matches_sklearn(rows: list[tuple[int, list[int]]]) -> None:
    y = np.array([row[0] for row in rows])
    weights = np.array([row[1] for row in rows], dtype=float)
    proba = weights / weights.sum(axis=1, keepdims=True)
    classes = list(range(proba.shape[1]))
    loss = realized("log_loss", "multiclass", y, y_proba=proba, classes=classes)
    assert loss == tight(sk_log_loss(y, proba, classes))
    auc = realized("roc_auc", "multiclass", y, y_proba=proba, classes=classes)
    present = sorted(set(y.tolist()))
    if len(present) == 1:
        assert math.isnan(auc)
    elif len(present) == len(classes):
        expected = reference("roc_auc", "multiclass", y, proba=proba, classes=classes)
        assert auc == tight(expected)
    else:  # a class missing from y_true is skipped; scikit-learn would say nan
        per_class = [sk.roc_auc_score(y == c, proba[:, c]) for c in present]
        assert auc == tight(float(np.mean(per_class)))


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=2, max_size=80))
def test_regression_property_matches_sklearn(rows: list[tuple[float, float]]) -> None:
    y, pred = (np.array(column) for column in zip(*rows, strict=True))
    for metric in ["mae", "mape", "mse", "rmse"]:
        ours = realized(metric, "regression", y, y_pred=pred)
        assert ours == tight(reference(metric, "regression", y, pred=pred))
    assume(np.ptp(y) > 1e-3)  # constant: nan here, a stand-in in sklearn; tiny: overflow
    r2 = realized("r2", "regression", y, y_pred=pred)
    assert r2 == tight(reference("r2", "regression", y, pred=pred))
    assert r2 <= 1.0


# --- undefined values are nan --------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "y", "pred"),
    [
        ("precision", [1, 0, 1], [0, 0, 0]),  # nothing predicted positive
        ("recall", [0, 0, 0], [1, 0, 1]),  # nothing actually positive
        ("specificity", [1, 1, 1], [1, 0, 1]),  # nothing actually negative
        ("f1", [0, 0, 0], [0, 0, 0]),  # no positives either way
    ],
)
def test_undefined_binary_ratios_are_nan(metric: str, y: list[int], pred: list[int]) -> None:
    assert math.isnan(realized(metric, "binary", np.array(y), y_pred=np.array(pred)))


def test_defined_neighbours_of_undefined_ratios() -> None:
    y, nothing = np.array([1, 0, 1]), np.zeros(3, dtype=int)
    assert realized("f1", "binary", y, y_pred=nothing) == 0.0  # recall 0 is real
    assert realized("recall", "binary", y, y_pred=nothing) == 0.0
    with warnings.catch_warnings():  # scikit-learn's default says 0.0 for the undefined one
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        assert sk.precision_score(y, nothing) == 0.0


def test_roc_auc_with_one_class_is_nan() -> None:
    y, proba = np.ones(10, dtype=int), np.linspace(0, 1, 10)
    assert math.isnan(realized("roc_auc", "binary", y, y_proba=proba))
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(sk.roc_auc_score(y, proba))
    three = probabilities(np.random.default_rng(0), 10, 3, ties=False)
    y_cat = np.array(["b"] * 10)
    got = realized("roc_auc", "multiclass", y_cat, y_proba=three, classes=["a", "b", "c"])
    assert math.isnan(got)


def test_multiclass_macro_skips_undefined_classes() -> None:
    y = np.array(["a", "b", "a", "b"])
    pred = np.array(["a", "a", "a", "b"])
    # c is neither actual nor predicted: precision, recall and f1 of c are undefined
    got = realized("precision", "multiclass", y, y_pred=pred, classes=["a", "b", "c"])
    assert got == tight((2 / 3 + 1) / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        default = sk.precision_score(y, pred, labels=["a", "b", "c"], average="macro")
    assert default == pytest.approx((2 / 3 + 1 + 0) / 3)  # scikit-learn's default counts it as 0


def test_multiclass_roc_auc_skips_a_missing_class() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)  # class 2 never occurs
    proba = probabilities(rng, 300, 3, ties=False)
    got = realized("roc_auc", "multiclass", y, y_proba=proba, classes=[0, 1, 2])
    expected = np.mean([sk.roc_auc_score(y == c, proba[:, c]) for c in (0, 1)])
    assert got == tight(expected)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(
            sk.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=[0, 1, 2])
        )


def test_r2_undefined_cases_are_nan() -> None:
    constant = np.full(5, 3.0)
    assert math.isnan(realized("r2", "regression", constant, y_pred=constant))
    assert math.isnan(realized("r2", "regression", constant, y_pred=constant + 1))
    assert math.isnan(realized("r2", "regression", np.array([1.0]), y_pred=np.array([2.0])))
    assert sk.r2_score(constant, constant) == 1.0  # scikit-learn's stand-ins
    assert sk.r2_score(constant, constant + 1) == 0.0


@pytest.mark.parametrize("metric", CLASSIFICATION)
@pytest.mark.parametrize("problem", ["binary", "multiclass"])
def test_empty_classification_is_nan(metric: str, problem: str) -> None:
    empty = np.array([], dtype=int)
    proba = np.empty(0) if problem == "binary" else np.empty((0, 3))
    classes = [0, 1, 2] if problem == "multiclass" else None
    got = realized(metric, problem, empty, y_pred=empty, y_proba=proba, classes=classes)
    assert math.isnan(got)


@pytest.mark.parametrize("metric", REGRESSION)
def test_empty_regression_is_nan(metric: str) -> None:
    assert math.isnan(realized(metric, "regression", np.empty(0), y_pred=np.empty(0)))


# --- bad input ----------------------------------------------------------------------

Y = np.array([0, 1, 1, 0])
P = np.array([0.2, 0.7, 0.6, 0.4])
Y3 = np.array(["a", "b", "c", "a"])
P3 = np.full((4, 3), 1 / 3)
ABC = ["a", "b", "c"]

BAD: list[tuple[str, str, str, dict[str, Any]]] = [
    ("length", "f1", "y_pred", {"y_true": Y, "y_pred": Y[:3]}),
    ("proba length", "roc_auc", "y_proba", {"y_true": Y, "y_proba": P[:3]}),
    ("missing proba", "roc_auc", "y_proba", {"y_true": Y, "y_pred": Y}),
    ("missing pred", "f1", "y_pred", {"y_true": Y, "y_proba": P}),
    ("proba above 1", "log_loss", "y_proba", {"y_true": Y, "y_proba": P + 0.5}),
    ("proba negative", "roc_auc", "y_proba", {"y_true": Y, "y_proba": P - 0.5}),
    ("proba nan", "roc_auc", "y_proba", {"y_true": Y, "y_proba": np.array([0.1, np.nan, 0, 1])}),
    ("proba strings", "roc_auc", "y_proba", {"y_true": Y, "y_proba": np.array(list("abcd"))}),
    ("binary 2-D proba", "roc_auc", "y_proba", {"y_true": Y, "y_proba": np.c_[1 - P, P]}),
    ("2-D y_true", "f1", "y_true", {"y_true": Y[:, None], "y_pred": Y}),
    ("binary y_true 2", "f1", "y_true", {"y_true": Y + 1, "y_pred": Y}),
    ("binary y_pred 0.5", "f1", "y_pred", {"y_true": Y, "y_pred": P}),
    ("binary strings", "f1", "y_true", {"y_true": np.array(list("abab")), "y_pred": Y}),
]
BAD_MULTI: list[tuple[str, str, str, dict[str, Any]]] = [
    ("no classes", "roc_auc", "classes", {"y_true": Y3, "y_proba": P3}),
    ("columns", "log_loss", "y_proba", {"y_true": Y3, "y_proba": P3[:, :2], "classes": ABC}),
    ("1-D proba", "roc_auc", "y_proba", {"y_true": Y3, "y_proba": P3[:, 0], "classes": ABC}),
    ("rows", "roc_auc", "y_proba", {"y_true": Y3, "y_proba": P3 * 0.9, "classes": ABC}),
    (
        "unknown true",
        "log_loss",
        "y_true",
        {"y_true": Y3, "y_proba": P3, "classes": ["a", "b", "d"]},
    ),
    (
        "unknown pred",
        "f1",
        "y_pred",
        {"y_true": Y3, "y_pred": np.array(list("abcz")), "classes": ABC},
    ),
    ("int vs str", "f1", "y_true", {"y_true": Y, "y_pred": Y, "classes": ABC}),
    ("mixed labels", "f1", "y_pred", {"y_true": Y3, "y_pred": Y}),
    ("mixed objects", "f1", "y_pred", {"y_true": Y3.astype(object), "y_pred": Y.astype(object)}),
    ("repeated class", "f1", "classes", {"y_true": Y3, "y_pred": Y3, "classes": ["a", "b", "a"]}),
    ("one class", "f1", "classes", {"y_true": Y3, "y_pred": Y3, "classes": ["a"]}),
]
BAD_REGRESSION: list[tuple[str, str, str, dict[str, Any]]] = [
    ("nan", "mae", "y_pred", {"y_true": P, "y_pred": np.array([1.0, np.nan, 2, 3])}),
    ("inf", "r2", "y_true", {"y_true": np.array([1.0, np.inf, 2, 3]), "y_pred": P}),
    ("strings", "mse", "y_true", {"y_true": np.array(list("abcd")), "y_pred": P}),
    ("length", "rmse", "y_pred", {"y_true": P, "y_pred": P[:2]}),
    ("missing", "mape", "y_pred", {"y_true": P}),
]


@pytest.mark.parametrize(
    ("problem", "metric", "field", "kwargs"),
    [pytest.param("binary", *case[1:], id=case[0]) for case in BAD]
    + [pytest.param("multiclass", *case[1:], id=case[0]) for case in BAD_MULTI]
    + [pytest.param("regression", *case[1:], id=case[0]) for case in BAD_REGRESSION],
)
def test_bad_input_names_the_argument(
    problem: str, metric: str, field: str, kwargs: dict[str, Any]
) -> None:
    y_true = kwargs.pop("y_true")
    with pytest.raises(InputError) as raised:
        realized(metric, problem, y_true, **kwargs)
    assert raised.value.field == field
    assert field in raised.value.message
    assert "\n" not in str(raised.value)
