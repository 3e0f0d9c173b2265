"""The signed JSON webhook, against a real receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import postpilot
from postpilot.policies.channels import (
    SIGNATURE_HEADER,
    Message,
    WebhookChannel,
    make_channel,
    sign,
    verify_signature,
)
from tests.policies.channels.peers import CA_FILE, Receiver

SECRET = "whsec-test-8d0c7e"


def _hook(receiver: Receiver, **spec: object) -> WebhookChannel:
    channel = make_channel(
        "ops",
        {"type": "webhook", "url": receiver.url(), "allow_private": True, **spec},
        environ={"HOOK_SECRET": SECRET},
    )
    assert isinstance(channel, WebhookChannel)
    return channel


def _fields(header: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in header.split(","))


def test_posts_the_message_as_json_with_its_headers(receiver: Receiver, message: Message) -> None:
    delivery = _hook(receiver).send(message)
    assert (delivery.ok, delivery.status) == (True, 200)
    [request] = receiver.requests
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"postpilot/{postpilot.__version__}"
    assert request.headers["idempotency-key"] == "n-123"
    assert SIGNATURE_HEADER.lower() not in request.headers  # no secret, no signature
    assert json.loads(request.body) == {
        "id": "n-123",
        "product": "churn",
        "subject": "Estimated F1 below the SLA",
        "text": "Estimated F1 fell to 0.61 on chunk 2025-01-10; the SLA is 0.70.",
        "recipient": {"email": "maya@example.com", "name": "Maya Chen", "role": "owner"},
        "severity": "high",
        "data": {
            "rule": "f1-sla",
            "metric": "performance.estimated",
            "value": 0.61,
            "threshold": 0.7,
            "incident": 12,
            "links": {"incident": "https://postpilot.example.com/incidents/12"},
        },
        "created_at": "2025-01-10T06:00:00+00:00",
    }


def test_data_that_json_cannot_hold_is_made_safe(receiver: Receiver) -> None:
    at = datetime(2025, 1, 10, tzinfo=UTC)
    odd = Message(
        id="n-1",
        subject="s",
        text="t",
        data={"chunk_start": at, "value": float("nan"), "columns": ("a", "b"), 3: Path("x")},
        created_at=datetime(2025, 1, 10, 6, 0),  # naive: taken as UTC
    )
    assert _hook(receiver).send(odd).ok
    sent = json.loads(receiver.requests[0].body)
    assert sent["data"] == {
        "chunk_start": at.isoformat(),
        "value": "nan",
        "columns": ["a", "b"],
        "3": "x",
    }
    assert sent["created_at"] == "2025-01-10T06:00:00+00:00"


def test_numpy_numbers_stay_numbers(receiver: Receiver) -> None:
    data = {"rows": np.int64(5), "share": np.float32(0.5), "psi": np.float64(np.inf)}
    assert _hook(receiver).send(Message(id="n-1", subject="s", text="t", data=data)).ok
    assert json.loads(receiver.requests[0].body)["data"] == {"rows": 5, "share": 0.5, "psi": "inf"}


@pytest.fixture
def https_receiver() -> Iterator[Receiver]:
    peer = Receiver(tls=True)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def test_https_with_a_private_ca(https_receiver: Receiver, message: Message) -> None:
    assert https_receiver.url().startswith("https://")
    delivery = _hook(https_receiver, ca_file=CA_FILE).send(message)
    assert delivery.ok, delivery.detail
    assert len(https_receiver.requests) == 1


def test_an_untrusted_certificate_is_not_retried(
    https_receiver: Receiver, message: Message
) -> None:
    delivery = _hook(https_receiver).send(message)  # the test CA is not trusted by default
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.detail
    assert https_receiver.requests == []


def test_the_signature_is_what_a_receiver_computes(receiver: Receiver, message: Message) -> None:
    before = int(time.time())
    assert _hook(receiver, secret_env="HOOK_SECRET").send(message).ok
    [request] = receiver.requests
    fields = _fields(request.headers[SIGNATURE_HEADER.lower()])
    assert set(fields) == {"t", "v1"}
    assert before <= int(fields["t"]) <= int(time.time())
    # computed here as a receiver in another language would, not with our helper
    expected = hmac.new(
        SECRET.encode(), fields["t"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert fields["v1"] == expected
    assert verify_signature(SECRET.encode(), request.headers["x-postpilot-signature"], request.body)


def test_verify_rejects_tampering_a_wrong_secret_and_replays(
    receiver: Receiver, message: Message
) -> None:
    assert _hook(receiver, secret_env="HOOK_SECRET").send(message).ok
    [request] = receiver.requests
    header, body = request.headers["x-postpilot-signature"], request.body
    signed_at = datetime.fromtimestamp(int(_fields(header)["t"]), UTC)
    assert verify_signature(SECRET.encode(), header, body, now=signed_at)
    assert not verify_signature(SECRET.encode(), header, body.replace(b"0.61", b"0.91"))
    assert not verify_signature(b"another-secret", header, body)
    late = signed_at + timedelta(minutes=5, seconds=1)
    assert not verify_signature(SECRET.encode(), header, body, now=late)
    assert verify_signature(SECRET.encode(), header, body, now=late, tolerance=timedelta(hours=1))
    early = signed_at - timedelta(minutes=6)  # a timestamp from the receiver's future
    assert not verify_signature(SECRET.encode(), header, body, now=early)
    # the timestamp is signed too: moving it forward breaks the signature
    moved = header.replace(f"t={_fields(header)['t']}", f"t={int(time.time()) + 1}")
    assert not verify_signature(SECRET.encode(), moved, body)


@pytest.mark.parametrize(
    "header", ["", "t=1", "v1=abc", "t=x,v1=abc", "garbage", "t=1700000000,v1="]
)
def test_verify_says_false_to_malformed_headers(header: str) -> None:
    assert not verify_signature(b"k", header, b"{}", now=datetime.fromtimestamp(1_700_000_000, UTC))


def test_verify_accepts_any_of_several_signatures() -> None:
    body, at = b'{"id":"n-1"}', 1_700_000_000
    rotated = (
        sign(b"new", body, timestamp=at) + ",v1=" + _fields(sign(b"old", body, timestamp=at))["v1"]
    )
    now = datetime.fromtimestamp(at, UTC)
    assert verify_signature(b"old", rotated, body, now=now)
    assert verify_signature(b"new", rotated, body, now=now)
    assert not verify_signature(b"other", rotated, body, now=now)


@given(
    secret=st.binary(min_size=1, max_size=64),
    body=st.binary(max_size=512),
    at=st.integers(0, 2**33),
)
def test_sign_and_verify_round_trip_and_any_changed_byte_fails(
    secret: bytes, body: bytes, at: int
) -> None:
    header = sign(secret, body, timestamp=at)
    now = datetime.fromtimestamp(at, UTC)
    assert verify_signature(secret, header, body, now=now)
    assert not verify_signature(secret, header, body + b" ", now=now)
    if body:
        flipped = bytes([body[0] ^ 1]) + body[1:]
        assert not verify_signature(secret, header, flipped, now=now)


def test_the_secret_can_come_from_a_file(
    receiver: Receiver, message: Message, tmp_path: Path
) -> None:
    path = tmp_path / "hook.secret"
    path.write_text("from-a-file-4b1e\n", encoding="utf-8")  # the trailing newline is not key
    assert _hook(receiver, secret_file=str(path)).send(message).ok
    request = receiver.requests[0]
    header = request.headers["x-postpilot-signature"]
    assert verify_signature(b"from-a-file-4b1e", header, request.body)


def test_a_4xx_is_a_permanent_failure_with_the_peers_words(
    receiver: Receiver, message: Message
) -> None:
    receiver.answer(400, b'{"error": "unknown product"}')
    delivery = _hook(receiver).send(message)
    assert (delivery.ok, delivery.status, delivery.retryable) == (False, 400, False)
    assert "HTTP 400" in delivery.detail
    assert "unknown product" in delivery.detail


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_408_429_and_5xx_are_retryable(receiver: Receiver, message: Message, status: int) -> None:
    receiver.fail(1, status)
    delivery = _hook(receiver).send(message)
    assert (delivery.ok, delivery.status, delivery.retryable) == (False, status, True)


def test_retry_after_is_read(receiver: Receiver, message: Message) -> None:
    receiver.fail(1, 429, Retry_After="7")
    assert _hook(receiver).send(message).retry_after == 7.0


def test_redirects_are_not_followed(receiver: Receiver, message: Message) -> None:
    receiver.answer(302, Location="http://169.254.169.254/latest/meta-data/")
    delivery = _hook(receiver).send(message)
    assert (delivery.ok, delivery.retryable, delivery.status) == (False, False, 302)
    assert "redirect" in delivery.detail
    assert len(receiver.requests) == 1


def test_a_slow_peer_times_out_retryably(receiver: Receiver, message: Message) -> None:
    receiver.hold()
    delivery = _hook(receiver, timeout=0.2).send(message)
    receiver.release.set()
    assert (delivery.ok, delivery.retryable) == (False, True)
    assert "0.2 s" in delivery.detail


def test_the_url_is_checked_again_before_each_send(receiver: Receiver, message: Message) -> None:
    channel = _hook(receiver)
    channel.allow_private = False  # as if the name now resolved to a private address
    delivery = channel.send(message)
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert "loopback" in delivery.detail
    assert receiver.requests == []


def test_describe_hides_the_path_and_names_the_secrets_source(receiver: Receiver) -> None:
    described = _hook(receiver, secret_env="HOOK_SECRET").describe()
    assert described == {
        "name": "ops",
        "type": "webhook",
        "url": f"http://127.0.0.1:{receiver.port}/…",
        "timeout": 10.0,
        "allow_private": True,
        "signed": True,
        "secret": "from environment variable HOOK_SECRET",
    }
