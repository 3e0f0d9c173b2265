"""The bare endpoint of ``bench/gateway_bench.py``: what a data scientist would hand-write.

One FastAPI route, ``POST /predict`` with ``{"record": {...}}``, answering
``{"prediction": ...}``: a pydantic body with the model's six inputs, the joblib
model's ``predict`` on a one-row DataFrame (a plain ``def`` route, so FastAPI runs
it in its threadpool), no key, no rate limit, no adapter, no contract, no log.

The model file is read from ``$BENCH_MODEL`` at import. Served by the benchmark with
the same uvicorn settings as ``postpilot serve`` (one worker, uvloop and httptools
when installed, no proxy headers, no server header)::

    BENCH_MODEL=model.joblib python -m uvicorn --app-dir bench bare_app:app --port 8001
"""

from __future__ import annotations

import os
from typing import Any

import joblib
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel

__all__ = ["FEATURES", "PredictBody", "Record", "app"]

FEATURES = (
    "mean_radius",
    "mean_texture",
    "mean_perimeter",
    "mean_area",
    "mean_smoothness",
    "worst_radius",
)


class Record(BaseModel):
    mean_radius: float
    mean_texture: float
    mean_perimeter: float
    mean_area: float
    mean_smoothness: float
    worst_radius: float


class PredictBody(BaseModel):
    record: Record


app = FastAPI(title="bare model endpoint")
model: Any = joblib.load(os.environ["BENCH_MODEL"]) if "BENCH_MODEL" in os.environ else None


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
def predict(body: PredictBody) -> dict[str, Any]:
    frame = pd.DataFrame([body.record.model_dump()], columns=list(FEATURES))
    return {"prediction": model.predict(frame)[0].item()}
