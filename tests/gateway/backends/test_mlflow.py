"""The mlflow backend: a real pyfunc model, its signature, its answers, the missing extra."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from postpilot.errors import BackendError, MissingExtraError
from postpilot.gateway.backends import MlflowBackend
from postpilot.gateway.backends.base import Output, Record
from tests.gateway.backends.conftest import FEATURES


def predict(uri: str | Path, records: Sequence[Record], **load: Any) -> list[Output]:
    async def main() -> list[Output]:
        backend = MlflowBackend.load(str(uri), **load)
        try:
            return await backend.predict(records)
        finally:
            await backend.aclose()

    return anyio.run(main)


@pytest.fixture(scope="module")
def pyfunc_models(mlflow_model: Path, artifacts: Path) -> dict[str, Path]:
    """Python models saved without a signature, by class name."""
    import mlflow.pyfunc

    from tests.gateway.backends import pyfuncs

    paths = {}
    for model in (pyfuncs.FrameWithPrediction(), pyfuncs.WideFrame(), pyfuncs.Records()):
        name = type(model).__name__
        paths[name] = artifacts / f"pyfunc-{name}"
        with warnings.catch_warnings():  # MLflow asks for type hints on predict
            warnings.simplefilter("ignore")
            mlflow.pyfunc.save_model(
                str(paths[name]), python_model=model, pip_requirements=["pandas"]
            )
    return paths


def test_the_signature_gives_the_columns(
    mlflow_model: Path, penguin_pipeline: Any, records: list[dict[str, Any]]
) -> None:
    import pandas as pd

    outputs = predict(mlflow_model, records, features=FEATURES[::-1])  # the signature wins
    expected = penguin_pipeline.predict(pd.DataFrame(records)[FEATURES]).tolist()
    assert [output["prediction"] for output in outputs] == expected
    described = MlflowBackend.load(str(mlflow_model)).describe()
    assert described["features"] == FEATURES
    assert described["signature"] is True
    assert "sklearn" in described["flavors"]
    assert "python_function" in described["flavors"]


def test_a_frame_with_a_prediction_column_keeps_its_other_columns(
    pyfunc_models: dict[str, Path], records: list[dict[str, Any]]
) -> None:
    outputs = predict(pyfunc_models["FrameWithPrediction"], records[:3], features=FEATURES)
    for output, record in zip(outputs, records[:3], strict=True):
        ratio = record["bill_length_mm"] / record["bill_depth_mm"]
        assert output == {"prediction": round(ratio, 6), "long": ratio > 2.5}


def test_a_wide_frame_without_prediction_is_the_prediction(
    pyfunc_models: dict[str, Path], records: list[dict[str, Any]]
) -> None:
    outputs = predict(pyfunc_models["WideFrame"], records[:2])  # no features: the records' keys
    assert outputs == [
        {"prediction": {"length": r["bill_length_mm"], "depth": r["bill_depth_mm"]}}
        for r in records[:2]
    ]
    assert MlflowBackend.load(str(pyfunc_models["WideFrame"])).describe()["features"] is None


def test_a_list_answer_is_one_output_per_item(
    pyfunc_models: dict[str, Path], records: list[dict[str, Any]]
) -> None:
    outputs = predict(pyfunc_models["Records"], records[:3], features=FEATURES)
    assert outputs == [{"prediction": {"island": r["island"]}} for r in records[:3]]
    with pytest.raises(BackendError, match="gave 1 output"):
        predict(pyfunc_models["Records"], records[:2], features=FEATURES)


def test_a_uri_mlflow_cannot_load_is_a_backend_error_without_its_query(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="MLflow cannot load") as caught:
        MlflowBackend.load(f"file://{tmp_path}/missing?sig=s3cret-signature")
    assert caught.value.field == "artifact"
    assert "s3cret-signature" not in caught.value.message


def test_without_mlflow_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, mlflow_model: Path
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingExtraError) as caught:
        MlflowBackend.load(str(mlflow_model))
    assert (caught.value.package, caught.value.extra) == ("mlflow", "mlflow")
    assert "Serving an MLflow model" in str(caught.value)
    assert "pip install 'postpilot[mlflow]'" in str(caught.value)
