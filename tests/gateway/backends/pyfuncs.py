"""MLflow pyfunc models with each kind of answer (imported only by the MLflow tests:
importing this module imports mlflow)."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd


class FrameWithPrediction(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """A DataFrame answer with a ``prediction`` column and another column."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        ratio = model_input["bill_length_mm"] / model_input["bill_depth_mm"]
        return pd.DataFrame({"prediction": ratio.round(6), "long": ratio > 2.5})


class WideFrame(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """A DataFrame answer with two columns and no ``prediction``."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        return pd.DataFrame(
            {"length": model_input["bill_length_mm"], "depth": model_input["bill_depth_mm"]}
        )


class Records(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """A list answer (dicts without ``prediction``), and a wrong count for two records."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        if len(model_input) == 2:
            return [{"n": 1}]
        return [{"island": island} for island in model_input["island"]]
