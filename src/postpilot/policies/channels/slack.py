"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat, ...).

Each message is POSTed as ``{"text": "..."}``: one readable paragraph with the
severity, product and subject in bold, the summary, who it is for and the key
data, links as Slack links. ``&``, ``<`` and ``>`` are escaped, so nothing in a
message can mention ``@channel`` or forge a link.

An incoming-webhook URL is itself the credential (anyone holding it may post),
so it is read like a secret: ``url_env`` or ``url_file``, never written in the
config, and ``describe()`` shows only its host.

>>> from postpilot.policies.channels.base import Message
>>> print(slack_text(Message(id="n-9", product="churn", subject="Drift <x>", text="3 of 8.",
...       severity="high", data={"share": 0.375, "run": "https://x.io/r/4"})))
*[high] churn: Drift &lt;x&gt;* 3 of 8. share: 0.375 · run: <https://x.io/r/4|run> · id n-9
"""

from __future__ import annotations

import json
from typing import Any, Self

from postpilot.policies.channels._format import details, headline, one_line, recipient
from postpilot.policies.channels._http import DEFAULT_TIMEOUT, HttpChannel
from postpilot.policies.channels.base import Delivery, Message
from postpilot.policies.channels.spec import ChannelSpec, Secret

__all__ = ["SlackChannel", "slack_text"]

MAX_TEXT = 3000  # Slack truncates long messages; an alert should be read at a glance


def slack_text(message: Message) -> str:
    """The one-paragraph Slack text for ``message`` (mrkdwn, escaped)."""
    parts = [f"*{_escape(headline(message))}*"]
    if message.text.strip():
        parts.append(_escape(one_line(message.text)))
    who = recipient(message)
    if who:
        parts.append(f"For {_escape(who)}.")
    facts = [_fact(key, value) for key, value in details(message)]
    facts.append(f"id {_escape(message.id)}")
    text = " ".join(parts) + " " + " · ".join(facts)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class SlackChannel(HttpChannel):
    """POSTs ``{"text": slack_text(message)}`` to an incoming-webhook URL.

    Config keys: ``url_env`` or ``url_file`` (the webhook URL, a secret),
    ``timeout`` (seconds, default 10), ``allow_private`` (default false),
    ``ca_file`` (a CA bundle to trust for https instead of the default one).
    """

    key = "slack"

    def __init__(
        self,
        name: str,
        url: Secret,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        allow_private: bool = False,
        ca_file: str | None = None,
    ) -> None:
        super().__init__(
            name,
            url.value.strip(),
            timeout=timeout,
            allow_private=allow_private,
            ca_file=ca_file,
        )
        self._url_source = url.source

    @classmethod
    def from_spec(cls, spec: ChannelSpec) -> Self:
        channel = cls(
            spec.name,
            spec.required_secret("url"),
            timeout=spec.number("timeout", default=DEFAULT_TIMEOUT, maximum=300),
            allow_private=spec.flag("allow_private"),
            ca_file=spec.text("ca_file"),
        )
        spec.finish()
        return channel

    def _send(self, message: Message) -> Delivery:
        body = json.dumps({"text": slack_text(message)}, ensure_ascii=False).encode("utf-8")
        return self._post(body, {"Content-Type": "application/json"})

    def _describe(self) -> dict[str, Any]:
        described = super()._describe()
        described["url"] = f"{described['url']} (from {self._url_source})"
        return described


def _fact(key: str, value: str) -> str:
    if value.startswith(("https://", "http://")) and " " not in value:
        return f"{_escape(key)}: <{_escape(value)}|{_escape(key.rsplit('.', 1)[-1])}>"
    return f"{_escape(key)}: {_escape(value)}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
