"""Errors on the wire: RFC 9457 problem details, built by one function.

Every error the gateway answers has the media type ``application/problem+json``
and the members ``type``, ``title``, ``status`` and ``detail``; errors about the
request body add ``errors``, one entry per field at fault::

    {"type": "https://postpilot.dev/problems/invalid-record",
     "title": "A record breaks the product's contract", "status": 422,
     "detail": "1 of 1 records broke contract churn@1; nothing was sent to the model",
     "errors": [{"record": 0, "field": "amount_usd", "kind": "missing",
                 "message": "amount_usd: missing (the contract requires it)"}]}

``type`` is a stable identifier of the kind of problem, meant for code to match on.

>>> response = problem(404, "not-found", "No such product", "no product 'x'")
>>> response.status_code, response.media_type
(404, 'application/problem+json')
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from starlette.responses import Response

__all__ = ["PROBLEM_BASE", "ProblemException", "problem", "problem_body"]

PROBLEM_BASE: Final = "https://postpilot.dev/problems/"
MEDIA_TYPE: Final = "application/problem+json"


def problem_body(
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    errors: Sequence[Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [dict(e) for e in errors]
    if extra:
        body.update(extra)
    return body


def problem(
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """The one way the gateway answers an error."""
    body = problem_body(status, kind, title, detail, errors=errors, extra=extra)
    return Response(
        json.dumps(body, ensure_ascii=False, allow_nan=False, default=str),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=dict(headers or {}),
    )


class ProblemException(Exception):
    """Raised inside a request to answer with a problem; turned into one by the app."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def response(self) -> Response:
        return problem(
            self.status,
            self.kind,
            self.title,
            self.detail,
            errors=self.errors,
            headers=self.headers,
            extra=self.extra,
        )
