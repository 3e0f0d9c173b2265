"""The Slack-compatible incoming webhook, against a real receiver on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from postpilot.errors import ChannelConfigError
from postpilot.policies.channels import Message, make_channel
from postpilot.policies.channels.slack import MAX_TEXT, slack_text
from tests.policies.channels.peers import Receiver

TOKEN_PATH = "/services/T0/B0/tok-3f9a1c"


def _slack(receiver: Receiver) -> object:
    return make_channel(
        "team",
        {"type": "slack", "url_env": "SLACK_URL", "allow_private": True},
        environ={"SLACK_URL": receiver.url(TOKEN_PATH)},
    )


def test_posts_one_readable_paragraph(receiver: Receiver, message: Message) -> None:
    channel = make_channel(
        "team",
        {"type": "slack", "url_env": "SLACK_URL", "allow_private": True},
        environ={"SLACK_URL": receiver.url(TOKEN_PATH)},
    )
    assert channel.send(message).ok
    [request] = receiver.requests
    assert request.path == TOKEN_PATH
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {
        "text": "*[high] churn: Estimated F1 below the SLA* Estimated F1 fell to 0.61 on chunk "
        "2025-01-10; the SLA is 0.70. For Maya Chen &lt;maya@example.com&gt; (owner). "
        "rule: f1-sla · metric: performance.estimated · value: 0.61 · threshold: 0.7 · "
        "incident: 12 · links.incident: <https://postpilot.example.com/incidents/12|incident> "
        "· id n-123"
    }


def test_nothing_in_a_message_can_mention_the_channel() -> None:
    text = slack_text(
        Message(id="n-1", subject="<!channel> & <https://evil.example|click>", text="<@U123>")
    )
    assert "<!channel>" not in text
    assert "<@U123>" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in text


def test_a_long_message_is_cut() -> None:
    text = slack_text(Message(id="n-1", subject="s", text="word " * 2000))
    assert len(text) == MAX_TEXT
    assert text.endswith("…")


def test_the_url_is_a_secret(receiver: Receiver) -> None:
    with pytest.raises(ChannelConfigError, match="'url' is a secret") as caught:
        make_channel("team", {"type": "slack", "url": receiver.url(TOKEN_PATH)}, environ={})
    assert "tok-3f9a1c" not in str(caught.value)
    described = _slack(receiver).describe()  # type: ignore[attr-defined]
    assert "tok-3f9a1c" not in json.dumps(described)
    assert described["url"] == (
        f"http://127.0.0.1:{receiver.port}/… (from environment variable SLACK_URL)"
    )


def test_slacks_refusals_are_permanent(receiver: Receiver, message: Message) -> None:
    receiver.answer(404, b"no_service")
    delivery = _slack(receiver).send(message)  # type: ignore[attr-defined]
    assert (delivery.ok, delivery.retryable, delivery.status) == (False, False, 404)
    assert "no_service" in delivery.detail
