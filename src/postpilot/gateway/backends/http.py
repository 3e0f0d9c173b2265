"""The ``http`` backend: a model already served elsewhere, called with JSON over HTTP(S).

The URI is the remote model's URL. Records are POSTed as JSON and the answer's
JSON is mapped back to one output per record. Options (all optional):

- ``request`` (default ``"records"``): the key the records go under, so
  ``{"records": [...]}``; ``"instances"`` gives ``{"instances": [...]}``; ``null``
  or ``""`` sends the bare list (or the bare record).
- ``batch`` (default ``true``): one call for all records; ``false`` makes one call
  per record (8 at a time), whose body is ``{request: record}``.
- ``response`` (default ``"predictions"``): the dotted path to the outputs in the
  answer (``"data.outputs"``, ``"results.0.scores"``); ``null`` or ``""`` is the
  whole answer. With ``batch`` it is a list with one item per record; without,
  it is the record's output.
- ``timeout`` (default ``10``): seconds to wait for each answer.
- ``headers_env``: the name of an environment variable whose value is sent as
  the ``Authorization`` header, or a mapping ``{header: VARIABLE}`` for other
  headers. Read at load; options hold the variable's name, never the secret.
- ``allow_private`` (default ``false``): allow loopback and private addresses
  (a model on the same host or network). Link-local addresses, where cloud
  metadata services live, are refused always.

Each item of the outputs becomes ``{"prediction": item}``, unless it is a dict
with ``"prediction"``, which is kept as it is (so a remote model may return
``"probabilities"`` too).

**URL checks.** The URL is checked by :func:`postpilot.policies.urls.check_url`
at load and again before a call when the last check is more than a minute old
(DNS answers change). A URL the check refuses (a scheme other than http(s), a
``user:password@``, a link-local, private or loopback address without
``allow_private``) raises InputError for the field ``artifact`` at load; a host
that does not resolve raises a retryable BackendError. Redirects are not
followed (a redirect could lead past the check).

**Errors.** A timeout, a connection error or a 408, 425, 429 or 5xx answer
raises a retryable BackendError; another non-2xx answer, an answer that is not
JSON, lacks the ``response`` path or holds the wrong number of outputs, a
non-retryable one. Messages name the URL without its query string or
credentials, and an excerpt of the remote's answer with the secrets removed.

One ``httpx.AsyncClient`` per backend holds the connections; ``aclose()``
closes it. httpx is imported when a backend is loaded, not before.
"""

from __future__ import annotations

import json
import math
import os
import re
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self
from urllib.parse import urlsplit

