"""The contract every notification channel keeps: a Message in, a Delivery out.

A channel has a stable string ``key`` (``"webhook"``, ``"slack"``, ``"email"``,
``"store"``, ``"console"``: what configuration and the store name), a ``name``
(the configured instance, e.g. ``"ops-slack"``), and two methods:

- ``send(message)`` tries once and returns a :class:`Delivery`. It never raises
  for a delivery problem (a peer down, a 4xx, a refused address): those come
  back as ``ok=False`` with a reason, and ``retryable`` says whether trying
  again can help (timeouts, connection errors, 408, 429 and 5xx) or not (other
  4xx, a message without a recipient, a refused URL). Retries are
  :func:`postpilot.policies.delivery.deliver`'s job, not the channel's.
- ``describe()`` is a secret-free dict for display.

Implementations override ``_send`` and may raise :class:`DeliveryError` from it;
``send`` turns that into the failed Delivery. They are built from configuration
by ``from_spec`` (see :mod:`postpilot.policies.channels.spec`).

>>> from postpilot.policies.channels import make_channel
>>> delivery = make_channel("store", {}).send(Message(id="n-1", subject="drift", text="x"))
>>> (delivery.ok, delivery.retryable)
(True, False)
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from postpilot.errors import ChannelConfigError, InputError, PostpilotError

if TYPE_CHECKING:
    from postpilot.policies.channels.spec import ChannelSpec

__all__ = ["Channel", "Delivery", "DeliveryError", "Message", "retryable_status"]

_ID = re.compile(r"[!-~]{1,200}")


@dataclass(frozen=True, kw_only=True)
class Message:
    """One notification, as every channel receives it.

    ``id`` is a stable idempotency key (the same notification sent twice has the
    same id: webhooks carry it as ``Idempotency-Key``, email derives its
    ``Message-ID`` from it). ``text`` is the plain-text human summary; ``data``
    holds the structured details (rule, metric, value, threshold, incident id,
    links) that channels render as key/value pairs. A naive ``created_at`` is
    taken as UTC.
    """

    id: str
    product: str | None = None
    subject: str
    text: str
    recipient_email: str | None = None
    recipient_name: str | None = None
    recipient_role: str | None = None
    severity: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise InputError(
                "a message id must be 1 to 200 printable ASCII characters without spaces "
                f"(it travels in HTTP and mail headers), got {self.id!r}",
                field="id",
                hint="Use the notification's stable id, e.g. 'n-123'",
            )
        if self.created_at.tzinfo is None:
            object.__setattr__(self, "created_at", self.created_at.replace(tzinfo=UTC))


@dataclass(frozen=True)
class Delivery:
    """What one attempt to send a message came to.

    ``detail`` says what happened in words (``"HTTP 503 Service Unavailable"``);
    ``status`` is the HTTP status or SMTP reply code when there was one;
    ``retryable`` is whether another attempt may succeed; ``retry_after`` is the
    wait in seconds the peer asked for (``Retry-After``), if it asked.
    """

    ok: bool
    detail: str
    status: int | None = None
    retryable: bool = False
    retry_after: float | None = None

    @classmethod
    def success(cls, detail: str, *, status: int | None = None) -> Delivery:
        """A delivered message."""
        return cls(ok=True, detail=detail, status=status)


class DeliveryError(PostpilotError):
    """A message could not be delivered; ``delivery`` is the failed :class:`Delivery`.

    Channels raise it inside ``_send``; :meth:`Channel.send` returns its
    ``delivery`` instead of raising. Callers that want an exception for a failed
    delivery (``notify test``) raise ``DeliveryError.of(delivery)``.
    """

    def __init__(
        self,
        detail: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        channel: str | None = None,
    ) -> None:
        super().__init__(detail, field=channel)
        self.delivery = Delivery(
            ok=False, detail=detail, status=status, retryable=retryable, retry_after=retry_after
        )

    @classmethod
    def of(cls, delivery: Delivery, *, channel: str | None = None) -> DeliveryError:
        """The error for a failed ``delivery`` (for callers that want to raise it)."""
        return cls(
            delivery.detail,
            retryable=delivery.retryable,
            status=delivery.status,
            retry_after=delivery.retry_after,
            channel=channel,
        )


def retryable_status(status: int) -> bool:
    """Whether an HTTP failure status may pass if tried again: 408, 425, 429 and 5xx.

    >>> [retryable_status(code) for code in (400, 404, 408, 429, 500, 503)]
    [False, False, True, True, True, True]
    """
    return status in (408, 425, 429) or status >= 500


class Channel(ABC):
    """A place notifications go. Subclasses set ``key`` and implement ``_send`` and
    ``from_spec``; they extend ``_describe`` with their secret-free settings."""

    key: ClassVar[str]

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ChannelConfigError(
                f"a channel name must be a non-empty string, got {name!r}",
                field="channel",
                hint="Name channels after where they lead, e.g. 'ops-slack'",
            )
        self.name = name

    def send(self, message: Message) -> Delivery:
        """Try once to deliver ``message``; failures come back as ``ok=False``, not raised."""
        try:
            return self._send(message)
        except DeliveryError as exc:
            return exc.delivery

    def describe(self) -> dict[str, Any]:
        """What this channel is and where it sends, with no secret value in it."""
        return {"name": self.name, "type": self.key, **self._describe()}

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: ChannelSpec) -> Self:
        """The channel configured by ``spec`` (read every key, then ``spec.finish()``)."""

    @abstractmethod
    def _send(self, message: Message) -> Delivery:
        """One attempt; return a Delivery or raise DeliveryError."""

    def _describe(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
