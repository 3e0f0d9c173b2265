"""Confidence-based performance estimation (CBPE) for binary and multiclass classifiers.

Without labels, a calibrated probability is the chance that a row's label is
each class. Fitted on labelled reference data, a calibrator maps the model's
scores to such probabilities (isotonic, one-vs-rest per class for multiclass,
rows renormalised to sum to one); on unlabelled data the expected confusion
matrix follows by summing them, and each metric is derived from it:

* binary: ``E[TP] = sum(p where y_pred = 1)``, ``E[FP] = sum(1 - p where
  y_pred = 1)``, ``E[FN] = sum(p where y_pred = 0)``, ``E[TN] = sum(1 - p where
  y_pred = 0)``; precision, recall, F1, specificity and accuracy are ratios of
  these expected counts.
* multiclass: the same per class, one-vs-rest, macro-averaged (as the realized
  metrics are); accuracy is the mean calibrated probability of the predicted
  class.
* ROC AUC: the area under the expected ROC curve, rows ranked by the model's
  own (uncalibrated) scores, ties counting half. Multiclass: one-vs-rest per
  class, macro-averaged. (Leaving out the pairing of a row with itself, the
  exact ratio of expected pair counts, differs by O(1/rows) and was no closer
  to the realized values on NannyML's datasets.)
* log loss: the expected log loss of the model's probabilities when labels are
  drawn from the calibrated ones.

This assumes what CBPE always assumes: the relation between scores and
outcomes (the calibration curve) is the one seen in the reference data. Drift
in the inputs is fine; a change in what the inputs mean (concept drift) is not
visible without labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from postpilot.errors import InputError
from postpilot.performance.calibration import BLOCK_ROWS, IsotonicCalibrator

__all__ = ["CBPE", "expected_roc_auc"]

Floats = npt.NDArray[np.float64]
_EPS = float(np.finfo(np.float64).eps)


def expected_roc_auc(scores: Floats, probability: Floats) -> float:
    """ROC AUC of the expected ROC curve of ``scores`` when row i is positive with
    ``probability[i]``: rows ranked by the model's own scores, equal scores count half.

    Each row adds ``p`` to the expected positives and ``1 - p`` to the expected
    negatives at its rank; the area under the resulting curve is the expected
    number of correctly ordered (positive, negative) weight pairs over
    ``sum(p) * sum(1 - p)``.
    """
    n = scores.size
    if n < 2:
        return float("nan")
    # One pass over the rows in score order, BLOCK_ROWS at a time (a chunk may have
    # tens of millions of rows): per group of equal scores, its positive weight and its
    # negative weight (the group's size minus that); a group cut by the end of a block
    # is carried into the next.
    order = np.argsort(scores, kind="stable")
    numerator = 0.0
    neg_before = 0.0  # negative weight of the groups already done
    p_total = 0.0
    carry: tuple[float, float, float] | None = None  # score, positive, negative weight
    for start in range(0, n, BLOCK_ROWS):
        rows = order[start : start + BLOCK_ROWS]
        s, p = scores[rows], probability[rows]
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        pos = np.add.reduceat(p, starts)
        neg = np.diff(starts, append=s.size) - pos
        p_total += float(p.sum())
        if carry is not None:
            if s[0] == carry[0]:
                pos[0] += carry[1]
                neg[0] += carry[2]
            else:
                numerator += carry[1] * (neg_before + 0.5 * carry[2])
                neg_before += carry[2]
        carry = (float(s[-1]), float(pos[-1]), float(neg[-1]))
        pos, neg = pos[:-1], neg[:-1]
        below = np.cumsum(neg)
        below -= neg
        below += neg_before + 0.5 * neg
        numerator += float(np.dot(pos, below))
        neg_before += float(neg.sum())
    assert carry is not None
    numerator += carry[1] * (neg_before + 0.5 * carry[2])
    denominator = p_total * (n - p_total)
    if denominator <= 0:
        return float("nan")
    return numerator / denominator


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def _confusion_metric(metric: str, tp: float, fp: float, fn: float, tn: float) -> float:
    if metric == "precision":
        return _ratio(tp, tp + fp)
    if metric == "recall":
        return _ratio(tp, tp + fn)
    if metric == "f1":
        return _ratio(2 * tp, 2 * tp + fp + fn)
    if metric == "specificity":
        return _ratio(tn, tn + fp)
    if metric == "accuracy":
        return _ratio(tp + tn, tp + fp + fn + tn)
    raise InputError(f"CBPE cannot estimate {metric!r}", field="metric")


def _macro(values: list[float]) -> float:
    defined = [v for v in values if v == v]
    return float(np.mean(defined)) if defined else float("nan")


class CBPE:
    """Estimate classification metrics from the model's scores alone.

    ``fit`` on reference rows with labels; ``estimate`` on rows without.
    Binary: ``y_proba`` is the score of class 1 (1-D), ``y_true``/``y_pred``
    are 0/1. Multiclass: ``y_proba`` is (rows, classes) in the order of
    ``classes``; ``y_true``/``y_pred`` hold class labels.
    """

    def __init__(self, problem: str, classes: Sequence[object] | None = None) -> None:
        if problem not in ("binary", "multiclass"):
            raise InputError(
                f"CBPE estimates classification metrics, not {problem!r}", field="problem"
            )
        if problem == "multiclass" and not classes:
            raise InputError("multiclass CBPE needs the list of classes", field="y_pred_proba")
        self.problem = problem
        self.classes: list[object] = list(classes) if classes else [0, 1]
        self._calibrators: list[IsotonicCalibrator] = []
        self.score_ranges: list[tuple[float, float]] = []
        """Per score column, the lowest and highest score the calibrator was fitted on."""

    def fit(self, y_true: npt.ArrayLike, y_proba: npt.ArrayLike) -> CBPE:
        truth = np.asarray(y_true)
        proba = self._proba(y_proba)
        if truth.shape[0] != proba.shape[0]:
            raise InputError("y_true and y_pred_proba differ in length", field="y_true")
        columns = proba[:, None] if proba.ndim == 1 else proba
        finite = [c[np.isfinite(c)] for c in columns.T]
        self.score_ranges = [
            (float(c.min()), float(c.max())) if c.size else (math.nan, math.nan) for c in finite
        ]
        if self.problem == "binary":
            self._calibrators = [IsotonicCalibrator().fit(proba, _binary(truth, "y_true"))]
        else:
            self._calibrators = [
                IsotonicCalibrator().fit(
                    proba[:, j], (truth.astype(str) == str(c)).astype(np.float64)
                )
                for j, c in enumerate(self.classes)
            ]
        return self

    def _proba(self, y_proba: npt.ArrayLike) -> Floats:
        proba = np.asarray(y_proba, dtype=np.float64)
        want = 1 if self.problem == "binary" else 2
        if proba.ndim != want or (want == 2 and proba.shape[1] != len(self.classes)):
            shape = "one column" if want == 1 else f"{len(self.classes)} columns, one per class"
            raise InputError(f"y_pred_proba must have {shape}", field="y_pred_proba")
        return proba

    def calibrate(self, y_proba: npt.ArrayLike) -> Floats:
        """Calibrated probabilities: 1-D for binary, rows summing to one for multiclass."""
        if not self._calibrators:
            raise RuntimeError("CBPE.calibrate() before fit()")
        proba = self._proba(y_proba)
        if self.problem == "binary":
            return self._calibrators[0].calibrate(proba)
        calibrated = np.empty(proba.shape, dtype=np.float64)
        for j, cal in enumerate(self._calibrators):
            calibrated[:, j] = cal.calibrate(proba[:, j])
        total = calibrated.sum(axis=1, keepdims=True)
        uniform = np.full_like(calibrated, 1.0 / len(self.classes))
        out: Floats = np.divide(calibrated, total, out=uniform, where=total > 0)
        return out

    def outside_reference(self, y_proba: npt.ArrayLike) -> tuple[float, float, float]:
        """Shares of rows with a score below, above, and on either side of the range
        the calibrator was fitted on (a row counts once, for multiclass if any of
        its class scores is outside that class's range); nan for no rows."""
        if not self.score_ranges:
            raise RuntimeError("CBPE.outside_reference() before fit()")
        proba = self._proba(y_proba)
        columns = proba[:, None] if proba.ndim == 1 else proba
        if columns.shape[0] == 0:
            return (math.nan, math.nan, math.nan)
        low = np.array([r[0] for r in self.score_ranges])
        high = np.array([r[1] for r in self.score_ranges])
        below = (columns < low).any(axis=1)
        above = (columns > high).any(axis=1)
        return (float(below.mean()), float(above.mean()), float((below | above).mean()))

    def estimate(
        self,
        metrics: Sequence[str],
        y_proba: npt.ArrayLike,
        y_pred: npt.ArrayLike | None = None,
    ) -> dict[str, float]:
        """Each metric's expected value on these rows."""
        proba = self._proba(y_proba)
        calibrated = self.calibrate(proba)
        pred = None if y_pred is None else np.asarray(y_pred)
        out: dict[str, float] = {}
        for metric in metrics:
            if metric not in ("roc_auc", "log_loss") and pred is None:
                raise InputError(f"estimating {metric} needs the predicted labels", field="y_pred")
            if self.problem == "binary":
                out[metric] = self._binary_metric(metric, proba, calibrated, pred)
            else:
                out[metric] = self._multiclass_metric(metric, proba, calibrated, pred)
        return out

    def _binary_metric(
        self, metric: str, proba: Floats, p: Floats, pred: npt.NDArray[np.generic] | None
    ) -> float:
        if proba.size == 0:
            return float("nan")
        if metric == "roc_auc":
            return expected_roc_auc(proba, p)
        if metric == "log_loss":
            q = np.clip(proba, _EPS, 1 - _EPS)
            return float(-np.mean(p * np.log(q) + (1 - p) * np.log1p(-q)))
        assert pred is not None
        positive = _binary(pred, "y_pred") == 1
        tp, fp = float(p[positive].sum()), float((1 - p[positive]).sum())
        fn, tn = float(p[~positive].sum()), float((1 - p[~positive]).sum())
        return _confusion_metric(metric, tp, fp, fn, tn)

    def _multiclass_metric(
        self, metric: str, proba: Floats, p: Floats, pred: npt.NDArray[np.generic] | None
    ) -> float:
        if proba.shape[0] == 0:
            return float("nan")
        if metric == "roc_auc":
            return _macro([expected_roc_auc(proba[:, j], p[:, j]) for j in range(p.shape[1])])
        if metric == "log_loss":
            q = np.clip(proba, _EPS, 1.0)
            q = q / q.sum(axis=1, keepdims=True)
            return float(-np.mean(np.sum(p * np.log(q), axis=1)))
        assert pred is not None
        index = _class_index(pred, self.classes)
        if metric == "accuracy":
            return float(np.mean(p[np.arange(p.shape[0]), index]))
        values = []
        for j in range(p.shape[1]):
            mine = index == j
            col = p[:, j]
            tp, fp = float(col[mine].sum()), float((1 - col[mine]).sum())
            fn, tn = float(col[~mine].sum()), float((1 - col[~mine]).sum())
            values.append(_confusion_metric(metric, tp, fp, fn, tn))
        return _macro(values)


def _binary(values: npt.NDArray[np.generic], field: str) -> Floats:
    out = np.asarray(values, dtype=np.float64)
    bad = ~np.isin(out, (0.0, 1.0))
    if bad.any():
        example = np.asarray(values)[np.flatnonzero(bad)[0]]
        raise InputError(
            f"binary {field} must be 0 or 1, got {example!r}",
            field=field,
            hint="Map the positive class to 1 and the other to 0",
        )
    return out


def _class_index(labels: npt.NDArray[np.generic], classes: list[object]) -> npt.NDArray[np.intp]:
    lookup = {str(c): i for i, c in enumerate(classes)}
    uniques, inverse = np.unique(labels.astype(str), return_inverse=True)
    mapped = np.empty(uniques.size, dtype=np.intp)
    for i, label in enumerate(uniques.tolist()):
        j = lookup.get(label)
        if j is None:
            raise InputError(
                f"predicted class {label!r} has no probability column; classes: "
                + ", ".join(map(str, classes)),
                field="y_pred",
            )
        mapped[i] = j
    out: npt.NDArray[np.intp] = mapped[inverse.reshape(-1)]
    return out
