"""Realized performance metrics, numerically equal to scikit-learn's, in numpy.

Conventions, by ``problem``:

* ``"binary"``: ``y_true`` and ``y_pred`` hold 0 and 1 (any int, bool or float
  dtype); ``y_proba`` is 1-D, the probability of class 1.
* ``"multiclass"``: ``y_true`` and ``y_pred`` hold class labels (ints or
  strings); ``y_proba`` is ``(n, k)`` with column ``j`` the probability of
  ``classes[j]``, so ``classes`` is required with ``y_proba``. Without
  ``classes`` the label metrics use the sorted union of ``y_true`` and
  ``y_pred``. Per-class metrics are macro averages (unweighted, one-vs-rest);
  ``roc_auc`` is scikit-learn's ``multi_class="ovr", average="macro"``.
* ``"regression"``: ``y_true`` and ``y_pred`` are finite numbers.

An undefined value is ``nan``, never a stand-in number that would plot like a
real (terrible) result: empty input; ``roc_auc`` when ``y_true`` holds one
class; ``precision`` with no predicted positives; ``recall`` with no actual
positives; ``specificity`` with no actual negatives; ``f1`` with neither; ``r2``
with fewer than two rows or a constant ``y_true`` (zero total sum of squares).
A macro average skips the classes whose value is undefined and is ``nan`` only
if every class is.

Differences from scikit-learn (everything else agrees to rounding):

* precision, recall and f1 equal scikit-learn's with ``zero_division=np.nan``
  (its default gives 0.0 and a warning).
* multiclass ``roc_auc``: scikit-learn is ``nan`` for the whole if any class is
  missing from ``y_true``; here that class is skipped.
* ``r2`` with a constant ``y_true``: scikit-learn gives 1.0 (perfect
  predictions) or 0.0; here ``nan``.
* multiclass ``y_proba`` columns follow ``classes`` in any order (scikit-learn
  wants sorted labels), and rows must sum to 1 (``np.allclose``).

>>> import numpy as np
>>> realized("roc_auc", "binary", np.array([0, 0, 1, 1]), y_proba=np.array([0.1, 0.4, 0.35, 0.8]))
0.75
>>> realized("precision", "binary", np.array([1, 0]), y_pred=np.array([0, 0]))
nan
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from postpilot.errors import InputError

__all__ = ["METRICS", "MetricInfo", "Problem", "metric_info", "realized", "realized_many"]

Problem: TypeAlias = Literal["binary", "multiclass", "regression"]
PROBLEMS: tuple[str, ...] = ("binary", "multiclass", "regression")

ROC_BLOCK_ROWS = 1 << 20
"""Rows ranked at a time by ``roc_auc`` (the result does not depend on it)."""

Floats: TypeAlias = NDArray[np.float64]
Bools: TypeAlias = NDArray[np.bool_]
Codes: TypeAlias = NDArray[np.intp]

_CLASSIFICATION = frozenset({"binary", "multiclass"})
_REGRESSION = frozenset({"regression"})


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is: its label, the problems it fits, its direction and bounds."""

    name: str
    label: str
    problems: frozenset[str]
    needs_proba: bool
    higher_is_better: bool
    lower: float | None
    upper: float | None


def _classification(name: str, label: str, *, proba: bool = False) -> MetricInfo:
    return MetricInfo(name, label, _CLASSIFICATION, proba, True, 0.0, 1.0)


def _loss(
    name: str, label: str, problems: frozenset[str] = _REGRESSION, *, proba: bool = False
) -> MetricInfo:
    return MetricInfo(name, label, problems, proba, False, 0.0, None)


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        _classification("roc_auc", "ROC AUC", proba=True),
        _classification("f1", "F1"),
        _classification("precision", "Precision"),
        _classification("recall", "Recall"),
        _classification("specificity", "Specificity"),
        _classification("accuracy", "Accuracy"),
        _loss("log_loss", "Log loss", _CLASSIFICATION, proba=True),
        _loss("mae", "MAE"),
        _loss("mape", "MAPE"),
        _loss("mse", "MSE"),
        _loss("rmse", "RMSE"),
        MetricInfo("r2", "R²", _REGRESSION, False, True, None, 1.0),
    )
}


