"""Direct loss estimation (DLE) for regression models.

Fitted on labelled reference data, a gradient-boosted model learns the
expected loss of the monitored model at each input (its features and its own
prediction). On unlabelled data the estimate of a metric is built from those
expected losses:

* MAE: the mean expected absolute error;
* MSE / RMSE: the mean expected squared error (and its square root);
* MAPE: the mean expected absolute percentage error;
* R2: ``1 - SSE / SST``, with SSE the sum of expected squared errors and SST
  the expected spread of the truth: around each row's expected value
  (prediction + expected signed error) plus the expected squared error left
  around it, ``sum(Var[y|x]) + sum((E[y|x] - mean)^2)``.

The loss models are scikit-learn's histogram gradient boosting (the same
family as LightGBM, which NannyML uses) with a Poisson objective for the
non-negative losses, whose log link fits their skew better than squared
error, and early stopping on a held-out tenth of the reference. Categorical
features are used natively; a category never seen in the reference is treated
as missing.

The models run on one OpenMP thread. These fits are small (tens of
iterations), and with a thread per core, OpenMP's spin-waiting turns any other
busy process on the machine into a 20-50x slowdown (measured: 0.3 s on one
thread, 14 s on two with one core taken by another job).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from postpilot.errors import InputError

__all__ = ["DLE", "FeatureEncoder"]

Floats = npt.NDArray[np.float64]
_EPS = float(np.finfo(np.float64).eps)
_MAX_CATEGORIES = 250  # histogram gradient boosting takes category codes below max_bins (255)

_TARGETS: dict[str, tuple[str, ...]] = {
    "mae": ("abs",),
    "mse": ("sq",),
    "rmse": ("sq",),
    "mape": ("ape",),
    "r2": ("sq", "signed"),
}


class FeatureEncoder:
    """Numeric matrix from a frame: numbers as floats, strings and booleans as
    category codes learned on the reference (unseen or rare ones become missing)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.categories: dict[str, dict[object, int]] = {}

    def fit(self, frame: pl.DataFrame) -> FeatureEncoder:
        for name in self.columns:
            col = frame.get_column(name)
            if col.dtype.is_numeric():
                continue
            if col.dtype.is_temporal():
                raise InputError(
                    f"feature {name!r} is a {col.dtype} column; pass only inputs of the model",
                    field="features",
                )
            counts = col.cast(pl.String).drop_nulls().value_counts(sort=True)
            top = counts.get_column(name).head(_MAX_CATEGORIES).to_list()
            self.categories[name] = {v: i for i, v in enumerate(top)}
        return self

    @property
    def categorical_mask(self) -> list[bool]:
        return [name in self.categories for name in self.columns]

    def transform(self, frame: pl.DataFrame) -> Floats:
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise InputError(f"feature column {missing[0]!r} is missing", field="features")
        out = np.empty((frame.height, len(self.columns)), dtype=np.float64)
        for j, name in enumerate(self.columns):
            col = frame.get_column(name)
            mapping = self.categories.get(name)
            if mapping is None:
                if not col.dtype.is_numeric():
                    raise InputError(
                        f"feature {name!r} is numeric in the reference but {col.dtype} here",
                        field="features",
                    )
                out[:, j] = col.cast(pl.Float64).fill_null(np.nan).to_numpy()
            else:
                codes = col.cast(pl.String).replace_strict(
                    list(mapping), list(mapping.values()), default=None, return_dtype=pl.Float64
                )
                out[:, j] = codes.fill_null(np.nan).to_numpy()
        return out


def _one_thread() -> Any:
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _model(objective: str, categorical: list[bool], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        loss=objective,
        learning_rate=0.1,
        max_iter=300,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=15,
        categorical_features=categorical if any(categorical) else None,
        random_state=seed,
    )


class DLE:
    """Estimate regression metrics from the inputs and the predictions alone.

    ``fit(features, y_pred, y_true)`` on labelled reference rows, then
    ``estimate(metrics, features, y_pred)`` on unlabelled rows. ``features`` is
    a polars frame with the model's inputs (numeric or categorical).
    """

    def __init__(self, features: Sequence[str], metrics: Sequence[str], seed: int = 0) -> None:
        unknown = [m for m in metrics if m not in _TARGETS]
        if unknown:
            raise InputError(
                f"DLE cannot estimate {unknown[0]!r}",
                field="metric",
                hint=f"Use one of: {', '.join(_TARGETS)}",
            )
        self.encoder = FeatureEncoder(features)
        self.metrics = list(metrics)
        self.seed = seed
        self._models: dict[str, Any] = {}

    def _matrix(self, features: pl.DataFrame, y_pred: Floats) -> Floats:
        return np.column_stack([self.encoder.transform(features), y_pred])

    def fit(self, features: pl.DataFrame, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> DLE:
        pred = np.asarray(y_pred, dtype=np.float64)
        truth = np.asarray(y_true, dtype=np.float64)
        if not (pred.shape == truth.shape == (features.height,)):
            raise InputError("features, y_pred and y_true differ in length", field="y_true")
        self.encoder.fit(features)
        x = self._matrix(features, pred)
        categorical = [*self.encoder.categorical_mask, False]
        error = truth - pred
        targets = {
            "abs": (np.abs(error), "poisson"),
            "sq": (error**2, "poisson"),
            "ape": (np.abs(error) / np.maximum(np.abs(truth), _EPS), "poisson"),
            "signed": (error, "squared_error"),
        }
        wanted = {t for m in self.metrics for t in _TARGETS[m]}
        with _one_thread():
            for i, name in enumerate(sorted(wanted)):
                target, objective = targets[name]
                self._models[name] = _model(objective, categorical, self.seed + i).fit(x, target)
        return self

    def estimate(
        self, metrics: Sequence[str], features: pl.DataFrame, y_pred: npt.ArrayLike
    ) -> dict[str, float]:
        pred = np.asarray(y_pred, dtype=np.float64)
        if features.height == 0:
            return {m: float("nan") for m in metrics}
        x = self._matrix(features, pred)
        cache: dict[str, Floats] = {}

        def expected(name: str) -> Floats:
            if name not in cache:
                with _one_thread():
                    value = np.asarray(self._models[name].predict(x), dtype=np.float64)
                cache[name] = value if name == "signed" else np.maximum(value, 0.0)
            return cache[name]

        out: dict[str, float] = {}
        for metric in metrics:
            if metric not in self._models and not set(_TARGETS.get(metric, ())) <= set(
                self._models
            ):
                raise InputError(f"DLE was not fitted for {metric!r}", field="metric")
            if metric == "mae":
                out[metric] = float(expected("abs").mean())
            elif metric == "mse":
                out[metric] = float(expected("sq").mean())
            elif metric == "rmse":
                out[metric] = float(np.sqrt(expected("sq").mean()))
            elif metric == "mape":
                out[metric] = float(expected("ape").mean())
            else:  # r2
                sq, signed = expected("sq"), expected("signed")
                mean_y = pred + signed
                variance = np.maximum(sq - signed**2, 0.0)
                sst = float(variance.sum() + np.sum((mean_y - mean_y.mean()) ** 2))
                out[metric] = 1.0 - float(sq.sum()) / sst if sst > 0 else float("nan")
        return out
