"""The small value types of a policy file: durations, names, recipients, URLs.

Each is a ``str`` checked by a validator that says what was expected, so a
mistake in a policy file reads as one sentence rather than pydantic's
per-union-member noise; the JSON Schema carries the same pattern for editors.

>>> parse_duration("36h")
datetime.timedelta(days=1, seconds=43200)
>>> mask_url("https://hooks.example.com/services/T0/B0/secret?x=1")
'https://hooks.example.com/***'
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from postpilot.errors import InputError
from postpilot.registry.entities import Role

__all__ = [
    "BUILTIN_CHANNELS",
    "DURATION_PATTERN",
    "RECIPIENT_SCHEMA",
    "ROLES",
    "ROLE_HOLDERS",
    "Assignee",
    "ChannelName",
    "ContractRef",
    "Duration",
    "Email",
    "EnvName",
    "Recipient",
    "RuleName",
    "Slug",
    "Strict",
    "Url",
    "check_number",
    "mask_url",
    "parse_duration",
]

ROLES: tuple[str, ...] = tuple(role.value for role in Role)
ROLE_HOLDERS = "role_holders"
"""A recipient meaning every current holder of the product's roles."""
BUILTIN_CHANNELS: tuple[str, ...] = ("store", "console")
"""Channels that always exist: the store (always works) and the console."""

DURATION_PATTERN = r"^[0-9]+[smhdw]$"
_DURATION = re.compile(r"([0-9]+)([smhdw])")
MAX_DURATION = timedelta(weeks=5200)
"""The longest duration a policy may give (100 years): times stay within the calendar."""
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_NAME = re.compile(r"[a-z0-9-]{1,64}")
_SLUG = re.compile(r"[a-z][a-z0-9-]{0,62}[a-z0-9]")  # the registry's product slug
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+")  # the registry's check


def parse_duration(text: str) -> timedelta:
    """A positive duration written ``<number><unit>``, unit one of s, m, h, d, w
    (``90m``, ``36h``, ``2d``, ``1w``), at most :data:`MAX_DURATION`; an
    :class:`InputError` otherwise."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InputError(
            f"not a duration: {text!r}",
            hint="Write a whole number and a unit: 90m, 36h, 2d, 1w (s, m, h, d or w)",
        )
    try:
        delta = timedelta(**{_UNITS[match[2]]: int(match[1])})
    except (OverflowError, ValueError):  # ValueError: more digits than int() reads
        delta = MAX_DURATION + timedelta(1)
    if delta > MAX_DURATION:
        raise InputError(
            f"duration {text!r} is too long", hint="Use at most 5200w (100 years)"
        ) from None
    if delta <= timedelta(0):
        raise InputError(f"duration {text!r} is not positive", hint="Use at least 1s")
    return delta


def _duration(value: Any) -> Any:
    try:
        parse_duration(value)
    except InputError as exc:
        raise ValueError(f"{exc.message}; write e.g. 90m, 36h, 2d or 1w") from None
    return value


def _rule_name(value: Any) -> Any:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a rule name: use 1 to 64 lower-case letters, digits and hyphens"
        )
    return value


def _channel_name(value: Any) -> Any:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a channel name: use 1 to 64 lower-case letters, digits and hyphens"
        )
    if value in BUILTIN_CHANNELS:
        raise ValueError(f"{value!r} is a built-in channel; choose another name")
    return value


def _slug(value: Any) -> Any:
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ValueError(f"{value!r} is not a product slug")
    return value


def _env(value: Any) -> Any:
    if not isinstance(value, str) or not _ENV.fullmatch(value):
        raise ValueError(f"{value!r} is not an environment variable name (letters, digits and _)")
    return value


def _recipient(value: Any, *, holders: bool = True) -> Any:
    if isinstance(value, str) and (value in ROLES or (holders and value == ROLE_HOLDERS)):
        return value
    if isinstance(value, str) and _EMAIL.fullmatch(value.strip()):
        return value.strip().lower()
    if value == ROLE_HOLDERS:
        raise ValueError(
            f"{ROLE_HOLDERS} is not one person: assign a role ({', '.join(ROLES)}) or a "
            "person's email"
        )
    also = f", {ROLE_HOLDERS} (every holder of the product's roles)" if holders else ""
    raise ValueError(
        f"unknown recipient {value!r}: use a role ({', '.join(ROLES)}){also} or a person's email"
    )


def _email(value: Any) -> Any:
    if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not an email address (name@example.com)")
    return value.strip()


def _assignee(value: Any) -> Any:
    return _recipient(value, holders=False)


def _url(value: Any) -> Any:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _contract_ref(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(r"[^@\s][^@]*(@[0-9]+)?", value):
        raise ValueError(f"{value!r} is not a contract name or NAME@VERSION")
    return value


def mask_url(url: str) -> str:
    """``url`` without what may be a secret (path, query, user): Slack's incoming
    webhook URL is itself the credential."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    rest = "/***" if (parts.path not in ("", "/") or parts.query or parts.username) else ""
    return f"{parts.scheme}://{parts.hostname}{port}{rest}"


def check_number(value: Any, what: str) -> float:
    """``value`` as a finite float; bools and text are refused (YAML reads ``yes`` as true)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


_EMAIL_SCHEMA = {"type": "string", "pattern": "^[^@\\s,;<>]+@[^@\\s,;<>]+$"}
Duration = Annotated[
    str,
    BeforeValidator(_duration),
    Field(json_schema_extra={"pattern": DURATION_PATTERN, "examples": ["90m", "36h", "2d"]}),
]
RuleName = Annotated[
    str, BeforeValidator(_rule_name), Field(json_schema_extra={"pattern": "^[a-z0-9-]{1,64}$"})
]
ChannelName = Annotated[
    str, BeforeValidator(_channel_name), Field(json_schema_extra={"pattern": "^[a-z0-9-]{1,64}$"})
]
Slug = Annotated[
    str,
    BeforeValidator(_slug),
    Field(json_schema_extra={"pattern": "^[a-z][a-z0-9-]{0,62}[a-z0-9]$"}),
]
EnvName = Annotated[
    str, BeforeValidator(_env), Field(json_schema_extra={"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"})
]
RECIPIENT_SCHEMA: dict[str, Any] = {"anyOf": [{"enum": [*ROLES, ROLE_HOLDERS]}, _EMAIL_SCHEMA]}
Recipient = Annotated[str, BeforeValidator(_recipient), Field(json_schema_extra=RECIPIENT_SCHEMA)]
Assignee = Annotated[
    str,
    BeforeValidator(_assignee),
    Field(json_schema_extra={"anyOf": [{"enum": list(ROLES)}, _EMAIL_SCHEMA]}),
]
Email = Annotated[str, BeforeValidator(_email), Field(json_schema_extra=_EMAIL_SCHEMA)]
Url = Annotated[
    str, BeforeValidator(_url), Field(json_schema_extra={"pattern": "^https?://", "format": "uri"})
]
ContractRef = Annotated[str, BeforeValidator(_contract_ref)]


class Strict(BaseModel):
    """The base of every policy model: unknown keys are errors, values are final."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    unknown_key_hints: ClassVar[dict[str, str]] = {}
    """Unknown keys people are likely to write, with what to write instead."""
