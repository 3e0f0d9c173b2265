"""Real models for the backend tests, built once per session.

The Palmer penguins (a real table with numbers and text) train a scikit-learn
Pipeline (a ColumnTransformer scaling the measurements and one-hot encoding
``island`` and ``sex``, then a LogisticRegression predicting the species). It is
saved with joblib and as an MLflow model; plain functions from ``peers`` are
saved with joblib; ``peers.ModelServer`` serves a remote model over HTTP.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import pytest

from tests.gateway.backends import peers
from tests.realdata import penguins

FEATURES = list(peers.FIELDS)
NUMBERS = FEATURES[1:5]
TARGET = "species"


@pytest.fixture(scope="session")
def penguin_rows() -> list[dict[str, Any]]:
    """The penguins without missing values, as plain Python dicts (333 rows)."""
    return penguins().drop_nulls(subset=[*FEATURES, TARGET]).to_dicts()


@pytest.fixture(scope="session")
def records(penguin_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """50 penguins spread over the table (all three species), with only the input fields."""
    return [{name: row[name] for name in FEATURES} for row in penguin_rows[::6][:50]]


@pytest.fixture(scope="session")
def penguin_pipeline(penguin_rows: list[dict[str, Any]]) -> Any:
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.DataFrame(penguin_rows)
    model = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numbers", StandardScaler(), NUMBERS),
                        ("text", OneHotEncoder(handle_unknown="ignore"), ["island", "sex"]),
                    ]
                ),
            ),
            ("classify", LogisticRegression(max_iter=1000)),
        ]
    )
    return model.fit(frame[FEATURES], frame[TARGET])


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="session")
def pipeline_file(artifacts: Path, penguin_pipeline: Any) -> Path:
    path = artifacts / "penguins.joblib"
    joblib.dump(penguin_pipeline, path)
    return path


@pytest.fixture(scope="session")
def function_files(artifacts: Path) -> dict[str, Path]:
    """Every function of ``peers`` that may be served, saved with joblib, by name."""
    paths = {}
    for function in (
        peers.bill_ratio,
        peers.bare_ratios,
        peers.one_short,
        peers.not_a_list,
        peers.no_prediction_key,
        peers.raises,
        peers.waits_for_release,
        peers.numpy_answers,
    ):
        paths[function.__name__] = artifacts / f"{function.__name__}.joblib"
        joblib.dump(function, paths[function.__name__])
    return paths


@pytest.fixture(scope="session")
def mlflow_model(
    artifacts: Path, penguin_pipeline: Any, penguin_rows: list[dict[str, Any]]
) -> Iterator[Path]:
    """The pipeline saved as an MLflow model with a signature (MLflow imported once)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", (artifacts / "mlruns").as_uri())
        with warnings.catch_warnings():  # importing mlflow warns about its own type hints
            warnings.simplefilter("ignore")
            import mlflow.pyfunc
            import mlflow.sklearn
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema

        kinds = {str: "string", float: "double", int: "long"}
        inputs = Schema([ColSpec(kinds[type(penguin_rows[0][name])], name) for name in FEATURES])
        path = artifacts / "mlflow-penguins"
        mlflow.sklearn.save_model(
            penguin_pipeline,
            str(path),
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            signature=ModelSignature(inputs=inputs, outputs=Schema([ColSpec("string")])),
            pip_requirements=["scikit-learn"],  # no requirement inference (a slow subprocess)
        )
        yield path


@pytest.fixture(scope="session")
def model_server() -> Iterator[peers.ModelServer]:
    server = peers.ModelServer()
    server.start()
    yield server
    server.stop()
