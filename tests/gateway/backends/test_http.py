"""The http backend against a real server: mappings, failures, timeouts and URL checks."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import anyio
import pytest

import postpilot.gateway.backends.http as http_backend
from postpilot.errors import BackendError, InputError
from postpilot.gateway.backends import HttpBackend
from postpilot.gateway.backends.base import Output, Record
from tests.gateway.backends import peers
from tests.gateway.backends.conftest import FEATURES

PRIVATE = {"allow_private": True}


def predict(url: str, records: Sequence[Record], **load: Any) -> list[Output]:
    async def main() -> list[Output]:
        backend = HttpBackend.load(url, **load)
        try:
            return await backend.predict(records)
        finally:
            await backend.aclose()

    return anyio.run(main)


def dead_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_top_level_key_and_a_dotted_response_path(
    model_server: peers.ModelServer, records: list[dict[str, Any]]
) -> None:
    options = {**PRIVATE, "request": "instances", "response": "data.outputs"}
    assert predict(model_server.url("/instances"), records, options=options) == peers.bill_ratio(
        records
    )


def test_a_bare_list_in_and_out(
    model_server: peers.ModelServer, records: list[dict[str, Any]]
) -> None:
    options = {**PRIVATE, "request": None, "response": ""}
    assert predict(model_server.url("/bare"), records, options=options) == peers.bill_ratio(records)


def test_one_call_per_record(
    model_server: peers.ModelServer, records: list[dict[str, Any]]
) -> None:
    options = {**PRIVATE, "batch": False, "request": "features", "response": "result"}
    assert predict(model_server.url("/one"), records, options=options) == peers.bill_ratio(records)
    broken = {k: v for k, v in records[7].items() if k != "sex"}
    with pytest.raises(BackendError, match="HTTP 422") as caught:
        predict(model_server.url("/one"), [*records[:5], broken], options=options)
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (401, False), (404, False), (408, True), (429, True), (500, True), (503, True)],
)
def test_an_error_status_is_a_backend_error(
    model_server: peers.ModelServer, records: list[dict[str, Any]], status: int, retryable: bool
) -> None:
    url = model_server.url(f"/status/{status}", code=peers.CODE)
    with pytest.raises(BackendError, match=f"HTTP {status}") as caught:
        predict(url, records[:2], options=PRIVATE)
    assert caught.value.retryable is retryable
    assert "failed for" in str(caught.value)  # the server's own words are kept...
    assert peers.CODE not in str(caught.value)  # ...without the secret it echoed


def test_a_missing_token_is_refused_by_the_remote(
    model_server: peers.ModelServer, records: list[dict[str, Any]]
) -> None:
    with pytest.raises(BackendError, match="HTTP 401") as caught:
        predict(model_server.url("/penguins", code=peers.CODE), records[:1], options=PRIVATE)
    assert not caught.value.retryable


def test_a_slow_remote_is_a_retryable_timeout(
    model_server: peers.ModelServer, records: list[dict[str, Any]]
) -> None:
    url = model_server.url("/slow", delay="1")
    with pytest.raises(BackendError, match=r"no answer within 0\.2 s") as caught:
        predict(url, records[:2], options={**PRIVATE, "timeout": 0.2})
    assert caught.value.retryable


def test_a_remote_that_is_down_is_retryable(records: list[dict[str, Any]]) -> None:
    with pytest.raises(BackendError, match="cannot reach") as caught:
        predict(f"http://127.0.0.1:{dead_port()}/predict", records[:1], options=PRIVATE)
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/not-json", "not JSON"),
        ("/short", "gave 1 output"),
        ("/redirect", "redirects are not followed"),
        ("/instances", "HTTP 500|no 'predictions'"),
    ],
)
def test_an_answer_that_does_not_fit_is_not_retryable(
    model_server: peers.ModelServer, records: list[dict[str, Any]], path: str, message: str
) -> None:
    options = {**PRIVATE, "request": "instances"} if path == "/instances" else PRIVATE
    with pytest.raises(BackendError, match=message) as caught:
        predict(model_server.url(path), records[:2], options=options)
    assert not caught.value.retryable


def test_headers_come_from_the_environment(
    model_server: peers.ModelServer, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_API_KEY", "k-123")
    options = {**PRIVATE, "headers_env": {"X-Api-Key": "MODEL_API_KEY"}}
    outputs = predict(model_server.url("/headers"), records[:2], options=options)
    assert [o["prediction"]["key"] for o in outputs] == ["k-123", "k-123"]
    assert outputs[0]["prediction"]["agent"].startswith("postpilot/")
    backend = HttpBackend.load(model_server.url("/headers"), options=options)
    assert backend.describe()["headers"] == ["X-Api-Key"]
    assert "k-123" not in str(backend.describe())
    anyio.run(backend.aclose)


def test_a_missing_header_variable_is_named_but_never_its_value(
    model_server: peers.ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODEL_TOKEN", raising=False)
    with pytest.raises(InputError, match=r"MODEL_TOKEN .* is not set") as caught:
        HttpBackend.load(model_server.url("/x"), options={**PRIVATE, "headers_env": "MODEL_TOKEN"})
    assert caught.value.field == "options.headers_env"
    with pytest.raises(InputError, match="not an environment variable name") as caught:
        HttpBackend.load(
            model_server.url("/x"), options={**PRIVATE, "headers_env": "Bearer s3cret-value"}
        )
    assert "s3cret-value" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/predict", "link-local"),
        ("ftp://models.example.com/predict", "only http and https"),
        ("http://user:s3cret-pw@127.0.0.1/predict", "user name or password"),
    ],
)
def test_a_refused_url_is_an_input_error_even_with_allow_private(url: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        HttpBackend.load(url, options=PRIVATE)
    assert caught.value.field == "artifact"
    assert "s3cret-pw" not in str(caught.value)


def test_a_local_model_needs_allow_private(model_server: peers.ModelServer) -> None:
    with pytest.raises(InputError, match="loopback") as caught:
        HttpBackend.load(model_server.url("/penguins"))
    assert "allow_private: true" in str(caught.value)
    assert "channel" not in str(caught.value)


def test_a_host_that_does_not_resolve_is_retryable() -> None:
    with pytest.raises(BackendError, match="cannot be resolved") as caught:
        HttpBackend.load("http://no-such-host.invalid/predict")
    assert caught.value.retryable


def test_the_url_is_checked_again_before_a_call(
    model_server: peers.ModelServer, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(peers.TOKEN_ENV, peers.TOKEN)
    backend = HttpBackend.load(
        model_server.url("/penguins", code=peers.CODE),
        options={**PRIVATE, "headers_env": peers.TOKEN_ENV},
    )
    metadata = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))]

    async def main() -> None:
        try:
            assert await backend.predict(records[:1]) == peers.bill_ratio(records[:1])
            monkeypatch.setattr(http_backend, "RECHECK_SECONDS", 0.0)
            monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: metadata)
            with pytest.raises(BackendError, match=r"not called: .* link-local") as caught:
                await backend.predict(records[:1])
            assert not caught.value.retryable
        finally:
            await backend.aclose()

    anyio.run(main)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"batch": "yes"}, "options.batch"),
        ({"allow_private": 1}, "options.allow_private"),
        ({"timeout": 0}, "options.timeout"),
        ({"timeout": -1}, "options.timeout"),
        ({"timeout": "10"}, "options.timeout"),
        ({"timeout": float("nan")}, "options.timeout"),
        ({"timeout": True}, "options.timeout"),
        ({"request": 3}, "options.request"),
        ({"response": "data..outputs"}, "options.response"),
        ({"headers_env": []}, "options.headers_env"),
        ({"headers_env": {"Bad Header": "X"}}, "options.headers_env"),
        ({"retries": 3}, "options.retries"),
    ],
)
def test_options_are_checked(
    model_server: peers.ModelServer, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(InputError) as caught:
        HttpBackend.load(model_server.url("/penguins"), options={**PRIVATE, **options})
    assert caught.value.field == field


def test_features_are_checked_before_calling(
    model_server: peers.ModelServer, records: list[dict[str, Any]]
) -> None:
    broken = {k: v for k, v in records[0].items() if k != "island"}
    with pytest.raises(BackendError, match="no field 'island'") as caught:
        predict(model_server.url("/status/500"), [broken], features=FEATURES, options=PRIVATE)
    assert caught.value.field == "island"
    assert not caught.value.retryable  # the 500 endpoint was never called


def test_describe_shows_the_mapping_without_secrets(
    model_server: peers.ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(peers.TOKEN_ENV, peers.TOKEN)
    backend = HttpBackend.load(
        model_server.url("/penguins", code=peers.CODE),
        options={**PRIVATE, "headers_env": peers.TOKEN_ENV, "batch": False, "response": "a.b"},
    )
    assert backend.describe() == {
        "key": "http",
        "uri": model_server.url("/penguins"),
        "features": None,
        "request": "records",
        "batch": False,
        "response": "a.b",
        "timeout": 10.0,
        "headers": ["Authorization"],
        "allow_private": True,
    }
    anyio.run(backend.aclose)
