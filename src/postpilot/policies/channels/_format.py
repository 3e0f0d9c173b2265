"""How a Message reads as text: the headline, the recipient and the details.

Shared by the channels that write for people (Slack, email, console), so an
alert reads the same wherever it lands.

>>> from postpilot.policies.channels.base import Message
>>> m = Message(id="n-7", product="churn", subject="F1 below SLA", text="F1 is 0.61.",
...             severity="high", recipient_name="Maya Chen",
...             recipient_email="maya@example.com", recipient_role="owner",
...             data={"metric": "performance.estimated", "value": 0.6123456, "links": {
...                 "incident": "https://pp.example.com/i/3"}})
>>> headline(m)
'[high] churn: F1 below SLA'
>>> recipient(m)
'Maya Chen <maya@example.com> (owner)'
>>> details(m)
[('metric', 'performance.estimated'), ('value', '0.612346'), ('links.incident', 'https://pp.example.com/i/3')]
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from postpilot.policies.channels.base import Message

__all__ = ["details", "headline", "one_line", "recipient"]


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks included) as one space."""
    return " ".join(text.split())


def headline(message: Message) -> str:
    """``[severity] product: subject``, leaving out the parts the message lacks."""
    parts = [f"[{message.severity}]"] if message.severity else []
    if message.product:
        parts.append(f"{message.product}:")
    parts.append(message.subject)
    return one_line(" ".join(parts))


def recipient(message: Message) -> str | None:
    """``Name <email> (role)`` for whoever the message is for, or None."""
    parts = [message.recipient_name or ""]
    if message.recipient_email:
        parts.append(f"<{message.recipient_email}>")
    if message.recipient_role:
        parts.append(f"({message.recipient_role})")
    shown = one_line(" ".join(parts))
    return shown or None


def details(message: Message) -> list[tuple[str, str]]:
    """The data as (key, text) pairs in order; nested mappings get dotted keys."""
    return list(_flatten(message.data, ""))


def _flatten(data: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}.")
        else:
            yield name, one_line(_text(value))


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_text(item) for item in value)
    return str(value)
