"""The ``mlflow`` backend: an MLflow pyfunc model, loaded with ``mlflow.pyfunc.load_model``.

Needs the optional extra: ``pip install 'postpilot[mlflow]'`` (mlflow-skinny
and pandas); without it, loading raises MissingExtraError. mlflow is imported
only when a model is loaded, never by ``import postpilot.gateway.backends``.

The URI is anything MLflow loads: a local folder or ``file://`` URI holding an
``MLmodel`` file, ``models:/<name>/<version>`` or ``models:/<name>@<alias>``
(the model registry at ``MLFLOW_TRACKING_URI``), ``runs:/<run id>/<path>``, or
an artifact store URI such as ``s3://bucket/path``. MLflow reads its usual
environment variables for credentials. Models logged with cloudpickle run code
when loaded, like joblib files: serve only models you trust.

Records become a pandas DataFrame whose columns are, in order: the input names
of the model's signature when it has one, else ``features``, else the records'
own keys. The model's answer becomes one output per record:

- a DataFrame: one dict per row; a row with a ``prediction`` column is kept as
  it is, a one-column row becomes ``{"prediction": value}``, a wider row
  ``{"prediction": {column: value, ...}}``;
- a Series, an array or a list: ``{"prediction": item}`` per item (a dict item
  with ``"prediction"`` is kept).

The backend takes no options. The model runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

from postpilot.errors import BackendError, MissingExtraError
from postpilot.gateway.backends.base import (
    Backend,
    Output,
    Record,
    as_output,
    check_count,
    check_features,
    error_text,
    redact_uri,
    require_fields,
    suspect_field,
)

__all__ = ["MlflowBackend"]

_PURPOSE = "Serving an MLflow model"


class MlflowBackend(Backend):
    """An MLflow pyfunc model."""

    key = "mlflow"
    options: ClassVar[Mapping[str, str]] = {}

    def __init__(self, uri: str, model: Any, *, columns: list[str] | None) -> None:
        super().__init__(uri)
        self._model = model
        self._columns = columns
        metadata = getattr(model, "metadata", None)
        flavors = getattr(metadata, "flavors", None) or {}
        self._flavors = sorted(str(name) for name in flavors)
        self._signed = getattr(metadata, "signature", None) is not None

    @classmethod
    def load(
        cls,
        uri: str,
        *,
        features: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Self:
        """Load the pyfunc model at ``uri``; see the module docstring."""
        cls.check_options(options)
        names = check_features(features)
        try:
            import mlflow.pyfunc  # imports pandas, the extra's other half
        except ImportError as exc:
            raise MissingExtraError("mlflow", "mlflow", _PURPOSE) from exc
        try:
            model = mlflow.pyfunc.load_model(uri)
        except Exception as exc:  # the boundary: MLflow and its artifact stores raise anything
            raise BackendError(
                f"MLflow cannot load {redact_uri(uri)} ({error_text(exc)})",
                field="artifact",
                hint="Check the model URI (and MLFLOW_TRACKING_URI for models:/ and runs:/)",
                retryable=isinstance(exc, ConnectionError | TimeoutError),
            ) from exc
        return cls(uri, model, columns=_signature_columns(model) or names)

    async def predict(self, records: Sequence[Record]) -> list[Output]:
        self._check_open()
        require_fields(records, self._columns or ())
        if not records:
            return []
        from anyio import to_thread

        return await to_thread.run_sync(self._run, list(records))

    async def aclose(self) -> None:
        self._model = None
        await super().aclose()

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described.update(features=self._columns, flavors=self._flavors, signature=self._signed)
        return described

    def _run(self, records: list[Record]) -> list[Output]:
        import pandas as pd

        try:
            if self._columns is None:
                frame = pd.DataFrame([dict(record) for record in records])
            else:
                rows = [[record[name] for name in self._columns] for record in records]
                frame = pd.DataFrame(rows, columns=self._columns)
            answer = self._model.predict(frame)
        except Exception as exc:  # the boundary: whatever the model raises
            raise BackendError(
                f"the model cannot take the records ({error_text(exc)})",
                field=suspect_field(records, self._columns, exc),
                hint="Check the records' values against the model's signature",
            ) from exc
        if isinstance(answer, pd.DataFrame):
            items: list[Any] = [_row(row) for row in answer.to_dict(orient="records")]
        elif isinstance(answer, pd.Series) or _is_array(answer):
            items = answer.tolist()
        elif isinstance(answer, list | tuple):
            items = list(answer)
        else:
            raise BackendError(
                f"the model returned a {type(answer).__name__}; expected a DataFrame, a Series, "
                "an array or a list with one item per record"
            )
        check_count(items, records, what="the model")
        return [as_output(item, index=index, wrap_dicts=True) for index, item in enumerate(items)]


def _signature_columns(model: Any) -> list[str] | None:
    """The input names of the model's column-based signature, or None."""
    metadata = getattr(model, "metadata", None)
    try:
        schema = metadata.get_input_schema() if metadata is not None else None
        if schema is None or not schema.has_input_names() or schema.is_tensor_spec():
            return None
        return [str(name) for name in schema.input_names()]
    except (AttributeError, TypeError):
        return None


def _row(row: Mapping[str, Any]) -> Any:
    if "prediction" in row:
        return dict(row)
    if len(row) == 1:
        return next(iter(row.values()))
    return {"prediction": dict(row)}


def _is_array(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "numpy" and hasattr(value, "tolist")