def metric_info(name: str, problem: str) -> MetricInfo:
    """Return the metric ``name`` for ``problem``.

    Raises
    ------
    InputError
        The problem is unknown, or the metric is unknown or does not apply to it.
    """
    if problem not in PROBLEMS:
        raise InputError(
            f"unknown problem {problem!r}",
            field="problem",
            hint=f"Use one of: {', '.join(PROBLEMS)}",
        )
    valid = ", ".join(m for m, info in METRICS.items() if problem in info.problems)
    info = METRICS.get(name)
    if info is None:
        raise InputError(f"unknown metric {name!r}", field="metric", hint=f"Use one of: {valid}")
    if problem not in info.problems:
        raise InputError(
            f"metric {name!r} does not apply to {problem} problems",
            field="metric",
            hint=f"Use one of: {valid}",
        )
    return info


def realized(
    metric: str,
    problem: str,
    y_true: np.ndarray[Any, Any],
    *,
    y_pred: np.ndarray[Any, Any] | None = None,
    y_proba: np.ndarray[Any, Any] | None = None,
    classes: Sequence[object] | None = None,
) -> float:
    """Compute ``metric`` from labels and predictions (see the module docstring).

    Parameters
    ----------
    metric, problem
        A key of ``METRICS`` and one of ``"binary"``, ``"multiclass"``, ``"regression"``.
    y_true
        The actual labels or values.
    y_pred, y_proba
        Predicted labels or values, or predicted probabilities for ``roc_auc``
        and ``log_loss``; only the one the metric needs is read.
    classes
        Multiclass only: the labels of ``y_proba``'s columns, in order.

    Returns
    -------
    float
        The metric, or ``nan`` where it is undefined.

    Raises
    ------
    InputError
        An unknown metric, a missing, mis-shaped or out-of-range argument.
    """
    info = metric_info(metric, problem)
    truth = _vector(y_true, "y_true")
    n = truth.shape[0]
    if problem == "regression":
        actual = _numbers(truth, "y_true")
        predicted = _numbers(_vector(_required(y_pred, "y_pred", metric), "y_pred", n), "y_pred")
        return _regression(metric, actual, predicted)
    if info.needs_proba:
        proba = np.asarray(_required(y_proba, "y_proba", metric))
        if problem == "binary":
            positive = _binary(truth, "y_true")
            proba = _binary_proba(proba, n)
            if n == 0:
                return math.nan
            if metric == "roc_auc":
                return _roc_auc(positive, proba)
            return _log_loss(np.where(positive, proba, 1 - proba))
        if classes is None:
            raise InputError(
                f"classes is required for metric {metric!r} on multiclass problems",
                field="classes",
                hint="Pass the labels of y_proba's columns, in column order",
            )
        labels = _classes(classes)
        codes = _encode(truth, "y_true", labels)
        proba = _multiclass_proba(proba, n, labels.shape[0])
        if n == 0:
            return math.nan
        if metric == "log_loss":
            return _log_loss(proba[np.arange(n), codes])
        per_class = [_roc_auc(codes == j, proba[:, j]) for j in range(labels.shape[0])]
        return _nanmean(np.array(per_class))
    pred = _vector(_required(y_pred, "y_pred", metric), "y_pred", n)
    if n == 0:
        return math.nan
    if problem == "binary":
        actual_pos, pred_pos = _binary(truth, "y_true"), _binary(pred, "y_pred")
        if metric == "accuracy":
            return float(np.mean(actual_pos == pred_pos))
        tp = np.count_nonzero(actual_pos & pred_pos)
        fp = np.count_nonzero(pred_pos) - tp
        fn = np.count_nonzero(actual_pos) - tp
        counts = np.array([[tp], [fp], [fn], [n - tp - fp - fn]], dtype=np.int64)
        return _from_counts(metric, counts)
    t_codes, p_codes, k = _label_codes(truth, pred, classes)
    if metric == "accuracy":
        return float(np.mean(t_codes == p_codes))
    matrix = np.bincount(t_codes * k + p_codes, minlength=k * k).reshape(k, k)
    tp_k = np.diagonal(matrix).astype(np.int64)
    fp_k = matrix.sum(axis=0) - tp_k
    fn_k = matrix.sum(axis=1) - tp_k
    return _from_counts(metric, np.stack([tp_k, fp_k, fn_k, n - tp_k - fp_k - fn_k]))


def realized_many(
    metrics: Sequence[str],
    problem: str,
    y_true: np.ndarray[Any, Any],
    *,
    y_pred: np.ndarray[Any, Any] | None = None,
    y_proba: np.ndarray[Any, Any] | None = None,
    classes: Sequence[object] | None = None,
) -> dict[str, float]:
    """Compute several metrics at once: ``{metric: realized(metric, ...)}``."""
    return {
        metric: realized(metric, problem, y_true, y_pred=y_pred, y_proba=y_proba, classes=classes)
        for metric in metrics
    }


