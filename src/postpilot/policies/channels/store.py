"""The channels that always work: ``store`` and ``console``.

The engine writes every notification to the store before any channel sends
it, so the ``store`` channel has nothing left to do and always succeeds: it is
where an alert lands when no other channel is configured, and where a
channel that keeps failing raises its own alert, so no alert is silently
lost. ``console`` prints one line per message to standard error, for a person
watching ``monitor run`` or a cron log. Both exist under their own names
without any configuration (see ``default_channels``).
"""

from __future__ import annotations

import sys
from typing import Self

from postpilot.policies.channels._format import headline, recipient
from postpilot.policies.channels.base import Channel, Delivery, DeliveryError, Message
from postpilot.policies.channels.spec import ChannelSpec

__all__ = ["ConsoleChannel", "StoreChannel"]


class StoreChannel(Channel):
    """Succeeds at once: the notification is already in the store. No config keys."""

    key = "store"

    @classmethod
    def from_spec(cls, spec: ChannelSpec) -> Self:
        spec.finish()
        return cls(spec.name)

    def _send(self, message: Message) -> Delivery:
        return Delivery.success("recorded in the store")


class ConsoleChannel(Channel):
    """Prints ``postpilot: <headline> -> <recipient> [<id>]`` to stderr. No config keys."""

    key = "console"

    @classmethod
    def from_spec(cls, spec: ChannelSpec) -> Self:
        spec.finish()
        return cls(spec.name)

    def _send(self, message: Message) -> Delivery:
        who = recipient(message)
        line = f"postpilot: {headline(message)}"
        if who:
            line += f" -> {who}"
        try:
            print(f"{line} [{message.id}]", file=sys.stderr, flush=True)
        except (OSError, ValueError) as exc:  # stderr closed, or a broken pipe
            raise DeliveryError(f"cannot write to stderr ({exc})", retryable=False) from exc
        return Delivery.success("printed to stderr")
