"""Every registered channel type keeps the contract (check_estimator, for channels).

Each must: have a unique key; build from a minimal valid spec; refuse an unknown
key; show no secret value in ``describe()`` (nor in its repr); return ok when
its peer is healthy (and the peer got the message); and return ok=False,
retryable, without raising, when its peer is dead. A new channel type must add
a case here, or ``test_every_registered_type_has_a_case`` fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from postpilot.errors import ChannelConfigError
from postpilot.policies.channels import (
    CHANNELS,
    Channel,
    Message,
    StoreChannel,
    make_channel,
    register,
)
from tests.policies.channels.conftest import MAIL_LOGIN
from tests.policies.channels.peers import CA_FILE, Mailbox, Receiver, dead_port

HOOK_SECRET = "whsec-conformance-5f1d2a"
SLACK_TOKEN = "T0001/B0002/slacktoken-conformance-9a7c"


@dataclass
class Peers:
    receiver: Receiver
    mailbox: Mailbox

    def received(self, key: str) -> int:
        if key in ("webhook", "slack"):
            return len(self.receiver.requests)
        if key == "email":
            return len(self.mailbox.messages)
        return 0


Spec = tuple[dict[str, Any], dict[str, str]]  # the config mapping and its environment


@dataclass(frozen=True)
class Case:
    minimal: Spec
    full: Callable[[Peers, int | None], Spec]  # a dead port, or None for the healthy peer
    secrets: tuple[str, ...] = ()
    has_peer: bool = True


def _webhook(peers: Peers, port: int | None) -> Spec:
    url = peers.receiver.url("/hook") if port is None else f"http://127.0.0.1:{port}/hook"
    spec = {"type": "webhook", "url": url, "secret_env": "PP_HOOK_SECRET", "allow_private": True}
    return spec, {"PP_HOOK_SECRET": HOOK_SECRET}


def _slack(peers: Peers, port: int | None) -> Spec:
    path = f"/services/{SLACK_TOKEN}"
    url = peers.receiver.url(path) if port is None else f"http://127.0.0.1:{port}{path}"
    return {"type": "slack", "url_env": "PP_SLACK_URL", "allow_private": True}, {
        "PP_SLACK_URL": url
    }


def _email(peers: Peers, port: int | None) -> Spec:
    spec = {
        "type": "email",
        "host": "127.0.0.1",
        "port": peers.mailbox.port if port is None else port,
        "starttls": True,
        "ca_file": CA_FILE,
        "username": MAIL_LOGIN[0],
        "password_env": "PP_MAIL_PASSWORD",
        "from": "Postpilot <alerts@example.com>",
    }
    return spec, {"PP_MAIL_PASSWORD": MAIL_LOGIN[1]}


def _plain(key: str) -> Callable[[Peers, int | None], Spec]:
    return lambda peers, port: ({"type": key}, {})


CASES: dict[str, Case] = {
    "webhook": Case(
        minimal=({"type": "webhook", "url": "https://8.8.8.8/hook"}, {}),
        full=_webhook,
        secrets=(HOOK_SECRET,),
    ),
    "slack": Case(
        minimal=({"type": "slack", "url_env": "U"}, {"U": "https://8.8.8.8/services/x"}),
        full=_slack,
        secrets=(SLACK_TOKEN, "slacktoken"),
    ),
    "email": Case(
        minimal=({"type": "email", "host": "127.0.0.1", "from": "alerts@example.com"}, {}),
        full=_email,
        secrets=(MAIL_LOGIN[1],),
    ),
    "store": Case(minimal=({}, {}), full=_plain("store"), has_peer=False),
    "console": Case(minimal=({}, {}), full=_plain("console"), has_peer=False),
}
KEYS = sorted(CHANNELS)


@pytest.fixture
def peers(receiver: Receiver, secure_mailbox: Mailbox) -> Peers:
    return Peers(receiver, secure_mailbox)


def test_every_registered_type_has_a_case() -> None:
    assert set(CASES) == set(CHANNELS)


def test_keys_are_unique_and_match_the_classes() -> None:
    assert len(set(CHANNELS.values())) == len(CHANNELS)
    for key, cls in CHANNELS.items():
        assert cls.key == key
        assert issubclass(cls, Channel)


def test_a_second_type_cannot_take_a_key() -> None:
    class Impostor(StoreChannel):
        key = "store"

    with pytest.raises(ChannelConfigError, match="already registered"):
        register(Impostor)
    assert CHANNELS["store"] is StoreChannel
    assert register(StoreChannel) is StoreChannel  # registering the same class again is fine


@pytest.mark.parametrize("key", KEYS)
def test_builds_from_a_minimal_spec(key: str) -> None:
    spec, environ = CASES[key].minimal
    channel = make_channel(key, spec, environ=environ)
    assert type(channel) is CHANNELS[key]
    assert channel.name == key
    described = channel.describe()
    assert described["name"] == key
    assert described["type"] == key
    json.dumps(described)  # displayable as JSON


@pytest.mark.parametrize("key", KEYS)
def test_an_unknown_key_is_refused_by_name(key: str) -> None:
    spec, environ = CASES[key].minimal
    with pytest.raises(ChannelConfigError, match="colour") as caught:
        make_channel("ops", {"type": key, **spec, "colour": "red"}, environ=environ)
    assert caught.value.field == "ops"
    assert "Accepted keys" in (caught.value.hint or "")


@pytest.mark.parametrize("key", KEYS)
def test_describe_shows_no_secret(key: str, peers: Peers) -> None:
    spec, environ = CASES[key].full(peers, None)
    channel = make_channel("ops", spec, environ=environ)
    shown = json.dumps(channel.describe(), ensure_ascii=False) + repr(channel)
    for secret in CASES[key].secrets:
        assert secret not in shown


@pytest.mark.parametrize("key", KEYS)
def test_sends_to_a_healthy_peer(key: str, peers: Peers, message: Message) -> None:
    spec, environ = CASES[key].full(peers, None)
    delivery = make_channel("ops", spec, environ=environ).send(message)
    assert delivery.ok, delivery.detail
    assert peers.received(key) == (1 if CASES[key].has_peer else 0)


@pytest.mark.parametrize("key", KEYS)
def test_a_dead_peer_is_a_retryable_failure_not_an_exception(
    key: str, peers: Peers, message: Message
) -> None:
    spec, environ = CASES[key].full(peers, dead_port())
    delivery = make_channel("ops", spec, environ=environ).send(message)
    if CASES[key].has_peer:
        assert not delivery.ok
        assert delivery.retryable
        assert delivery.detail
    else:
        assert delivery.ok  # store and console have no peer to lose
