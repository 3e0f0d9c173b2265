"""Every registered backend keeps the contract of ``Backend`` (the gateway relies on it).

Each case builds a real working instance: a scikit-learn Pipeline and a plain
function saved with joblib, an MLflow model, and a remote model behind a real
HTTP server. A backend added to ``BACKENDS`` without a case here fails
``test_every_backend_has_a_conformance_case``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from postpilot.errors import BackendError, InputError
from postpilot.gateway.backends import BACKENDS, Backend, load_backend
from tests.gateway.backends import peers
from tests.gateway.backends.conftest import FEATURES


@dataclass(frozen=True)
class Case:
    key: str
    uri: str
    features: list[str] | None = None
    options: dict[str, Any] | None = None
    names_missing_field: bool = True  # a remote model's 422 names no field we can read
    names_bad_field: bool = True
    secrets: tuple[str, ...] = ()

    def build(self) -> Backend:
        return load_backend(self.key, self.uri, features=self.features, options=self.options)


CASES = {
    "sklearn-pipeline": "sklearn",
    "sklearn-function": "sklearn",
    "mlflow": "mlflow",
    "http": "http",
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Case:
    name = request.param
    if name == "sklearn-pipeline":
        path: Path = request.getfixturevalue("pipeline_file")
        return Case("sklearn", path.as_uri(), features=FEATURES)
    if name == "sklearn-function":  # no features: the missing field shows as a KeyError
        files = request.getfixturevalue("function_files")
        return Case("sklearn", str(files["bill_ratio"]), names_bad_field=False)
    if name == "mlflow":
        return Case("mlflow", str(request.getfixturevalue("mlflow_model")))
    server: peers.ModelServer = request.getfixturevalue("model_server")
    monkeypatch.setenv(peers.TOKEN_ENV, peers.TOKEN)
    return Case(
        "http",
        server.url("/penguins", code=peers.CODE),
        options={"allow_private": True, "headers_env": peers.TOKEN_ENV},
        names_missing_field=False,
        names_bad_field=False,
        secrets=(peers.CODE, peers.TOKEN),
    )


def same(left: Any, right: Any) -> bool:
    """Equal, with floats equal to 1e-9 (BLAS may sum a batch in another order)."""
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same, left, right))
    return type(left) is type(right) and left == right


def run(case: Case, scenario: Callable[[Backend], Awaitable[None]]) -> None:
    """Build the backend and run ``scenario`` on it in one event loop, then close it."""

    async def main() -> None:
        backend = case.build()
        try:
            await scenario(backend)
        finally:
            await backend.aclose()

    anyio.run(main)


def test_every_backend_has_a_conformance_case() -> None:
    assert set(CASES.values()) == set(BACKENDS)
    for key, backend in BACKENDS.items():
        assert backend.key == key
        assert issubclass(backend, Backend)


def test_one_output_per_record_in_order(case: Case, records: list[dict[str, Any]]) -> None:
    async def scenario(backend: Backend) -> None:
        batch = await backend.predict(records)
        assert len(batch) == len(records) == 50
        assert len({json.dumps(output, sort_keys=True) for output in batch}) > 1
        assert same(await backend.predict(records[::-1]), batch[::-1])
        for record, output in zip(records, batch, strict=True):
            assert same(await backend.predict([record]), [output])

    run(case, scenario)


def test_outputs_are_json_with_a_prediction(case: Case, records: list[dict[str, Any]]) -> None:
    async def scenario(backend: Backend) -> None:
        outputs = await backend.predict(records)
        json.dumps(outputs, allow_nan=False)  # strict JSON, as the gateway answers
        for output in outputs:
            assert isinstance(output, dict)
            assert "prediction" in output
            assert all(isinstance(key, str) for key in output)
        assert await backend.predict([]) == []

    run(case, scenario)


@pytest.mark.parametrize("field", ["bill_length_mm", "island"])
def test_a_record_missing_a_field_is_a_backend_error(
    case: Case, records: list[dict[str, Any]], field: str
) -> None:
    broken = {name: value for name, value in records[3].items() if name != field}

    async def scenario(backend: Backend) -> None:
        with pytest.raises(BackendError) as caught:
            await backend.predict([records[0], broken])
        assert not caught.value.retryable
        if case.names_missing_field:
            assert caught.value.field == field
            assert field in str(caught.value)

    if field == "island" and case.uri.endswith("bill_ratio.joblib"):
        field = "bill_depth_mm"  # the function reads only the bill
        broken = {name: value for name, value in records[3].items() if name != field}
    run(case, scenario)


def test_a_value_the_model_cannot_take_is_a_backend_error(
    case: Case, records: list[dict[str, Any]]
) -> None:
    async def scenario(backend: Backend) -> None:
        with pytest.raises(BackendError) as caught:
            await backend.predict([records[0], {**records[1], "bill_length_mm": "long"}])
        assert not caught.value.retryable
        if case.names_bad_field:
            assert caught.value.field == "bill_length_mm"

    run(case, scenario)


def test_a_record_that_is_not_a_mapping_is_a_backend_error(
    case: Case, records: list[dict[str, Any]]
) -> None:
    async def scenario(backend: Backend) -> None:
        with pytest.raises(BackendError):
            await backend.predict([records[0], ["not", "a", "record"]])  # type: ignore[list-item]

    run(case, scenario)


def test_aclose_is_idempotent_and_a_closed_backend_refuses(
    case: Case, records: list[dict[str, Any]]
) -> None:
    async def scenario(backend: Backend) -> None:
        await backend.predict(records[:2])
        await backend.aclose()
        await backend.aclose()
        assert backend.closed
        with pytest.raises(BackendError, match="closed"):
            await backend.predict(records[:1])

    run(case, scenario)


def test_describe_is_json_without_secrets(case: Case) -> None:
    async def scenario(backend: Backend) -> None:
        described = backend.describe()
        text = json.dumps(described, allow_nan=False)
        assert described["key"] == case.key
        assert "?" not in described["uri"]
        assert "@" not in described["uri"]
        for secret in case.secrets:
            assert secret not in text
            assert secret not in repr(backend.__dict__.get("_shown", ""))

    run(case, scenario)


def test_an_unknown_option_lists_the_accepted_ones(case: Case) -> None:
    with pytest.raises(InputError) as caught:
        load_backend(case.key, case.uri, features=case.features, options={"colour": "red"})
    assert caught.value.field == "options.colour"
    accepted = sorted(BACKENDS[case.key].options) or ["none"]
    for name in accepted:
        assert name in str(caught.value)


def test_the_flavor_picks_the_backend(case: Case) -> None:
    async def scenario(backend: Backend) -> None:
        assert type(backend) is BACKENDS[case.key]

    run(case, scenario)
