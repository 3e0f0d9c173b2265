"""The actions a rule can take, and the one-key list item (``Step``) that holds each.

In the file an action is a mapping with one key (``- notify: owner``,
``- open_incident: {severity: high}``); in Python it is one of the models
below, each with a stable ``key`` (what is stored and audited).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Literal, TypeAlias

from pydantic import ConfigDict, Field, field_validator, model_validator

from postpilot._yaml import ErrorAt
from postpilot.policies._types import (
    RECIPIENT_SCHEMA,
    Assignee,
    Duration,
    Recipient,
    Strict,
    parse_duration,
)

__all__ = [
    "ACTIONS",
    "Action",
    "BlockPromotion",
    "Escalate",
    "Fallback",
    "Notify",
    "OpenIncident",
    "Retire",
    "Step",
]


def _unique(via: list[str] | None) -> list[str] | None:
    if via is not None and not via:
        raise ValueError("via names at least one channel (leave it out for the store)")
    if via is not None and len(set(via)) != len(via):
        raise ValueError(f"a channel is named twice: {', '.join(via)}")
    return via


class Notify(Strict):
    """Tell someone: a role (resolved to its holder when the rule fires), every role
    holder, or a person's email; through the named channels (default: the store)."""

    key: ClassVar[str] = "notify"
    to: Recipient
    via: list[str] | None = Field(default=None, json_schema_extra={"minItems": 1})

    _via = field_validator("via")(_unique)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"to": data}
        if not isinstance(data, dict | Notify):
            raise ValueError(
                "notify is a recipient (a role, role_holders or an email) or "
                f"{{to: ..., via: [...]}}, got {data!r}"
            )
        return data


class OpenIncident(Strict):
    """Open an incident (one per rule and product; new evidence is appended)."""

    key: ClassVar[str] = "open_incident"
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    assignee: Assignee = "owner"


class Escalate(Strict):
    """Tell the next person when the incident is still unacknowledged ``after`` this long."""

    key: ClassVar[str] = "escalate"
    to: Recipient
    after: Duration
    via: list[str] | None = Field(default=None, json_schema_extra={"minItems": 1})

    _via = field_validator("via")(_unique)

    @property
    def delay(self) -> timedelta:
        return parse_duration(self.after)


class Fallback(Strict):
    """Switch the product's gateway route to its fallback (recorded as intent without one)."""

    key: ClassVar[str] = "fallback"


class BlockPromotion(Strict):
    """Refuse to promote a new model version while the condition holds."""

    key: ClassVar[str] = "block_promotion"


class Retire(Strict):
    """Propose retiring the product; a person must confirm."""

    key: ClassVar[str] = "retire"


Action: TypeAlias = Notify | OpenIncident | Escalate | Fallback | BlockPromotion | Retire
ACTIONS: dict[str, type[Action]] = {
    cls.key: cls for cls in (Notify, OpenIncident, Escalate, Fallback, BlockPromotion, Retire)
}


def _no_null(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
    schema.pop("default", None)


def _text_or_notify(schema: dict[str, Any]) -> None:
    _no_null(schema)
    text = {"type": "string", "description": "a role, role_holders or an email"}
    schema["anyOf"].insert(0, {**text, **RECIPIENT_SCHEMA})


class Step(Strict):
    """One item of a rule's ``then`` list: a mapping with exactly one action key."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})
    unknown_key_hints: ClassVar[dict[str, str]] = {
        "via": "Channels go inside the action: notify: {to: owner, via: [...]}",
        "to": "Write notify: {to: ..., via: [...]} or notify: owner",
    }

    notify: Notify | None = Field(default=None, json_schema_extra=_text_or_notify)
    open_incident: OpenIncident | None = Field(default=None, json_schema_extra=_no_null)
    escalate: Escalate | None = Field(default=None, json_schema_extra=_no_null)
    fallback: Fallback | None = Field(default=None, json_schema_extra=_no_null)
    block_promotion: BlockPromotion | None = Field(default=None, json_schema_extra=_no_null)
    retire: Retire | None = Field(default=None, json_schema_extra=_no_null)

    @model_validator(mode="after")
    def _one(self) -> Step:
        given = [key for key in ACTIONS if getattr(self, key) is not None]
        empty = [key for key in self.model_fields_set if getattr(self, key) is None]
        if empty:
            raise ErrorAt(f"{empty[0]} needs a value: write {empty[0]}: {{}}", empty[0])
        if not given:
            raise ValueError(f"an action needs one of: {', '.join(ACTIONS)}")
        if len(given) > 1:
            raise ValueError(
                f"an action has exactly one key, got {' and '.join(given)}: "
                "make each its own list item"
            )
        return self

    @property
    def action(self) -> Action:
        actions: list[Action | None] = [getattr(self, key) for key in ACTIONS]
        return next(a for a in actions if a is not None)
