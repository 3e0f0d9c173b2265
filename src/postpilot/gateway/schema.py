"""The gateway's wire format: request and response models, and the OpenAPI document.

Every error is a :class:`Problem` in ``application/problem+json`` (see
:mod:`postpilot.gateway.problems`); every route that needs a key declares the
errors it can answer with :func:`problems_for`, and :func:`openapi_document` adds
the keys' security schemes, each operation's scope taken from its
:func:`~postpilot.gateway.auth.requires`, so the document and the access rules
cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from postpilot.gateway.auth import access_of
from postpilot.gateway.problems import MEDIA_TYPE, PROBLEM_BASE

__all__ = [
    "RATE_HEADERS",
    "FallbackRequest",
    "FallbackResponse",
    "LabelRequest",
    "LabelResponse",
    "NotReady",
    "OverrideRequest",
    "OverrideResponse",
    "PredictRequest",
    "PredictResponse",
    "PredictionResponse",
    "Problem",
    "ProblemField",
    "Ready",
    "RouteResponse",
    "header_spec",
    "openapi_document",
    "problems_for",
]


class PredictRequest(BaseModel):
    """One record (``record``) or a batch (``records``): exactly one of the two."""

    model_config = ConfigDict(extra="forbid")
    record: dict[str, JsonValue] | None = None
    records: list[dict[str, JsonValue]] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.record is None) == (self.records is None):
            raise ValueError("send exactly one of 'record' (an object) or 'records' (a list)")
        return self


class LabelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: JsonValue = Field(description="The actual outcome: a number, text or boolean.")


class OverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field(min_length=1, max_length=254, description="Who decided otherwise.")
    decision: JsonValue = Field(description="The decision taken instead of the prediction.")
    reason_code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    note: str | None = Field(default=None, max_length=2000)


class FallbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool
    reason: str | None = Field(default=None, max_length=2000)


# -- the OpenAPI declarations: answers, error answers, security -------------------------


class PredictedRecord(BaseModel):
    """One record's answer: its prediction id (for feedback), then the model's output."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(description="The prediction's id: label or override it with this id.")


class PredictResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str
    product: str
    model: str | None = Field(description="The model that answered (none for a rule or constant).")
    version: int | None
    served_by: Literal["primary", "fallback"]
    predictions: list[PredictedRecord] = Field(description="One per record, in order.")
    fallback_reason: str | None = Field(
        default=None, description="Present when a fallback answered."
    )


class FallbackSpec(BaseModel):
    kind: str = Field(description="none, version, constant, rule or unavailable.")
    value: JsonValue = None


class RouteResponse(BaseModel):
    product: str
    model: str
    version: int
    contract: str | None
    fallback: FallbackSpec
    fallback_active: bool
    fallback_reason: str | None


class FallbackResponse(BaseModel):
    product: str
    fallback_active: bool


class PredictionResponse(BaseModel):
    id: str
    request_id: str
    product: str
    model: str | None
    version: int | None
    consumer: str
    inputs: dict[str, JsonValue] = Field(description="The record after the adapter.")
    output: dict[str, JsonValue]
    served_by: str
    fallback_reason: str | None = Field(
        default=None,
        description="Why a fallback answered: circuit_open, switched or primary_error.",
    )
    latency_ms: float
    created_at: str = Field(description="When the prediction was made (ISO 8601).")


class LabelResponse(BaseModel):
    prediction_id: str
    label: JsonValue
    status: Literal["new", "updated", "unchanged"]


class OverrideResponse(BaseModel):
    id: int
    prediction_id: str
    reason_code: str


class Ready(BaseModel):
    status: Literal["ready"]
    routes: int
    failed_routes: int


class NotReady(BaseModel):
    status: Literal["not_ready"]
    store: str


class ProblemField(BaseModel):
    """One entry of a problem's ``errors``: what is wrong where (and in which record)."""

    model_config = ConfigDict(extra="allow")
    field: str
    message: str
    kind: str | None = None
    record: int | None = Field(default=None, description="The record's index in a batch.")


class Problem(BaseModel):
    """RFC 9457 problem details: every error answer (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description=f"{PROBLEM_BASE}<kind>: stable, for code to match on.")
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = Field(default=None, description="Fields at fault.")
    request_id: str | None = None


def header_spec(description: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "string"}}


_RETRY_AFTER: Final = header_spec("Seconds to wait before retrying.")
RATE_HEADERS: Final = {
    "RateLimit-Limit": header_spec("The key's burst."),
    "RateLimit-Remaining": header_spec("Requests still allowed now."),
    "RateLimit-Reset": header_spec("Seconds until the bucket is full."),
}
_PROBLEMS: Final[dict[int, tuple[str, dict[str, Any]]]] = {
    400: ("The body cannot be read as text (it is not UTF-8)", {}),
    401: (
        "No API key, or one that is malformed, unknown, revoked or expired",
        {"WWW-Authenticate": header_spec("The Bearer challenge.")},
    ),
    403: ("The key lacks the scope, or may not use the product", {}),
    404: ("No such product route or prediction (or one the key may not see)", {}),
    413: ("More records than the route takes in one request", {}),
    422: ("The request is not valid, or a record breaks the product's contract", {}),
    429: ("Too many requests for the key", {"Retry-After": _RETRY_AFTER, **RATE_HEADERS}),
    502: ("The model failed and no fallback could answer", {}),
    503: (
        "The store, the rate limiter or the product's model is unavailable for now",
        {"Retry-After": _RETRY_AFTER},
    ),
}


def problems_for(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route that needs a key: 401, 403 and 503, and ``statuses``.

    Every one is a :class:`Problem` in ``application/problem+json`` (see :func:`openapi_document`).
    """
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": _PROBLEMS[status][0],
            "content": {MEDIA_TYPE: {"schema": schema}},
            **({"headers": _PROBLEMS[status][1]} if _PROBLEMS[status][1] else {}),
        }
        for status in sorted({401, 403, 503, *statuses})
    }


_SECURITY_SCHEMES: Final = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer pp_..."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the :class:`Problem` schema and the keys' security schemes.

    Each route that needs a key declares it with the scope it needs (the role of an
    OpenAPI 3.1 security requirement), taken from its :func:`requires`.
    """
    document = app.openapi()
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    components["securitySchemes"] = _SECURITY_SCHEMES
    for route in app.routes:
        access = access_of(getattr(route, "endpoint", None))
        if not isinstance(route, APIRoute) or access is None or access.scope is None:
            continue
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                operation["security"] = [{name: [access.scope]} for name in _SECURITY_SCHEMES]
    return document
