"""The sklearn backend: column order, probabilities, callables and their mistakes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.tree import DecisionTreeClassifier

from postpilot.errors import BackendError, InputError
from postpilot.gateway.backends import SklearnBackend, load_backend
from postpilot.gateway.backends.base import Output, Record
from tests.gateway.backends import peers
from tests.gateway.backends.conftest import FEATURES, NUMBERS, TARGET


def predict(path: Path | str, records: Sequence[Record], **load: Any) -> list[Output]:
    async def main() -> list[Output]:
        backend = SklearnBackend.load(str(path), **load)
        try:
            return await backend.predict(records)
        finally:
            await backend.aclose()

    return anyio.run(main)


@pytest.fixture(scope="module")
def unnamed_classifier(
    artifacts: Path, penguin_rows: list[dict[str, Any]]
) -> tuple[Path, DecisionTreeClassifier]:
    """A classifier fitted on a numpy array (no feature names), with integer classes."""
    x = np.array([[row[name] for name in NUMBERS] for row in penguin_rows], dtype=float)
    y = np.array([["Adelie", "Chinstrap", "Gentoo"].index(row[TARGET]) for row in penguin_rows])
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    path = artifacts / "unnamed.joblib"
    joblib.dump(model, path)
    return path, model


def test_a_model_fitted_on_a_frame_reads_its_own_column_order(
    pipeline_file: Path, penguin_pipeline: Any, records: list[dict[str, Any]]
) -> None:
    shuffled = [dict(reversed(list(record.items()))) for record in records]
    outputs = predict(pipeline_file, shuffled, features=FEATURES[::-1])
    expected = penguin_pipeline.predict(pd.DataFrame(records)[FEATURES])
    assert [output["prediction"] for output in outputs] == expected.tolist()
    backend = SklearnBackend.load(str(pipeline_file), features=FEATURES[::-1])
    assert backend.describe()["features"] == FEATURES  # feature_names_in_, not the given order
    assert backend.describe()["input"] == "DataFrame"


def test_a_model_without_names_takes_the_features_order(
    unnamed_classifier: tuple[Path, DecisionTreeClassifier], records: list[dict[str, Any]]
) -> None:
    path, model = unnamed_classifier
    x = np.array([[record[name] for name in NUMBERS] for record in records], dtype=float)
    outputs = predict(path, records, features=NUMBERS)
    assert [o["prediction"] for o in outputs] == model.predict(x).tolist()
    swapped = predict(path, records, features=NUMBERS[::-1])
    assert [o["prediction"] for o in swapped] == model.predict(x[:, ::-1]).tolist()
    assert swapped != outputs  # the order given is the order the model sees


def test_a_model_without_names_needs_features(
    unnamed_classifier: tuple[Path, DecisionTreeClassifier],
) -> None:
    path, _ = unnamed_classifier
    with pytest.raises(InputError, match="without column names") as caught:
        SklearnBackend.load(str(path))
    assert caught.value.field == "features"
    with pytest.raises(InputError, match="takes 4 features but 3"):
        SklearnBackend.load(str(path), features=NUMBERS[:3])


def test_features_missing_a_field_the_model_needs_are_refused(pipeline_file: Path) -> None:
    with pytest.raises(InputError, match="do not list: sex") as caught:
        SklearnBackend.load(str(pipeline_file), features=FEATURES[:-1])
    assert caught.value.field == "features"


def test_probabilities_are_keyed_by_the_class_as_text(
    unnamed_classifier: tuple[Path, DecisionTreeClassifier], records: list[dict[str, Any]]
) -> None:
    path, model = unnamed_classifier
    outputs = predict(path, records, features=NUMBERS)
    x = np.array([[record[name] for name in NUMBERS] for record in records], dtype=float)
    proba = model.predict_proba(x)
    for output, row in zip(outputs, proba, strict=True):
        assert isinstance(output["prediction"], int)  # numpy's int64 made plain
        assert list(output["probabilities"]) == ["0", "1", "2"]
        assert list(output["probabilities"].values()) == pytest.approx(row.tolist())
    assert SklearnBackend.load(str(path), features=NUMBERS).describe()["classes"] == ["0", "1", "2"]


def test_the_pipeline_gives_species_probabilities(
    pipeline_file: Path, records: list[dict[str, Any]]
) -> None:
    outputs = predict(pipeline_file, records)
    assert {o["prediction"] for o in outputs} == {"Adelie", "Chinstrap", "Gentoo"}
    for output in outputs:
        assert set(output["probabilities"]) == {"Adelie", "Chinstrap", "Gentoo"}
        assert sum(output["probabilities"].values()) == pytest.approx(1.0)
        assert max(output["probabilities"], key=output["probabilities"].get) == output["prediction"]


def test_a_pipeline_transformed_once_answers_as_the_pipeline_itself(
    pipeline_file: Path, penguin_pipeline: Any, records: list[dict[str, Any]]
) -> None:
    outputs = predict(pipeline_file, records)
    frame = pd.DataFrame(records)[list(penguin_pipeline.feature_names_in_)]
    expected = penguin_pipeline.predict(frame).tolist()
    proba = penguin_pipeline.predict_proba(frame)
    assert [o["prediction"] for o in outputs] == expected
    for output, row in zip(outputs, proba, strict=True):
        assert list(output["probabilities"].values()) == pytest.approx(row.tolist(), abs=1e-12)


def test_a_regressor_gives_no_probabilities(
    artifacts: Path, penguin_rows: list[dict[str, Any]], records: list[dict[str, Any]]
) -> None:
    frame = pd.DataFrame(penguin_rows)
    model = LinearRegression().fit(frame[NUMBERS[:3]], frame["body_mass_g"])
    joblib.dump(model, artifacts / "regressor.joblib")
    outputs = predict(artifacts / "regressor.joblib", records)
    assert all(set(output) == {"prediction"} for output in outputs)
    assert all(isinstance(output["prediction"], float) for output in outputs)


def test_a_text_value_in_a_number_column_names_the_field(
    unnamed_classifier: tuple[Path, DecisionTreeClassifier], records: list[dict[str, Any]]
) -> None:
    path, _ = unnamed_classifier
    with pytest.raises(BackendError, match="cannot take the records") as caught:
        predict(path, [records[0], {**records[1], "bill_depth_mm": "deep"}], features=NUMBERS)
    assert caught.value.field == "bill_depth_mm"
    assert not caught.value.retryable


def test_a_callable_answering_plain_or_numpy_values_is_wrapped(
    function_files: dict[str, Path], records: list[dict[str, Any]]
) -> None:
    outputs = predict(function_files["bare_ratios"], records)
    assert outputs == peers.bill_ratio(records)
    numbers = predict(function_files["numpy_answers"], records[:3])
    assert numbers[0] == {"prediction": None}  # NaN is not JSON
    assert numbers[1:] == peers.bill_ratio(records[1:3])
    json.dumps(numbers, allow_nan=False)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("one_short", "gave 2 output"),
        ("not_a_list", "returned a dict"),
        ("no_prediction_key", "without a 'prediction' key"),
        ("raises", "RuntimeError: the model fell over"),
    ],
)
def test_a_callable_that_misbehaves_is_a_backend_error(
    function_files: dict[str, Path], records: list[dict[str, Any]], name: str, message: str
) -> None:
    with pytest.raises(BackendError, match=message) as caught:
        predict(function_files[name], records[:3])
    assert not caught.value.retryable


def test_a_callable_with_features_checks_them_first(
    function_files: dict[str, Path], records: list[dict[str, Any]]
) -> None:
    broken = {k: v for k, v in records[0].items() if k != "sex"}  # the function never reads sex
    assert predict(function_files["bill_ratio"], [broken])  # no features: the callable decides
    with pytest.raises(BackendError, match="no field 'sex'") as caught:
        predict(function_files["bill_ratio"], [broken], features=FEATURES)
    assert caught.value.field == "sex"


def test_the_model_runs_off_the_event_loop(
    function_files: dict[str, Path], records: list[dict[str, Any]]
) -> None:
    """The model waits for an event only the event loop can set: if predict ran the
    model on the loop's thread, the event could not be set and the model answers False."""
    peers.RELEASE.clear()

    async def release() -> None:
        await anyio.sleep(0.05)
        peers.RELEASE.set()

    async def main() -> list[Output]:
        backend = SklearnBackend.load(str(function_files["waits_for_release"]))
        async with anyio.create_task_group() as group:
            group.start_soon(release)
            outputs = await backend.predict(records[:2])
        await backend.aclose()
        return outputs

    assert anyio.run(main) == [{"prediction": True}, {"prediction": True}]


