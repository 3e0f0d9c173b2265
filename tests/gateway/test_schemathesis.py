"""The gateway fuzzed from its own OpenAPI document with schemathesis (issue 10).

Every operation the app publishes at ``/openapi.json`` is called with requests
generated from the document (bodies and path parameters, valid and invalid;
derandomized, and a bounded number of examples per operation so the suite stays
fast), in three ways:

- with a key that has every scope on every product: no 5xx, every answer is one
  the document declares (status code, media type, body schema, headers), and a
  request that breaks the document is refused (4xx);
- with no key: every operation that is not public answers 401 (problem+json
  with a Bearer challenge), whatever the request holds;
- with a wrong key (well-formed but never issued, or garbage): 401; with a key
  that lacks the operation's scope: 403.

Fuzzed product names and prediction ids name nothing (404, which the document
declares), so each operation is fuzzed again with the routed product or a logged
prediction's id; :func:`test_real_answers_conform_to_the_schema` sends what a
real caller sends, so the 2xx answers are checked too.

The checks are schemathesis' own (``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance``, ``response_schema_conformance``,
``response_headers_conformance``, ``negative_data_rejection``), run through its Python
API: ``schemathesis.openapi.from_asgi`` and one Hypothesis strategy per operation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode

from postpilot.gateway.auth import access_of
from postpilot.gateway.service import set_route
from postpilot.registry.apikeys import new_key
from postpilot.registry.routes import Fallback
from tests.gateway.world import PRODUCT, World, build, records

PREDICT_PATH = "/v1/products/{product}/predict"
PREDICT = PREDICT_PATH.format(product=PRODUCT)
SCOPES = ("predict", "feedback", "view", "admin")
EXAMPLES = 30  # per operation and mode; the whole module runs in well under a minute

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    world = build(tmp_path_factory.mktemp("fuzz"))
    registry = world.registry
    set_route(registry, PRODUCT, version=2, fallback=Fallback("version", 1))  # to switch on
    # a fast limit: the fuzzing is not about rate limits (429 is still declared and checked)
    fast = {"rate": 10_000.0, "burst": 10_000}
    world.keys["all"] = registry.create_key(
        "billing", products=["*"], scopes=list(SCOPES), **fast
    ).plaintext
    for scope in SCOPES:
        others = [s for s in SCOPES if s != scope]
        world.keys[f"no_{scope}"] = registry.create_key(
            "billing", products=["*"], scopes=others, **fast
        ).plaintext
    return world


@pytest.fixture
def app(world: World) -> FastAPI:
    app: FastAPI = world.app()
    return app


@pytest.fixture
def api(app: FastAPI) -> Any:
    # the keys are the tests' to choose: no generated Authorization or X-API-Key headers
    config = SchemathesisConfig.from_dict({"generation": {"with-security-parameters": False}})
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.fixture(scope="module")
def known(world: World) -> dict[str, str]:
    """Path parameters that name something real: the routed product and a logged prediction."""
    with TestClient(world.app()) as client:
        response = client.post(
            PREDICT, json={"record": records(1)[0]}, headers=_bearer(world.keys["all"])
        )
    assert response.status_code == 200, response.text
    return {"product": PRODUCT, "prediction_id": response.json()["predictions"][0]["id"]}


def _fuzz(
    api: Any, test: Callable[[Any], None], known: Mapping[str, str] | None = None
) -> list[str]:
    """Run ``test`` on generated cases of every operation, valid and invalid: the labels.

    Generated path parameters name nothing (a 404); with ``known``, an operation that takes
    one of them is fuzzed again with it fixed, so its generated bodies reach the route.

    ``schema.parametrize()`` with ``schemathesis.pytest.from_fixture`` would give one pytest
    item per operation, but it sets ``Function._nodeid``, which pytest 9 no longer has; the
    strategies of the Python API do the same work.
    """
    labels = []
    for result in api.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        names = {parameter.name for parameter in operation.path_parameters}
        fixed = {name: value for name, value in (known or {}).items() if name in names}
        # invalid data needs something to break: a body or a query (any text is a valid path)
        breakable = len(operation.body) > 0 or len(operation.query) > 0
        for path_parameters in [None, fixed] if fixed else [None]:
            for mode in GenerationMode if breakable else [GenerationMode.POSITIVE]:
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=path_parameters
                )
                where = f"{operation.label}, {mode.value} case, path {path_parameters or 'fuzzed'}"

                @FUZZ
                @given(case=strategy)
                def run(case: Any) -> None:
                    try:
                        test(case)
                    except Exception as exc:
                        exc.add_note(where)  # noqa: B023
                        raise

                run()
    return labels


def _scope(app: FastAPI, case: Any) -> str | None:
    """The scope the operation needs, from the route's declaration (None: public)."""
    for route in app.routes:
        if (
            isinstance(route, APIRoute)
            and route.path == case.operation.path
            and case.method.upper() in route.methods
        ):
            access = access_of(route.endpoint)
            assert access is not None, f"{case.method} {route.path} declares no access"
            return None if access.public else access.scope
    raise AssertionError(f"no route for {case.method} {case.operation.path}")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _refused(case: Any, response: Any, status: int) -> None:
    assert response.status_code == status, (case.method, case.formatted_path, response.text)
    assert response.headers["content-type"][0] == "application/problem+json"
    if status == 401:
        assert response.headers["www-authenticate"][0].startswith("Bearer")
    case.validate_response(response, checks=CONFORMANCE)


def _routes(app: FastAPI) -> set[str]:
    return {
        f"{method} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods
    }


