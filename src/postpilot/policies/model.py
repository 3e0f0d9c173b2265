"""The policy file: rules (``when`` a metric crosses a threshold ``then`` actions),
the product's data source and its notification channels.

Every model forbids unknown keys, so a typo is an error, never a silently
ignored line. Read and write files with :mod:`postpilot.policies.io`; the
format, with every key, is in ``tests/policies/data/example.yaml``::

    schema_version: 1
    rules:
      - name: inputs-drifted
        when: {metric: drift.share, threshold: 0.3}
        then:
          - notify: owner
          - open_incident: {severity: high}
          - escalate: {to: monitoring_lead, after: 4h}
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from postpilot._yaml import ErrorAt
from postpilot.contracts.findings import Kind
from postpilot.errors import InputError
from postpilot.policies._actions import (
    ACTIONS,
    Action,
    BlockPromotion,
    Escalate,
    Fallback,
    Notify,
    OpenIncident,
    Retire,
    Step,
)
from postpilot.policies._types import (
    BUILTIN_CHANNELS,
    ChannelName,
    RuleName,
    Slug,
    Strict,
    check_number,
    mask_url,
    parse_duration,
)
from postpilot.policies._types import (
    DURATION_PATTERN as DURATION,
)
from postpilot.policies._wiring import (
    Channel,
    EmailChannel,
    PerformanceSetup,
    SlackChannel,
    Source,
    SqlQuery,
    StoreChannel,
    WebhookChannel,
)
from postpilot.policies.metrics import METRICS, Direction, default_direction, metric_spec

__all__ = [
    "ACTIONS",
    "SCHEMA_VERSION",
    "Action",
    "BlockPromotion",
    "Channel",
    "EmailChannel",
    "Escalate",
    "Fallback",
    "Notify",
    "OpenIncident",
    "PerformanceSetup",
    "Policy",
    "Retire",
    "Rule",
    "SlackChannel",
    "Source",
    "SqlQuery",
    "Step",
    "StoreChannel",
    "WebhookChannel",
    "When",
    "parse_duration",
]

SCHEMA_VERSION: Literal[1] = 1
Threshold: TypeAlias = (
    float | tuple[float, float] | Annotated[str, Field(json_schema_extra={"pattern": DURATION})]
)
FindingKind = Annotated[str, Field(json_schema_extra={"enum": [k.value for k in Kind]})]


def _parse_threshold(value: Any) -> Threshold:
    if isinstance(value, str):
        return value  # checked with the metric, which says whether durations apply
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"a threshold band is [low, high], got {len(value)} values")
        low, high = (check_number(v, "each end of the band") for v in value)
        return (low, high)
    return check_number(value, "threshold")


class When(Strict):
    """The condition: ``metric`` beyond ``threshold`` in ``direction`` for
    ``consecutive`` chunks in a row, narrowed by the metric's filters."""

    metric: str = Field(json_schema_extra={"enum": [k for k, s in METRICS.items() if s.available]})
    name: str | None = Field(default=None, min_length=1)
    column: str | None = Field(default=None, min_length=1)
    kind: FindingKind | None = None
    severity: Literal["error", "warning"] | None = None
    threshold: Threshold = Field(json_schema_extra={"examples": [0.3, [0.2, 0.8], "2d"]})
    direction: Direction | None = None
    """Filled with the metric's default (the direction that is bad) when not given."""
    consecutive: int = Field(default=1, ge=1, le=10_000, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _default_direction(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("direction") is None:
            metric, name = data.get("metric"), data.get("name")
            if isinstance(metric, str) and metric in METRICS:
                named = name if isinstance(name, str) else None
                return {**data, "direction": default_direction(metric, named)}
        return data

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            metric_spec(value)
        except InputError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> Threshold:
        return _parse_threshold(value)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str | None) -> str | None:
        kinds = [k.value for k in Kind]
        if value is not None and value not in kinds:
            raise ValueError(f"unknown finding kind {value!r}; allowed: {', '.join(kinds)}")
        return value

    @model_validator(mode="after")
    def _fits_metric(self) -> When:
        spec = METRICS[self.metric]
        for key in ("column", "kind", "severity", "name"):
            if getattr(self, key) is not None and key not in spec.filters:
                users = [k for k, s in METRICS.items() if key in s.filters]
                raise ErrorAt(
                    f"{key} applies to {' and '.join(users)} only, not to {self.metric}", key
                )
        for key in spec.required:
            if getattr(self, key) is None:
                raise ErrorAt(f"{self.metric} needs `{key}:` (the metric to watch, e.g. f1)", key)
        if self.name is not None:
            from postpilot.performance.metrics import METRICS as PERFORMANCE

            if self.name not in PERFORMANCE:
                known = ", ".join(PERFORMANCE)
                raise ErrorAt(f"unknown performance metric {self.name!r}; known: {known}", "name")
        self._check_threshold(spec.durations)
        return self

    def _check_threshold(self, durations: bool) -> None:
        value = self.threshold
        if isinstance(value, str):
            if not durations:
                raise ErrorAt(f"threshold must be a number, got {value!r}", "threshold")
            try:
                parse_duration(value)
            except InputError as exc:
                raise ErrorAt(f"{exc.message}; write e.g. 90m, 36h, 2d", "threshold") from None
        if self.direction == "either":
            if not isinstance(value, tuple):
                raise ErrorAt("direction either needs a band: threshold: [low, high]", "threshold")
            if not value[0] < value[1]:
                raise ErrorAt(
                    f"the band's low end must be below its high end, got {list(value)}", "threshold"
                )
        elif isinstance(value, tuple):
            raise ErrorAt(
                f"a band [low, high] needs direction: either (the direction is {self.direction})",
                "threshold",
            )

    @property
    def bounds(self) -> float | tuple[float, float]:
        """The threshold as numbers (a duration in hours, the unit of ``data.silence``)."""
        if isinstance(self.threshold, str):
            return parse_duration(self.threshold) / timedelta(hours=1)
        return self.threshold

    @property
    def subject(self) -> str | None:
        """The subject the rule narrows to: its column, finding kind or metric name."""
        return self.column or self.kind or self.name


class Rule(Strict):
    """``when`` the condition holds, ``then`` the actions, in order."""

    name: RuleName
    description: str | None = None
    when: When
    then: list[Step] = Field(json_schema_extra={"minItems": 1})

    @field_validator("then")
    @classmethod
    def _some(cls, value: list[Step]) -> list[Step]:
        if not value:
            raise ValueError("a rule needs at least one action")
        return value

    @model_validator(mode="after")
    def _incident_first(self) -> Rule:
        opened = False
        for index, step in enumerate(self.then):
            if step.open_incident is not None:
                if opened:
                    raise ErrorAt("a rule opens at most one incident", "then", index)
                opened = True
            if step.escalate is not None and not opened:
                raise ErrorAt(
                    "escalate needs an open_incident earlier in the rule (an unacknowledged "
                    "incident is what escalates)",
                    "then",
                    index,
                    "escalate",
                )
        return self

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(step.action for step in self.then)


class Policy(Strict):
    """A product's policy. Validate with ``Policy.model_validate(data, context=
    {"known_channels": [...]})`` to allow ``via`` to name global channels too."""

    model_config = ConfigDict(title="postpilot policy")
    schema_version: Literal[1] = SCHEMA_VERSION
    product: Slug | None = None
    source: Source | None = None
    channels: dict[ChannelName, Channel] = Field(
        default_factory=dict, json_schema_extra={"additionalProperties": False}
    )
    rules: list[Rule]
    defaults: bool = True
    """Also apply the default policy's rules whose names this file does not use (a rule
    named like a default one replaces it); false: only this file's rules."""

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Policy:
        seen: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if rule.name in seen:
                raise ErrorAt(
                    f"rule name {rule.name!r} is used twice (also rules.{seen[rule.name]})",
                    "rules",
                    index,
                    "name",
                )
            seen[rule.name] = index
        for index, rule in enumerate(self.rules):
            spec = METRICS[rule.when.metric]
            if spec.gateway and (self.source is None or self.source.gateway is None):
                raise ErrorAt(
                    f"{rule.when.metric} comes from the gateway's prediction log, and this "
                    "policy's source is "
                    + ("missing" if self.source is None else "not the gateway")
                    + ": write source: {gateway: true} (or drop the rule)",
                    *("rules", index, "when", "metric"),
                )
        context = info.context if isinstance(info.context, dict) else {}
        known = {*BUILTIN_CHANNELS, *self.channels, *context.get("known_channels", ())}
        for index, rule in enumerate(self.rules):
            for position, step in enumerate(rule.then):
                action = step.action
                via = getattr(action, "via", None) or []
                for n, channel in enumerate(via):
                    if channel not in known:
                        raise ErrorAt(
                            f"unknown channel {channel!r}; known: {', '.join(sorted(known))}",
                            *("rules", index, "then", position, action.key, "via", n),
                        )
        return self

    def rule(self, name: str) -> Rule:
        """The rule called ``name`` (a ``KeyError`` if there is none)."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def to_data(self, *, mask_urls: bool = True) -> dict[str, Any]:
        """The canonical policy as plain data: every effective value (defaults
        filled, direction resolved), nothing unset, actions in their short form, and
        channel URLs masked (a Slack URL is a credential) unless ``mask_urls=False``."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for rule in data["rules"]:
            rule["then"] = [_short(step) for step in rule["then"]]
        if not data["channels"]:
            del data["channels"]
        if mask_urls:
            for channel in data.get("channels", {}).values():
                if "url" in channel:
                    channel["url"] = mask_url(channel["url"])
        return data


def _short(step: dict[str, Any]) -> dict[str, Any]:
    notify = step.get("notify")
    if isinstance(notify, dict) and list(notify) == ["to"]:
        return {"notify": notify["to"]}
    return step
