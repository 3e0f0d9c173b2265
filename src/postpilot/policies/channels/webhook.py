"""The generic JSON webhook, signed with HMAC-SHA256 so receivers can trust it.

Each message is POSTed as JSON::

    {"id": "n-123", "product": "churn", "subject": "...", "text": "...",
     "recipient": {"email": "...", "name": "...", "role": "owner"},
     "severity": "high", "data": {...}, "created_at": "2025-01-31T06:00:00+00:00"}

with ``Content-Type: application/json``, ``User-Agent: postpilot/<version>`` and
``Idempotency-Key: <id>`` (a receiver that sees the same key twice has seen the
same notification twice). When the channel has a secret, the request also
carries::

    X-Postpilot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

How a receiver verifies it (Stripe's scheme): take ``t`` and every ``v1`` from
the header; compute HMAC-SHA256 with the shared secret over the bytes of ``t``,
a ``.``, and the raw request body exactly as received (before any JSON
parsing); compare in constant time with each ``v1``; and reject the request
when ``t`` is more than a tolerance (5 minutes) from the receiver's clock, so a
captured request cannot be replayed later. :func:`verify_signature` does all
of this:

>>> header = sign(b"whsec", b'{"id":"n-1"}', timestamp=1_700_000_000)
>>> header
't=1700000000,v1=...'
>>> from datetime import datetime, UTC
>>> at = datetime.fromtimestamp(1_700_000_060, UTC)
>>> verify_signature(b"whsec", header, b'{"id":"n-1"}', now=at)
True
>>> verify_signature(b"whsec", header, b'{"id":"n-2"}', now=at)
False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import numbers
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

from postpilot.policies.channels._http import DEFAULT_TIMEOUT, HttpChannel
from postpilot.policies.channels.base import Delivery, Message
from postpilot.policies.channels.spec import ChannelSpec, Secret

__all__ = ["SIGNATURE_HEADER", "WebhookChannel", "payload", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Postpilot-Signature"
DEFAULT_TOLERANCE = timedelta(minutes=5)


def payload(message: Message) -> dict[str, Any]:
    """The JSON object a webhook receives for ``message`` (values made JSON-safe)."""
    return {
        "id": message.id,
        "product": message.product,
        "subject": message.subject,
        "text": message.text,
        "recipient": {
            "email": message.recipient_email,
            "name": message.recipient_name,
            "role": message.recipient_role,
        },
        "severity": message.severity,
        "data": _jsonable(message.data),
        "created_at": message.created_at.isoformat(),
    }


def sign(secret: bytes | str, body: bytes, *, timestamp: int | None = None) -> str:
    """The ``X-Postpilot-Signature`` value for ``body``, signed at ``timestamp`` (now)."""
    at = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={at},v1={_digest(_key(secret), at, body)}"


def verify_signature(
    secret: bytes | str,
    header: str,
    body: bytes,
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` of ``now``.

    ``body`` must be the raw bytes received. Malformed headers are False, not
    errors; several ``v1`` values (a sender rotating secrets) pass if one does.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    clock = datetime.now(UTC) if now is None else now
    if clock.tzinfo is None:
        clock = clock.replace(tzinfo=UTC)
    if abs(clock.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    expected = _digest(_key(secret), timestamp, body)
    # compare every candidate, so the time taken does not say which one matched
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    return any(matches)


class WebhookChannel(HttpChannel):
    """POSTs each message as signed JSON to ``url``.

    Config keys: ``url`` (or ``url_env``/``url_file`` when the URL holds a
    token), ``secret_env``/``secret_file`` (optional: the HMAC key; without
    one, requests are not signed), ``timeout`` (seconds, default 10),
    ``allow_private`` (default false: see :mod:`postpilot.policies.urls`),
    ``ca_file`` (a CA bundle to trust for https instead of the default one).
    """

    key = "webhook"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        secret: Secret | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        allow_private: bool = False,
        ca_file: str | None = None,
        url_source: str | None = None,
    ) -> None:
        super().__init__(name, url, timeout=timeout, allow_private=allow_private, ca_file=ca_file)
        self._secret = secret
        self._url_source = url_source

    @classmethod
    def from_spec(cls, spec: ChannelSpec) -> Self:
        url, url_secret = spec.text_or_secret("url")
        channel = cls(
            spec.name,
            url,
            secret=spec.secret("secret"),
            timeout=spec.number("timeout", default=DEFAULT_TIMEOUT, maximum=300),
            allow_private=spec.flag("allow_private"),
            ca_file=spec.text("ca_file"),
            url_source=None if url_secret is None else url_secret.source,
        )
        spec.finish()
        return channel

    def _send(self, message: Message) -> Delivery:
        body = json.dumps(
            payload(message), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.id}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(self._secret.value, body)
        return self._post(body, headers)

    def _describe(self) -> dict[str, Any]:
        described = super()._describe()
        if self._url_source is not None:
            described["url"] = f"(from {self._url_source})"
        described["signed"] = self._secret is not None
        if self._secret is not None:
            described["secret"] = f"from {self._secret.source}"
        return described


def _key(secret: bytes | str) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _digest(key: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _jsonable(value: Any) -> Any:
    """``value`` as JSON: datetimes as ISO 8601, non-finite floats as strings,
    other unknown objects as ``str``."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, numbers.Integral):  # numpy's integers too
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    return str(value)