# --- metric kernels ---------------------------------------------------------------


def _from_counts(metric: str, counts: NDArray[np.int64]) -> float:
    """Macro average of a per-class metric from rows tp, fp, fn, tn (one column per class)."""
    tp, fp, fn, tn = counts
    if metric == "precision":
        num, den = tp, tp + fp
    elif metric == "recall":
        num, den = tp, tp + fn
    elif metric == "specificity":
        num, den = tn, tn + fp
    else:  # f1, as scikit-learn computes it: 2tp / (2tp + fp + fn)
        num, den = 2 * tp, 2 * tp + fp + fn
    defined = den > 0
    return _nanmean(num[defined] / den[defined]) if defined.any() else math.nan


def _nanmean(values: Floats) -> float:
    """Mean of the defined (non-nan) values; nan if there are none."""
    defined = values[~np.isnan(values)]
    return float(np.mean(defined)) if defined.size else math.nan


def _roc_auc(positive: Bools, score: NDArray[Any]) -> float:
    """Area under the ROC curve: Mann-Whitney U with ties counted half, from one sort."""
    n = int(positive.shape[0])
    n_pos = int(np.count_nonzero(positive))
    if n_pos in (0, n):
        return math.nan
    # One pass in score order, ROC_BLOCK_ROWS rows at a time (a chunk may have tens of
    # millions of rows): per group of equal scores, its positive and negative count; a
    # group cut by the end of a block is carried into the next. Counts are integers, so
    # the result does not depend on the block size.
    order = np.argsort(score)
    twice_u = 0
    neg_before = 0
    carry: tuple[Any, int, int] | None = None  # score, positives, negatives
    for start in range(0, n, ROC_BLOCK_ROWS):
        rows = order[start : start + ROC_BLOCK_ROWS]
        ordered = score[rows]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        pos_in = np.add.reduceat(positive[rows], starts, dtype=np.int64)
        neg_in = np.diff(starts, append=ordered.shape[0]) - pos_in
        if carry is not None:
            if ordered[0] == carry[0]:
                pos_in[0] += carry[1]
                neg_in[0] += carry[2]
            else:
                twice_u += carry[1] * (2 * neg_before + carry[2])
                neg_before += carry[2]
        carry = (ordered[-1], int(pos_in[-1]), int(neg_in[-1]))
        pos_in, neg_in = pos_in[:-1], neg_in[:-1]
        neg_below = np.cumsum(neg_in) - neg_in + neg_before
        twice_u += 2 * int(np.dot(pos_in, neg_below)) + int(np.dot(pos_in, neg_in))
        neg_before += int(neg_in.sum())
    assert carry is not None
    twice_u += carry[1] * (2 * neg_before + carry[2])
    return twice_u / (2.0 * n_pos * (n - n_pos))


def _log_loss(picked: NDArray[np.floating[Any]]) -> float:
    """Mean ``-log(p)`` of the true class's ``p``, clipped to ``[eps, 1 - eps]`` like sklearn."""
    eps = np.finfo(picked.dtype).eps
    return float(np.mean(-np.log(np.clip(picked, eps, 1 - eps))))


def _regression(metric: str, actual: Floats, predicted: Floats) -> float:
    n = actual.shape[0]
    if n == 0:
        return math.nan
    error = predicted - actual
    if metric == "mae":
        return float(np.mean(np.abs(error)))
    if metric == "mape":
        floor = np.maximum(np.abs(actual), np.finfo(np.float64).eps)
        return float(np.mean(np.abs(error) / floor))
    squared = float(np.mean(error**2))
    if metric == "mse":
        return squared
    if metric == "rmse":
        return math.sqrt(squared)
    total = float(np.sum((actual - np.mean(actual)) ** 2))
    if n < 2 or total == 0.0:
        return math.nan
    return 1.0 - float(np.sum(error**2)) / total


# --- input checks ------------------------------------------------------------------


def _required(value: np.ndarray[Any, Any] | None, name: str, metric: str) -> Any:
    if value is None:
        raise InputError(f"{name} is required for metric {metric!r}", field=name)
    return value


def _vector(value: Any, name: str, n: int | None = None) -> NDArray[Any]:
    array = np.asarray(value)
    if array.ndim != 1:
        raise InputError(f"{name} must be 1-D; got shape {array.shape}", field=name)
    if n is not None and array.shape[0] != n:
        raise InputError(f"{name} has {array.shape[0]} rows but y_true has {n}", field=name)
    return array