@pytest.mark.parametrize(
    "uri", ["s3://bucket/model.joblib", "https://example.com/model.joblib", "models:/penguins/1"]
)
def test_a_remote_uri_is_refused(uri: str) -> None:
    with pytest.raises(InputError, match="local file") as caught:
        SklearnBackend.load(uri)
    assert caught.value.field == "artifact"


def test_files_that_are_not_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        SklearnBackend.load(str(tmp_path / "missing.joblib"))
    with pytest.raises(InputError, match="not a file"):
        SklearnBackend.load(str(tmp_path))
    (tmp_path / "text.joblib").write_text("not a pickle")
    with pytest.raises(BackendError, match="cannot load") as caught:
        SklearnBackend.load(str(tmp_path / "text.joblib"))
    assert "run code when loaded" in str(caught.value)
    joblib.dump({"weights": [1, 2]}, tmp_path / "dict.joblib")
    with pytest.raises(BackendError, match=r"holds a builtins\.dict, which is neither"):
        SklearnBackend.load((tmp_path / "dict.joblib").as_uri())


def test_describe_says_what_was_loaded(
    pipeline_file: Path, function_files: dict[str, Path]
) -> None:
    described = load_backend("joblib", str(pipeline_file)).describe()
    assert described == {
        "key": "sklearn",
        "uri": str(pipeline_file),
        "features": FEATURES,
        "kind": "estimator",
        "estimator": "sklearn.pipeline.Pipeline",
        "input": "DataFrame",
        "classes": ["Adelie", "Chinstrap", "Gentoo"],
        "probabilities": True,
    }
    function = SklearnBackend.load(str(function_files["bill_ratio"])).describe()
    assert function["kind"] == "callable"
    assert function["callable"] == "tests.gateway.backends.peers.bill_ratio"
