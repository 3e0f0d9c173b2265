"""How a product is wired: where ``monitor run`` reads data, where messages go.

Both live in the policy file (``source:`` and ``channels:``); global channels
use the same channel models. No secret is ever written here: URLs and keys
come from environment variables (``*_env``) or files (``secret_file``).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import Field, field_validator, model_validator

from postpilot._yaml import ErrorAt
from postpilot.policies._types import ContractRef, Email, EnvName, Strict, Url

__all__ = [
    "Channel",
    "EmailChannel",
    "PerformanceSetup",
    "SlackChannel",
    "Source",
    "SqlQuery",
    "StoreChannel",
    "WebhookChannel",
]

_SECRET = "Secrets never go in a policy file: name an environment variable ({}_env: NAME)"  # noqa: S105


def _one_url(channel: WebhookChannel) -> None:
    if (channel.url is None) == (channel.url_env is None):
        raise ValueError(f"a {channel.type} channel needs exactly one of url and url_env")


class WebhookChannel(Strict):
    """A JSON POST signed with HMAC-SHA256 by a key read from the environment or a file."""

    unknown_key_hints: ClassVar[dict[str, str]] = {"secret": _SECRET.format("secret")}
    type: Literal["webhook"]
    url: Url | None = None
    url_env: EnvName | None = None
    secret_env: EnvName | None = None
    secret_file: str | None = Field(default=None, min_length=1)
    allow_private: bool = False
    """Allow a loopback or private address (a receiver on this machine or the LAN);
    link-local and cloud metadata addresses are refused regardless."""
    timeout: float = Field(default=10.0, ge=0.1, le=300)

    @model_validator(mode="after")
    def _complete(self) -> WebhookChannel:
        _one_url(self)
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("a webhook channel needs exactly one of secret_env and secret_file")
        return self


class SlackChannel(Strict):
    """A Slack-compatible incoming webhook. Its URL is a credential (whoever has it can
    post to the channel), so it comes from an environment variable, never the file."""

    unknown_key_hints: ClassVar[dict[str, str]] = {
        "url": "A Slack webhook URL is a credential: name the variable holding it (url_env: NAME)"
    }
    type: Literal["slack"]
    url_env: EnvName
    allow_private: bool = False
    timeout: float = Field(default=10.0, ge=0.1, le=300)


class EmailChannel(Strict):
    """Mail through an SMTP server; credentials come from environment variables."""

    unknown_key_hints: ClassVar[dict[str, str]] = {
        "password": _SECRET.format("password"),
        "username": "Write username_env: NAME",
    }
    type: Literal["email"]
    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=587, ge=1, le=65535, strict=True)
    starttls: bool = True
    ssl: bool = False
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    sender: Email = Field(alias="from")

    @model_validator(mode="after")
    def _login(self) -> EmailChannel:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("give both username_env and password_env, or neither")
        return self


class StoreChannel(Strict):
    """The store: always works; what the other channels fall back to."""

    type: Literal["store"]


Channel: TypeAlias = Annotated[
    WebhookChannel | SlackChannel | EmailChannel | StoreChannel, Field(discriminator="type")
]


class SqlQuery(Strict):
    """Rows read with an SQL query; the watermark column says what is new."""

    unknown_key_hints: ClassVar[dict[str, str]] = {
        "url": "A database URL holds a password: name the variable holding it (url_env: NAME)"
    }
    url_env: EnvName
    query: str = Field(min_length=1)
    watermark: str = Field(min_length=1)


class PerformanceSetup(Strict):
    """What to estimate before labels arrive, and the model's output columns."""

    problem: Literal["binary", "multiclass", "regression"]
    y_true: str = Field(min_length=1)
    """The label column of the reference (training) data the estimator is fitted on."""
    y_pred: str | None = Field(default=None, min_length=1)
    y_score: str | dict[str, str] | None = None
    """binary: the probability column; multiclass: class -> its probability column."""
    id_column: str | None = Field(default=None, min_length=1)
    metrics: list[str] = Field(min_length=1)

    @field_validator("y_score", mode="before")
    @classmethod
    def _score(cls, value: Any) -> Any:
        ok = isinstance(value, str) or (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        )
        if value is not None and not ok:
            raise ValueError("y_score is a column (binary) or a mapping class: column (multiclass)")
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _consistent(self) -> PerformanceSetup:
        from postpilot.performance.metrics import METRICS as PERFORMANCE

        fits = [m for m, info in PERFORMANCE.items() if self.problem in info.problems]
        for index, metric in enumerate(self.metrics):
            if metric not in fits:
                raise ErrorAt(
                    f"{metric!r} is not a {self.problem} metric; use: {', '.join(fits)}",
                    "metrics",
                    index,
                )
        shape = {"binary": str, "multiclass": dict}.get(self.problem)
        if shape is None and self.y_score is not None:
            raise ErrorAt("regression has no y_score", "y_score")
        if shape is not None and not isinstance(self.y_score, shape):
            what = "a column" if shape is str else "a mapping class: column"
            raise ErrorAt(f"{self.problem} needs y_score: {what}", "y_score")
        if self.y_pred is None and (
            shape is None or not all(PERFORMANCE[m].needs_proba for m in self.metrics)
        ):
            raise ErrorAt("y_pred is needed (the predicted label or value column)", "y_pred")
        return self


class Source(Strict):
    """Where ``monitor run`` reads new data: files (``path``), a database (``sql``) or
    the gateway's prediction log (``gateway: true``; ``timestamp`` then defaults to
    ``created_at``)."""

    path: str | None = Field(default=None, min_length=1)
    """A Parquet or CSV file, a folder or a glob."""
    sql: SqlQuery | None = None
    gateway: Literal[True] | None = None
    """The product's served predictions, as the gateway logged them (inputs after the
    adapter, outputs, consumer, latency), with the records it refused."""
    format: Literal["auto", "parquet", "csv"] = "auto"
    timestamp: str | None = Field(default=None, min_length=1)
    chunk_period: Literal["day", "week", "month"] | None = None
    """Split each batch into calendar periods of ``timestamp`` (as ``drift --chunk-period``)."""
    contract: ContractRef | None = None
    performance: PerformanceSetup | None = None
    ignore: list[str] = Field(default_factory=list)
    """Columns of the training data that batches do not hold or that are not inputs
    (performance's ``y_true``, the label, is always ignored): neither drift nor the
    contract check looks at them."""

    @property
    def ignored(self) -> list[str]:
        label = [self.performance.y_true] if self.performance is not None else []
        return list(dict.fromkeys([*self.ignore, *label]))

    @model_validator(mode="before")
    @classmethod
    def _gateway_time(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("gateway") is True and "timestamp" not in data:
            return {**data, "timestamp": "created_at"}
        return data

    @model_validator(mode="after")
    def _one_place(self) -> Source:
        if [self.path, self.sql, self.gateway].count(None) != 2:
            raise ValueError("a source needs exactly one of path, sql and gateway")
        if self.path is None and self.format != "auto":
            raise ErrorAt(
                f"format applies to files (path), not to {'sql' if self.sql else 'gateway'}",
                "format",
            )
        if self.chunk_period is not None and self.timestamp is None:
            raise ErrorAt("chunk_period needs the timestamp column", "chunk_period")
        return self
