"""The sklearn backend hands a float matrix to models that take columns by position.

A model fitted on a DataFrame gets the same answer from a matrix in
``feature_names_in_`` order when every part of it uses columns by position; the
backend then skips the DataFrame (pandas' construction and scikit-learn's checks of
it cost several times the model's own work on one record). These tests hold the
matrix answers to the DataFrame answers on a real table (the same predictions,
probabilities equal to 1e-12), and check which models keep the DataFrame.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import anyio
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from postpilot.gateway.backends.sklearn import SklearnBackend, takes_arrays

COLUMNS = ["mean radius", "mean texture", "mean area", "worst smoothness", "worst concavity"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    bunch = load_breast_cancer(as_frame=True)
    frame: pd.DataFrame = bunch.frame[[*COLUMNS, "target"]].copy()
    frame["mean area"] = frame["mean area"].round().astype("int64")  # an int column too
    return frame


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame[COLUMNS].to_dict(orient="records"):
        out.append({k: (int(v) if k == "mean area" else float(v)) for k, v in row.items()})
    return out


def _serve(path: Path, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    async def main() -> tuple[list[dict[str, Any]], str]:
        backend = SklearnBackend.load(str(path))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no warning may escape the model call
                outputs = await backend.predict(records)
            return outputs, str(backend.describe()["input"])
        finally:
            await backend.aclose()

    return anyio.run(main)


MODELS = {
    "scaler + logistic regression": lambda: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000)
    ),
    "imputer + random forest": lambda: make_pipeline(
        SimpleImputer(), RandomForestClassifier(n_estimators=20, random_state=0)
    ),
    "histogram gradient boosting": lambda: HistGradientBoostingClassifier(
        max_iter=30, random_state=0
    ),
    "calibrated logistic regression": lambda: CalibratedClassifierCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), cv=3
    ),
    "grid search over a pipeline": lambda: GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        {"logisticregression__C": [0.1, 1.0]},
        cv=3,
    ),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_a_position_only_model_answers_a_matrix_exactly_as_the_dataframe(
    name: str, table: pd.DataFrame, tmp_path: Path
) -> None:
    train, serve = table.iloc[::2], table.iloc[1::2]
    model = MODELS[name]().fit(train[COLUMNS], train["target"])
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    assert takes_arrays(model)
    records = _records(serve)
    outputs, given = _serve(path, records)
    assert given == "DataFrame, or an array for numbers"
    frame = pd.DataFrame(records, columns=COLUMNS)
    assert [o["prediction"] for o in outputs] == model.predict(frame).tolist()
    expected = model.predict_proba(frame)
    served = np.array([list(o["probabilities"].values()) for o in outputs])
    # equal up to the last bits: a DataFrame with an int column reaches the model in
    # column-major layout, which changes the order of the additions
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-12)


def test_a_regressor_answers_a_matrix_as_the_dataframe(table: pd.DataFrame, tmp_path: Path) -> None:
    model = make_pipeline(StandardScaler(), Ridge()).fit(table[COLUMNS[1:]], table[COLUMNS[0]])
    joblib.dump(model, tmp_path / "ridge.joblib")
    records = [{k: v for k, v in r.items() if k != COLUMNS[0]} for r in _records(table)]
    outputs, _ = _serve(tmp_path / "ridge.joblib", records)
    expected = model.predict(pd.DataFrame(records, columns=COLUMNS[1:]))
    served = np.array([o["prediction"] for o in outputs])
    np.testing.assert_allclose(served, expected, rtol=1e-13, atol=0)


def test_a_missing_or_text_value_keeps_the_dataframe(table: pd.DataFrame, tmp_path: Path) -> None:
    model = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=2000))
    model.fit(table[COLUMNS], table["target"])
    joblib.dump(model, tmp_path / "imputed.joblib")
    records = _records(table.head(4))
    records[1]["mean texture"] = None
    outputs, _ = _serve(tmp_path / "imputed.joblib", records)
    expected = model.predict_proba(pd.DataFrame(records, columns=COLUMNS))
    served = np.array([list(o["probabilities"].values()) for o in outputs])
    assert np.array_equal(served, expected)  # the same DataFrame as the model's own call


class _ByName(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Third-party code: may read columns by name, so it keeps the DataFrame."""

    def fit(self, x: pd.DataFrame, y: Any) -> _ByName:
        self.classes_ = np.unique(y)
        return self

    def predict(self, x: pd.DataFrame) -> Any:
        return (x["mean radius"] > 15).astype(int).to_numpy()


def _named_column(x: pd.DataFrame) -> pd.DataFrame:
    return x[["mean radius"]]


def test_models_that_may_use_column_names_keep_the_dataframe(table: pd.DataFrame) -> None:
    x, y = table[COLUMNS], table["target"]
    by_name = [
        make_pipeline(
            ColumnTransformer([("scaled", StandardScaler(), ["mean radius", "mean area"])]),
            LogisticRegression(),
        ),
        make_pipeline(FunctionTransformer(_named_column), LogisticRegression()),
        make_pipeline(StandardScaler().set_output(transform="pandas"), LogisticRegression()),
        _ByName(),
        VotingClassifier([("lr", LogisticRegression(max_iter=2000)), ("rf", _ByName())]),
    ]
    for model in by_name:
        model.fit(x, y)
        assert not takes_arrays(model), model
    plain = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)
    assert takes_arrays(plain)
    from sklearn import config_context

    with config_context(transform_output="pandas"):
        assert not takes_arrays(plain)


def test_a_third_party_model_is_still_served_from_a_dataframe(
    table: pd.DataFrame, tmp_path: Path
) -> None:
    model = _ByName().fit(table[COLUMNS], table["target"])
    model.feature_names_in_ = np.array(COLUMNS, dtype=object)
    joblib.dump(model, tmp_path / "by_name.joblib")
    records = _records(table.head(10))
    outputs, given = _serve(tmp_path / "by_name.joblib", records)
    assert given == "DataFrame"
    assert [o["prediction"] for o in outputs] == [int(r["mean radius"] > 15) for r in records]