def test_with_every_scope_no_5xx_and_every_answer_is_declared(
    api: Any, app: FastAPI, world: World, known: dict[str, str]
) -> None:
    def test(case: Any) -> None:
        case.call_and_validate(
            headers=_bearer(world.keys["all"]), checks=[*CONFORMANCE, negative_data_rejection]
        )

    fuzzed = _fuzz(api, test, known)
    assert set(fuzzed) == _routes(app)  # every route is in the document, and was fuzzed


WRONG = {
    "unknown": lambda: _bearer(new_key().plaintext),  # right shape and checksum, never issued
    "garbage": lambda: _bearer("pp_not-a-key"),
    "garbage in X-API-Key": lambda: {"X-API-Key": "hunter2"},
    "basic": lambda: {"Authorization": "Basic dXNlcjpwYXNz"},
}


def test_without_a_valid_key_every_private_operation_is_refused(
    api: Any, app: FastAPI, world: World, known: dict[str, str]
) -> None:
    """No key or a wrong one: 401; a key without the operation's scope: 403.

    Each generated case is sent once per credential (one generation pass: it is the slow part).
    """

    def test(case: Any) -> None:
        scope = _scope(app, case)
        for name, headers in {"no key": lambda: {}, **WRONG}.items():
            response = case.call(headers=headers())
            if scope is None:
                assert response.status_code == 200, (name, response.text)
                case.validate_response(response, checks=CONFORMANCE)
            else:
                _refused(case, response, 401)
        if scope is not None:
            _refused(case, case.call(headers=_bearer(world.keys[f"no_{scope}"])), 403)

    _fuzz(api, test, known)


def test_real_answers_conform_to_the_schema(api: Any, world: World, known: dict[str, str]) -> None:
    """The requests a real caller sends: every 2xx body, header and media type is declared."""
    headers = _bearer(world.keys["all"])
    product = {"product": PRODUCT}
    prediction = {"prediction_id": known["prediction_id"]}

    def send(method: str, path: str, status: int, **parts: Any) -> Any:
        case = api[path][method].Case(**parts)
        response = case.call_and_validate(headers=headers, checks=CONFORMANCE)
        assert response.status_code == status, (method, path, response.text)
        return response

    fallback = "/v1/products/{product}/fallback"
    send("PUT", fallback, 200, path_parameters=product, body={"active": False})  # fuzzed on?
    one = send("POST", PREDICT_PATH, 200, path_parameters=product, body={"record": records(1)[0]})
    assert one.json()["served_by"] == "primary"
    batch = send("POST", PREDICT_PATH, 200, path_parameters=product, body={"records": records(3)})
    assert len(batch.json()["predictions"]) == 3
    send("GET", "/v1/products/{product}/route", 200, path_parameters=product)
    send("GET", "/v1/predictions/{prediction_id}", 200, path_parameters=prediction)
    send(
        "POST",
        "/v1/predictions/{prediction_id}/label",
        200,
        path_parameters=prediction,
        body={"label": True},
    )
    override = {"by": "maya@example.com", "decision": False, "reason_code": "manual.review"}
    send(
        "POST",
        "/v1/predictions/{prediction_id}/override",
        201,
        path_parameters=prediction,
        body=override,
    )
    send("PUT", fallback, 200, path_parameters=product, body={"active": True, "reason": "test"})
    try:
        served = send(
            "POST", PREDICT_PATH, 200, path_parameters=product, body={"record": records(1)[0]}
        )
        assert served.json()["served_by"] == "fallback"
        assert served.json()["fallback_reason"] == "switched"
    finally:
        send("PUT", fallback, 200, path_parameters=product, body={"active": False})
    assert "postpilot_gateway_requests_total" in send("GET", "/metrics", 200).text
    send("GET", "/healthz", 200)
    send("GET", "/readyz", 200)


def test_the_document_declares_the_keys_and_the_problems(api: Any, app: FastAPI) -> None:
    """Each private operation names its key schemes and scope, and answers errors as problems."""
    document = api.raw_schema
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {**schemes["apiKey"], "in": "header", "name": "X-API-Key"}
    problem = {"$ref": "#/components/schemas/Problem"}
    private = 0
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        access = access_of(route.endpoint)
        assert access is not None
        for method in route.methods:
            operation = document["paths"][route.path_format][method.lower()]
            if access.public:
                assert "security" not in operation
                continue
            private += 1
            scope = [access.scope]
            assert operation["security"] == [{"bearer": scope}, {"apiKey": scope}]
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert answer["content"] == {"application/problem+json": {"schema": problem}}
            assert {"401", "403", "503"} <= set(operation["responses"])
    assert private == 7


@pytest.mark.parametrize("body", [b"\x00", b"\xff\xfe not UTF-8", b'{"record": '])
def test_the_key_is_checked_before_the_body_is_read(world: World, body: bytes) -> None:
    """The fuzzing's find: FastAPI reads the body before any dependency, so a body that is not
    JSON was answered 422 (or 400) before the key was looked at."""
    json_body = {"Content-Type": "application/json"}
    with TestClient(world.app()) as client:
        assert client.post(PREDICT, content=body, headers=json_body).status_code == 401
        wrong = {**json_body, **_bearer(new_key().plaintext)}
        assert client.post(PREDICT, content=body, headers=wrong).status_code == 401
        no_scope = {**json_body, **_bearer(world.keys["no_predict"])}
        assert client.post(PREDICT, content=body, headers=no_scope).status_code == 403
        allowed = {**json_body, **_bearer(world.keys["all"])}
        assert client.post(PREDICT, content=body, headers=allowed).status_code in (400, 422)