def _numbers(array: NDArray[Any], name: str) -> Floats:
    if array.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold numbers; got dtype {array.dtype}", field=name)
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise InputError(f"{name} must hold finite numbers; found nan or inf", field=name)
    return values


def _binary(array: NDArray[Any], name: str) -> Bools:
    if array.dtype.kind not in "biufO":
        raise InputError(
            f"{name} must hold 0 and 1 for binary problems; got dtype {array.dtype}", field=name
        )
    ones = np.asarray(array == 1, dtype=np.bool_)
    bad = ~(ones | np.asarray(array == 0, dtype=np.bool_))
    if bad.any():
        raise InputError(
            f"{name} must hold only 0 and 1 for binary problems; found {array[bad][0]!r}",
            field=name,
        )
    return ones


def _probabilities(proba: NDArray[Any]) -> NDArray[np.floating[Any]]:
    """``proba`` as floats (float32 stays float32, as in sklearn), checked to lie in [0, 1]."""
    if proba.dtype.kind not in "biuf":
        raise InputError(f"y_proba must hold numbers; got dtype {proba.dtype}", field="y_proba")
    floats = proba if proba.dtype.kind == "f" else proba.astype(np.float64)
    if not ((floats >= 0) & (floats <= 1)).all():
        raise InputError("y_proba must hold probabilities in [0, 1]", field="y_proba")
    return floats


def _binary_proba(proba: NDArray[Any], n: int) -> NDArray[np.floating[Any]]:
    if proba.shape != (n,):
        raise InputError(
            f"y_proba must be 1-D with {n} rows (the probability of class 1) for binary "
            f"problems; got shape {proba.shape}",
            field="y_proba",
        )
    return _probabilities(proba)


def _multiclass_proba(proba: NDArray[Any], n: int, k: int) -> NDArray[np.floating[Any]]:
    if proba.shape != (n, k):
        raise InputError(
            f"y_proba must have shape ({n}, {k}) (rows x classes); got {proba.shape}",
            field="y_proba",
        )
    floats = _probabilities(proba)
    if n and not np.allclose(floats.sum(axis=1), 1.0):
        raise InputError("y_proba rows must sum to 1", field="y_proba")
    return floats


def _classes(classes: Sequence[object]) -> NDArray[Any]:
    labels = np.asarray(list(classes))
    if labels.ndim != 1 or labels.shape[0] < 2:
        raise InputError("classes must list at least two class labels", field="classes")
    if np.unique(labels).shape[0] != labels.shape[0]:
        raise InputError("classes must not repeat a label", field="classes")
    return labels


def _comparable(a: NDArray[Any], b: NDArray[Any], name: str) -> tuple[NDArray[Any], NDArray[Any]]:
    if a.dtype.kind == "O" or b.dtype.kind == "O":
        return a.astype(object), b.astype(object)
    if (a.dtype.kind in "US") != (b.dtype.kind in "US"):
        raise InputError(
            f"{name} labels ({a.dtype}) and the other labels ({b.dtype}) mix strings and numbers",
            field=name,
        )
    return a, b


def _encode(values: NDArray[Any], name: str, classes: NDArray[Any]) -> Codes:
    """Position of each value in ``classes``; InputError naming unknown labels."""
    values, classes = _comparable(values, classes, name)
    try:
        order = np.argsort(classes, kind="stable")
        ordered = classes[order]
        where = np.minimum(np.searchsorted(ordered, values), ordered.shape[0] - 1)
        known = np.asarray(ordered[where] == values, dtype=np.bool_)
    except TypeError as exc:
        raise InputError(f"{name} labels cannot be compared with classes", field=name) from exc
    if not known.all():
        unknown = sorted({str(v) for v in values[~known]})[:5]
        raise InputError(
            f"{name} holds labels not in classes: {', '.join(unknown)}",
            field=name,
            hint="List every class label in classes",
        )
    codes: Codes = order[where]
    return codes


def _label_codes(
    truth: NDArray[Any], pred: NDArray[Any], classes: Sequence[object] | None
) -> tuple[Codes, Codes, int]:
    if classes is not None:
        labels = _classes(classes)
        return _encode(truth, "y_true", labels), _encode(pred, "y_pred", labels), labels.shape[0]
    truth, pred = _comparable(truth, pred, "y_pred")
    try:
        labels, codes = np.unique(np.concatenate([truth, pred]), return_inverse=True)
    except TypeError as exc:
        raise InputError("y_true and y_pred labels cannot be compared", field="y_pred") from exc
    n = truth.shape[0]
    return codes[:n], codes[n:], labels.shape[0]
