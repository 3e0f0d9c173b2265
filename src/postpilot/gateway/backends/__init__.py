"""Model backends: how the gateway loads a model version and asks it for predictions.

A model version's ``flavor`` picks the backend and its ``artifact_uri`` says
what to load; the route stores the backend's options.

- ``sklearn`` (alias ``joblib``): a joblib file holding a scikit-learn estimator
  or pipeline, or any Python callable; a local path or ``file://`` URI.
- ``mlflow``: an MLflow pyfunc model (the extra ``postpilot[mlflow]``); a folder,
  ``models:/``, ``runs:/`` or an artifact store URI such as ``s3://``.
- ``http``: a model served elsewhere, JSON in and JSON out; an ``http(s)://`` URL.

Every backend keeps the contract in :mod:`postpilot.gateway.backends.base` and
passes the suite in ``tests/gateway/backends/test_conformance.py``. Importing
this package imports none of scikit-learn, joblib, MLflow, pandas or httpx:
each backend imports what it needs when a model is loaded.

>>> sorted(BACKENDS)
['http', 'mlflow', 'sklearn']
>>> load_backend("onnx", "model.onnx")
Traceback (most recent call last):
...
postpilot.errors.InputError: no model backend for the flavor 'onnx'; the flavors ... joblib, ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from postpilot.errors import InputError
from postpilot.gateway.backends.base import Backend, Output, Record, redact_uri
from postpilot.gateway.backends.http import HttpBackend
from postpilot.gateway.backends.mlflow import MlflowBackend
from postpilot.gateway.backends.sklearn import SklearnBackend

__all__ = [
    "ALIASES",
    "BACKENDS",
    "Backend",
    "HttpBackend",
    "MlflowBackend",
    "Output",
    "Record",
    "SklearnBackend",
    "backend_class",
    "load_backend",
    "redact_uri",
]

BACKENDS: Final[Mapping[str, type[Backend]]] = {
    backend.key: backend for backend in (SklearnBackend, MlflowBackend, HttpBackend)
}
"""Every backend, by key (the model version's flavor)."""

ALIASES: Final[Mapping[str, str]] = {"joblib": "sklearn"}
"""Other flavors that name a backend."""


def backend_class(flavor: str) -> type[Backend]:
    """The backend serving ``flavor`` (a key or an alias); InputError listing them if none."""
    key = ALIASES.get(flavor, flavor) if isinstance(flavor, str) else flavor
    backend = BACKENDS.get(key) if isinstance(key, str) else None
    if backend is None:
        known = ", ".join(sorted({*BACKENDS, *ALIASES}))
        raise InputError(
            f"no model backend for the flavor {flavor!r}; the flavors served are: {known}",
            field="flavor",
            hint="Register the model version with one of these flavors",
        )
    return backend


def load_backend(
    flavor: str,
    uri: str,
    *,
    features: Sequence[str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Backend:
    """Load ``uri`` with the backend for ``flavor``. Blocks: from async code, run it in a
    worker thread (``await anyio.to_thread.run_sync(...)``)."""
    return backend_class(flavor).load(uri, features=features, options=options)