from postpilot._causes import caused_by
from postpilot.errors import BackendError, ChannelConfigError, InputError
from postpilot.gateway.backends.base import (
    Backend,
    Output,
    Record,
    as_output,
    check_count,
    check_features,
    redact_uri,
    require_fields,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpBackend"]

DEFAULT_TIMEOUT: Final = 10.0
RECHECK_SECONDS: Final = 60.0
"""How old the last URL check may be before a call checks the URL again."""
CONCURRENCY: Final = 8
"""Calls in flight at once for one ``predict`` with ``batch: false``."""

_SNIPPET: Final = 200
_HEADER: Final = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_ENV: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class HttpBackend(Backend):
    """A remote model: JSON in, JSON out."""

    key = "http"
    options: ClassVar[Mapping[str, str]] = {
        "request": "the key the records go under (null: the bare list)",
        "batch": "one call for all records (true) or one per record (false)",
        "response": "dotted path to the outputs in the answer (null: the whole answer)",
        "timeout": "seconds to wait for each answer",
        "headers_env": "environment variable(s) holding header values, e.g. Authorization",
        "allow_private": "allow loopback and private addresses",
    }

    def __init__(
        self,
        uri: str,
        client: httpx.AsyncClient,
        *,
        features: list[str] | None,
        request: str | None,
        batch: bool,
        response: list[str],
        timeout: float,
        headers: Mapping[str, str],
        allow_private: bool,
    ) -> None:
        super().__init__(uri)
        self._client = client
        self._features = features
        self._request = request
        self._batch = batch
        self._response = response
        self._timeout = timeout
        self._header_names = sorted(headers)
        self._allow_private = allow_private
        self._shown = redact_uri(uri)
        self._secrets = sorted(
            {urlsplit(uri).query, *headers.values()} - {""}, key=len, reverse=True
        )
        self._checked_at = time.monotonic()

    @classmethod
    def load(
        cls,
        uri: str,
        *,
        features: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Self:
        """Check the URL and the options and make the client; see the module docstring."""
        given = cls.check_options(options)
        names = check_features(features)
        request = _optional_text(given, "request", "records")
        batch = _flag(given, "batch", default=True)
        path = _optional_text(given, "response", "predictions")
        timeout = _timeout(given.get("timeout", DEFAULT_TIMEOUT))
        headers = _headers(given.get("headers_env"))
        allow_private = _flag(given, "allow_private", default=False)
        _check(uri, allow_private=allow_private, at_load=True)

        import httpx

        from postpilot.policies.channels._http import user_agent

        client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": user_agent(), "Accept": "application/json", **headers},
        )
        return cls(
            uri,
            client,
            features=names,
            request=request,
            batch=batch,
            response=path.split(".") if path else [],
            timeout=timeout,
            headers=headers,
            allow_private=allow_private,
        )

    async def predict(self, records: Sequence[Record]) -> list[Output]:
        self._check_open()
        require_fields(records, self._features or ())
        if not records:
            return []
        await self._check_again()
        if self._batch:
            answer = await self._call(self._body(list(records)))
            items = self._find(answer)
            if not isinstance(items, list):
                raise BackendError(
                    f"the remote model's answer at {self._path_text} is a "
                    f"{type(items).__name__}, not a list of outputs",
                    hint="Set the response option to the dotted path of the outputs list",
                )
            check_count(items, records, what=f"the remote model at {self._shown}")
            return [
                as_output(item, index=index, wrap_dicts=True) for index, item in enumerate(items)
            ]
        return await self._one_by_one(records)

    async def aclose(self) -> None:
        if not self.closed:
            await super().aclose()
            await self._client.aclose()

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described.update(
            features=self._features,
            request=self._request,
            batch=self._batch,
            response=".".join(self._response) or None,
            timeout=self._timeout,
            headers=self._header_names,
            allow_private=self._allow_private,
        )
        return described

    @property
    def _path_text(self) -> str:
        return repr(".".join(self._response)) if self._response else "the top level"

    async def _one_by_one(self, records: Sequence[Record]) -> list[Output]:
        import anyio

        outputs: list[Output | None] = [None] * len(records)
        failures: list[BackendError] = []
        limiter = anyio.CapacityLimiter(CONCURRENCY)

        async def one(index: int, record: Record) -> None:
            async with limiter:
                try:
                    answer = self._find(await self._call(self._body(record)))
                    outputs[index] = as_output(answer, index=index, wrap_dicts=True)
                except BackendError as exc:
                    failures.append(exc)
                    group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            for index, record in enumerate(records):
                group.start_soon(one, index, record)
        if failures:
            raise failures[0]
        return [output for output in outputs if output is not None]

    def _body(self, payload: Any) -> bytes:
        body = {self._request: payload} if self._request else payload
        try:
            return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"the records cannot be sent as JSON ({type(exc).__name__}: {exc})",
                field="records",
                hint="Records must hold JSON values: finite numbers, strings, lists, dicts",
            ) from exc

    async def _call(self, content: bytes) -> Any:
        import httpx

        try:
            response = await self._client.post(
                self._uri, content=content, headers={"Content-Type": "application/json"}
            )
        except httpx.TimeoutException as exc:
            raise BackendError(
                f"the remote model at {self._shown} gave no answer within {self._timeout:g} s "
                f"({type(exc).__name__})",
                retryable=True,
            ) from exc
        except httpx.TransportError as exc:  # connection, protocol and proxy errors
            untrusted = caused_by(exc, ssl.SSLCertVerificationError)
            raise BackendError(
                f"cannot reach the remote model at {self._shown} ({type(exc).__name__})",
                retryable=not untrusted,
                hint="Its certificate does not verify" if untrusted else None,
            ) from exc
        except httpx.HTTPError as exc:
            raise BackendError(
                f"calling the remote model at {self._shown} failed ({type(exc).__name__})"
            ) from exc
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> Any:
        from postpilot.policies.channels.base import retryable_status

        status = response.status_code
        if 300 <= status < 400:
            raise BackendError(
                f"the remote model at {self._shown} answered HTTP {status}: redirects are "
                "not followed",
                hint="Configure the final URL",
            )
        if not 200 <= status < 300:
            snippet = self._scrub(" ".join(response.text[:_SNIPPET].split()))
            detail = f": {snippet}" if snippet else ""
            raise BackendError(
                f"the remote model at {self._shown} answered HTTP {status}{detail}",
                retryable=retryable_status(status),
            )
        try:
            return json.loads(response.content)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise BackendError(
                f"the remote model at {self._shown} answered something that is not JSON "
                f"({type(exc).__name__})"
            ) from exc

    def _find(self, answer: Any) -> Any:
        """The value at the ``response`` path of a JSON answer."""
        value = answer
        for depth, step in enumerate(self._response):
            if isinstance(value, dict) and step in value:
                value = value[step]
            elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
                value = value[int(step)]
            else:
                where = ".".join(self._response[:depth]) or "the top level"
                keys = (
                    f" (keys there: {', '.join(sorted(map(str, value))[:10])})"
                    if isinstance(value, dict)
                    else ""
                )
                raise BackendError(
                    f"the remote model's answer has no {step!r} at {where}{keys}",
                    field="options.response",
                    hint="Set the response option to the dotted path of the outputs",
                )
        return value

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def _check_again(self) -> None:
        if time.monotonic() - self._checked_at < RECHECK_SECONDS:
            return
        from anyio import to_thread

        await to_thread.run_sync(
            lambda: _check(self._uri, allow_private=self._allow_private, at_load=False)
        )
        self._checked_at = time.monotonic()


