"""Notification channels: where an alert goes, built from configuration.

=============  ===========================================  =========================
key            sends                                        secrets
=============  ===========================================  =========================
``webhook``    signed JSON POST (HMAC-SHA256, timestamped)  ``secret_env``/``_file``
``slack``      ``{"text": ...}`` to an incoming webhook     ``url_env``/``url_file``
``email``      plain-text mail through SMTP                 ``password_env``/``_file``
``store``      nothing: the engine already stored it        none
``console``    one line to stderr                           none
=============  ===========================================  =========================

:func:`make_channel` builds one from its name and config mapping; the
mapping's ``type`` is the key (it defaults to the name, so a channel named
``console`` needs no config). Secrets are read from environment variables and
files only, when the channel is built; a missing one raises a
``ChannelConfigError`` naming the channel and the variable or file.
``store`` and ``console`` always exist (:func:`default_channels`).

>>> channel = make_channel("ops", {"type": "webhook", "url": "https://8.8.8.8/hook",
...                               "secret_env": "OPS_SECRET"}, environ={"OPS_SECRET": "k"})
>>> channel.describe()
{'name': 'ops', 'type': 'webhook', 'url': 'https://8.8.8.8/…', 'timeout': 10.0, \
'allow_private': False, 'signed': True, 'secret': 'from environment variable OPS_SECRET'}
>>> make_channel("ops", {"type": "pager"})
Traceback (most recent call last):
...
postpilot.errors.ChannelConfigError: channel 'ops' has unknown type 'pager' (ops). \
Channel types: console, email, slack, store, webhook
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from postpilot.errors import ChannelConfigError
from postpilot.policies.channels.base import (
    Channel,
    Delivery,
    DeliveryError,
    Message,
    retryable_status,
)
from postpilot.policies.channels.email import EmailChannel
from postpilot.policies.channels.slack import SlackChannel
from postpilot.policies.channels.spec import ChannelSpec, Secret
from postpilot.policies.channels.store import ConsoleChannel, StoreChannel
from postpilot.policies.channels.webhook import (
    SIGNATURE_HEADER,
    WebhookChannel,
    sign,
    verify_signature,
)

__all__ = [
    "ALWAYS_AVAILABLE",
    "CHANNELS",
    "SIGNATURE_HEADER",
    "Channel",
    "ChannelSpec",
    "ConsoleChannel",
    "Delivery",
    "DeliveryError",
    "EmailChannel",
    "Message",
    "Secret",
    "SlackChannel",
    "StoreChannel",
    "WebhookChannel",
    "default_channels",
    "get_channel_type",
    "make_channel",
    "register",
    "retryable_status",
    "sign",
    "verify_signature",
]

CHANNELS: dict[str, type[Channel]] = {}
"""Every registered channel type, by its stable key."""

ALWAYS_AVAILABLE: Final = ("store", "console")
"""Channel names that exist with no configuration."""

_C = TypeVar("_C", bound=type[Channel])


def register(cls: _C) -> _C:
    """Add a channel type to ``CHANNELS`` under its key (usable as a class decorator)."""
    key = getattr(cls, "key", None)
    if not isinstance(key, str) or not key:
        raise ChannelConfigError(
            f"{cls.__name__} has no 'key'", field="key", hint="Set key = '<name>' on the class"
        )
    if CHANNELS.get(key, cls) is not cls:
        raise ChannelConfigError(
            f"a channel type with key '{key}' is already registered ({CHANNELS[key].__name__})",
            field="key",
            hint="Give the new channel type a key of its own",
        )
    CHANNELS[key] = cls
    return cls


for _builtin in (WebhookChannel, SlackChannel, EmailChannel, StoreChannel, ConsoleChannel):
    register(_builtin)


def get_channel_type(key: str, *, channel: str | None = None) -> type[Channel]:
    """The channel type registered under ``key``; ChannelConfigError listing the keys if none."""
    try:
        return CHANNELS[key]
    except (KeyError, TypeError):
        owner = f"channel '{channel}' has" if channel else "there is"
        raise ChannelConfigError(
            f"{owner} unknown type {key!r}",
            field=channel or "type",
            hint=f"Channel types: {', '.join(sorted(CHANNELS))}",
        ) from None


def make_channel(
    name: str, spec: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> Channel:
    """The channel ``name`` configured by ``spec``.

    ``spec["type"]`` is a key of ``CHANNELS`` (default: ``name`` itself, when
    that is a key). Secrets are read now from ``environ`` (default
    ``os.environ``) or from files; URLs are checked now and again before each
    send. Every mistake is a ChannelConfigError with ``field`` = ``name``.
    """
    if not isinstance(name, str) or not name.strip():
        raise ChannelConfigError(
            f"a channel name must be a non-empty string, got {name!r}",
            field="channel",
            hint="Name channels after where they lead, e.g. ops-slack",
        )
    reader = ChannelSpec(name, spec, environ=os.environ if environ is None else environ)
    key = reader.text("type", default=name if name in CHANNELS else None)
    if key is None:
        raise reader.error("needs a 'type'", hint=f"Add type: one of {', '.join(sorted(CHANNELS))}")
    return get_channel_type(key, channel=name).from_spec(reader)


def default_channels() -> dict[str, Channel]:
    """The channels that exist without configuration: ``store`` and ``console``."""
    return {name: make_channel(name, {}) for name in ALWAYS_AVAILABLE}
