"""The ``sklearn`` backend: a joblib file holding a scikit-learn model or a Python callable.

``joblib`` is an alias of the key. The URI is a local path or a ``file://``
URI; anything else is refused (download remote artifacts first).

**Security.** joblib files are pickles: loading one runs whatever code its
author put in it. Serve only artifacts you trust, from a location only trusted
people can write to.

What the file holds decides how records are answered:

- an object with ``predict`` (an estimator or a Pipeline): the model's input is
  built from the records in the order of ``feature_names_in_`` when the model
  was fitted on named columns (then it gets a pandas DataFrame, so
  ColumnTransformer pipelines that select string columns work), else in the
  order of ``features`` (then a numpy array). A model without
  ``feature_names_in_`` and no ``features`` is refused at load. A model fitted on
  named columns whose every part takes columns by position (scikit-learn's own
  scalers, imputers, linear models, trees, ensembles and the like, in a Pipeline;
  not a ColumnTransformer, a FunctionTransformer, third-party code or pandas
  output) gets a float matrix in the ``feature_names_in_`` order instead when
  every value of the request is a number: the same answer (up to rounding in the
  last bits where the DataFrame's column layout changes the order of additions),
  without pandas' DataFrame construction and scikit-learn's DataFrame checks, which cost about
  four times the model's own work on one record (measured on a scaler and
  logistic regression; ``bench/gateway_bench.py``). Each output is
  ``{"prediction": ...}``, plus ``"probabilities"`` (``{str(class): p}``) when
  the model has ``predict_proba``.
- any other callable: called with the list of record dicts; it returns a list
  with one item per record, each a dict with ``"prediction"`` or a plain value
  (wrapped as ``{"prediction": value}``).

The model runs in a worker thread, so the event loop is never blocked. joblib,
numpy and pandas are imported only when a model is loaded or answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

from postpilot.errors import BackendError, InputError
from postpilot.gateway.backends.base import (
    Backend,
    Output,
    Record,
    as_output,
    check_count,
    check_features,
    error_text,
    plain,
    require_fields,
    suspect_field,
)

__all__ = ["SklearnBackend", "takes_arrays"]

_NO_NAMES = "X does not have valid feature names"
_BY_NAME: frozenset[str] = frozenset({"ColumnTransformer", "FunctionTransformer"})
"""scikit-learn classes that may select or compute columns by name."""
_SECURITY = "joblib files are pickles, which run code when loaded: serve only artifacts you trust"


class SklearnBackend(Backend):
    """A scikit-learn estimator or pipeline, or a Python callable, saved with joblib."""

    key = "sklearn"
    options: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        uri: str,
        model: Any,
        *,
        columns: list[str] | None,
        frame: bool = False,
    ) -> None:
        super().__init__(uri)
        self._model = model
        self._columns = columns
        self._frame = frame
        self._estimator = callable(getattr(model, "predict", None))
        self._arrays = frame and self._estimator and takes_arrays(model)
        """Numeric records may go in as a float matrix (see the module docstring)."""
        classes = getattr(model, "classes_", None)
        self._classes: list[str] | None = None
        probabilities = self._estimator and hasattr(model, "predict_proba")
        # multi-output classifiers hold a list of arrays: no flat probabilities
        if probabilities and classes is not None and getattr(classes, "ndim", 1) == 1:
            self._classes = [str(plain(label)) for label in classes]

    @classmethod
    def load(
        cls,
        uri: str,
        *,
        features: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Self:
        """Read the joblib file at ``uri`` (local only); see the module docstring."""
        cls.check_options(options)
        names = check_features(features)
        path = _local_file(uri)
        model = _read(path)
        if callable(getattr(model, "predict", None)):
            columns, frame = _columns(model, names)
            return cls(uri, model, columns=columns, frame=frame)
        if callable(model):
            return cls(uri, model, columns=names)
        kind = type(model)
        raise BackendError(
            f"{path} holds a {kind.__module__}.{kind.__qualname__}, which is neither a model "
            "with predict() nor a callable",
            file=str(path),
            hint="Save a fitted estimator or pipeline, or a function, with joblib.dump",
        )

    async def predict(self, records: Sequence[Record]) -> list[Output]:
        self._check_open()
        if self._columns is not None:
            require_fields(records, self._columns)
        else:
            require_fields(records, ())
        if not records:
            return []
        from anyio import to_thread

        run = self._run_estimator if self._estimator else self._run_callable
        return await to_thread.run_sync(run, list(records))

    async def aclose(self) -> None:
        self._model = None
        await super().aclose()

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described["features"] = self._columns
        if not self._estimator:
            described["kind"] = "callable"
            described["callable"] = _qualified(self._model) if self._model is not None else None
            return described
        described.update(
            kind="estimator",
            estimator=_qualified(type(self._model)) if self._model is not None else None,
            input=("DataFrame, or an array for numbers" if self._arrays else "DataFrame")
            if self._frame
            else "array",
            classes=self._classes,
            probabilities=self._classes is not None,
        )
        return described

    def _run_estimator(self, records: list[Record]) -> list[Output]:
        columns = self._columns or []
        try:
            matrix = self._matrix(records, columns)
            predicted, proba = self._predict(matrix)
        except Exception as exc:  # the boundary: whatever the model raises
            raise BackendError(
                f"the model cannot take the records ({error_text(exc)})",
                field=suspect_field(records, columns, exc),
                hint="Check the records' values against what the model was trained on",
            ) from exc
        predictions = plain(predicted)
        if not isinstance(predictions, list):
            raise BackendError(f"the model's predict() returned a {type(predicted).__name__}")
        check_count(predictions, records, what="the model's predict()")
        outputs: list[Output] = [{"prediction": value} for value in predictions]
        if proba is None or self._classes is None:
            return outputs
        rows = plain(proba)
        check_count(rows, records, what="the model's predict_proba()")
        for output, row in zip(outputs, rows, strict=True):
            if not isinstance(row, list) or len(row) != len(self._classes):
                raise BackendError(
                    f"the model's predict_proba() rows do not match its {len(self._classes)} "
                    "classes"
                )
            output["probabilities"] = dict(zip(self._classes, row, strict=True))
        return outputs

    def _predict(self, matrix: Any) -> tuple[Any, Any]:
        """``predict`` and, for a classifier, ``predict_proba``. A pipeline's transforms
        run once for both (what ``Pipeline.predict`` and ``predict_proba`` each do on
        their own), so a classifier pipeline costs one pass, not two."""
        if self._frame and not hasattr(matrix, "columns"):
            import warnings

            # the matrix is in feature_names_in_ order: scikit-learn's warning that it
            # has no column names does not apply
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_NO_NAMES, category=UserWarning)
                return self._predict_unchecked(matrix)
        return self._predict_unchecked(matrix)

    def _predict_unchecked(self, matrix: Any) -> tuple[Any, Any]:
        model = self._model
        if self._classes is None:
            return model.predict(matrix), None
        steps = getattr(model, "steps", None)
        if isinstance(steps, list) and len(steps) > 1 and hasattr(model, "__getitem__"):
            final = steps[-1][1]
            if hasattr(final, "predict") and hasattr(final, "predict_proba"):
                transformed = model[:-1].transform(matrix)
                return final.predict(transformed), final.predict_proba(transformed)
        return model.predict(matrix), model.predict_proba(matrix)

    def _matrix(self, records: list[Record], columns: list[str]) -> Any:
        rows = [[record[name] for name in columns] for record in records]
        import numpy as np

        if self._arrays and all(
            type(value) is float or type(value) is int for row in rows for value in row
        ):
            return np.array(rows, dtype=float)
        if self._frame:
            import pandas as pd

            return pd.DataFrame(rows, columns=columns)

        numeric = all(
            value is None or isinstance(value, int | float) for row in rows for value in row
        )
        return np.array(rows, dtype=float if numeric else object)

    def _run_callable(self, records: list[Record]) -> list[Output]:
        function: Callable[[list[dict[str, Any]]], Any] = self._model
        try:
            answer = function([dict(record) for record in records])
        except KeyError as exc:
            name = exc.args[0] if exc.args else None
            if isinstance(name, str) and any(name not in record for record in records):
                raise BackendError(
                    f"a record has no field {name!r}, which the model needs", field=name
                ) from exc
            raise BackendError(f"the model failed ({error_text(exc)})") from exc
        except Exception as exc:  # the boundary: whatever the model raises
            raise BackendError(f"the model failed ({error_text(exc)})") from exc
        if isinstance(answer, tuple) or _is_array(answer):
            answer = list(answer)
        if not isinstance(answer, list):
            raise BackendError(
                f"the model returned a {type(answer).__name__}; a callable must return a list "
                "with one output per record",
                hint="Return [{'prediction': ...}, ...] or [value, ...], in the records' order",
            )
        check_count(answer, records, what="the model")
        return [as_output(item, index=index) for index, item in enumerate(answer)]


def _local_file(uri: str) -> Path:
    from postpilot.registry.versions import local_path

    path = local_path(uri) if isinstance(uri, str) else None
    if path is None:
        raise InputError(
            "the sklearn backend loads a local file; the artifact URI is not a local path",
            field="artifact",
            hint="Give a path or file:// URI; download remote artifacts first",
        )
    if not path.is_file():
        raise InputError(
            f"the model file {path} does not exist or is not a file",
            file=str(path),
            hint="Give the path of a file written by joblib.dump",
        )
    return path


def takes_arrays(model: Any) -> bool:
    """Whether ``model`` answers a float matrix in ``feature_names_in_`` order exactly
    as it answers the DataFrame: it and every estimator inside it (its parameters,
    deeply, and a Pipeline's steps) are scikit-learn classes that use columns by
    position, none set to pandas output, and scikit-learn's global output is the
    default. Anything else (third-party or user code, a ColumnTransformer, a
    FunctionTransformer) keeps the DataFrame."""
    try:
        import sklearn
        from sklearn.base import BaseEstimator

        if sklearn.get_config().get("transform_output", "default") != "default":
            return False
        seen: list[Any] = [model]
        while seen:
            part = seen.pop()
            if part is None or isinstance(part, str):  # "passthrough", "drop"
                continue
            kind = type(part)
            if not isinstance(part, BaseEstimator) or not kind.__module__.startswith("sklearn."):
                return False
            if kind.__name__ in _BY_NAME or getattr(part, "_sklearn_output_config", None):
                return False
            for _, step in getattr(part, "steps", None) or []:
                seen.append(step)
            for name, value in part.get_params(deep=False).items():
                if isinstance(value, BaseEstimator) or name in ("steps", "transformer_list"):
                    if isinstance(value, list):
                        seen.extend(v[1] if isinstance(v, tuple) else v for v in value)
                    else:
                        seen.append(value)
                elif isinstance(value, list) and any(isinstance(v, tuple) for v in value):
                    return False  # estimators in a list we do not walk: keep the DataFrame
        return True
    except Exception:  # an unusual model: the DataFrame is always right
        return False


def _read(path: Path) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # the boundary: unpickling can raise anything
        raise BackendError(
            f"cannot load {path} with joblib ({error_text(exc)})",
            file=str(path),
            hint=(
                "Serve a file written by joblib.dump, with the libraries (and any module "
                f"defining its functions) installed. Note: {_SECURITY}"
            ),
        ) from exc


def _columns(model: Any, features: list[str] | None) -> tuple[list[str], bool]:
    """The model's input columns, and whether it takes a DataFrame."""
    named = getattr(model, "feature_names_in_", None)
    if named is not None:
        columns = [str(name) for name in named]
        if features is not None:
            missing = [name for name in columns if name not in features]
            if missing:
                raise InputError(
                    f"the model needs fields the product's features do not list: "
                    f"{', '.join(missing)}",
                    field="features",
                    hint="Add them to the product's contract, or serve a model fitted on them",
                )
        return columns, True
    if features is None:
        raise InputError(
            "the model was fitted without column names and no feature list was given, so "
            "the order of its inputs is unknown",
            field="features",
            hint=(
                "Fit the model on a pandas DataFrame (it then records feature_names_in_), or "
                "give the fields in the model's order (the product's contract)"
            ),
        )
    expected = getattr(model, "n_features_in_", None)
    if isinstance(expected, int) and expected != len(features):
        raise InputError(
            f"the model takes {expected} features but {len(features)} were given",
            field="features",
            hint="Give exactly the model's input fields, in the order it was fitted on",
        )
    return features, False


def _is_array(value: Any) -> bool:
    return type(value).__module__.split(".")[0] in ("numpy", "pandas") and hasattr(value, "tolist")


def _qualified(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    module = getattr(obj, "__module__", None) or type(obj).__module__
    return f"{module}.{name}"