def _check(uri: str, *, allow_private: bool, at_load: bool) -> None:
    """check_url, its ChannelConfigError translated: InputError at load (the URL cannot
    work), BackendError later (the host now resolves somewhere refused); a host that does
    not resolve is a retryable BackendError."""
    from postpilot.policies.urls import check_url

    try:
        check_url(uri, allow_private=allow_private, field="artifact")
    except ChannelConfigError as exc:
        message = exc.message.replace("the channel sets", "the backend options set")
        hint = (
            "Set the route's backend option allow_private: true to call a model on a local "
            "or private address"
            if "allow_private" in message
            else exc.hint
        )
        if isinstance(exc.__cause__, OSError):
            raise BackendError(message, field="artifact", hint=hint, retryable=True) from exc
        if at_load:
            raise InputError(message, field="artifact", hint=hint) from exc
        raise BackendError(f"not called: {message}", field="artifact", hint=hint) from exc


def _optional_text(options: Mapping[str, Any], name: str, default: str) -> str | None:
    value = options.get(name, default)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.strip() != value or ".." in value:
        raise InputError(
            f"the http backend's {name} option must be a key name or null, got {value!r}",
            field=f"options.{name}",
        )
    return value


def _flag(options: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise InputError(
            f"the http backend's {name} option must be true or false, got {value!r}",
            field=f"options.{name}",
        )
    return value


def _timeout(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InputError(
            f"the http backend's timeout must be a number of seconds above 0, got {value!r}",
            field="options.timeout",
        )
    return float(value)


def _headers(value: Any) -> dict[str, str]:
    """The headers to send, read from the environment variables the option names."""
    if value is None:
        return {}
    named = {"Authorization": value} if isinstance(value, str) else value
    if not isinstance(named, Mapping) or not named:
        raise InputError(
            "the http backend's headers_env option must name an environment variable, or map "
            f"header names to environment variables; got {type(value).__name__}",
            field="options.headers_env",
            hint='For example: headers_env: MODEL_TOKEN or {"X-Api-Key": MODEL_KEY}',
        )
    headers: dict[str, str] = {}
    for header, variable in named.items():
        if not isinstance(header, str) or not _HEADER.fullmatch(header):
            raise InputError(f"{header!r} is not a header name", field="options.headers_env")
        if not isinstance(variable, str) or not _ENV.fullmatch(variable):
            raise InputError(  # the value is not shown: it may be the secret itself
                f"the {header} header's entry is not an environment variable name",
                field="options.headers_env",
                hint="Name the variable holding the value (MODEL_TOKEN), never the value itself",
            )
        secret = os.environ.get(variable)
        if not secret:
            raise InputError(
                f"the environment variable {variable} (for the {header} header) is not set",
                field="options.headers_env",
                hint=f"Set {variable} in the gateway's environment",
            )
        if any(ch in secret for ch in "\r\n\0"):
            raise InputError(
                f"the environment variable {variable} holds a line break or NUL, which a "
                "header cannot",
                field="options.headers_env",
            )
        headers[header] = secret
    return headers
