"""Fixtures: a webhook receiver and SMTP servers on 127.0.0.1, and a sample message."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from postpilot.policies.channels import Message
from tests.policies.channels.peers import Mailbox, Receiver

MAIL_LOGIN = ("alerts", "mailpass-5c1e9b")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    peer = Receiver()
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def mailbox_factory() -> Iterator[Callable[..., Mailbox]]:
    started: list[Mailbox] = []

    def make(**kwargs: Any) -> Mailbox:
        box = Mailbox(**kwargs)
        box.start()
        started.append(box)
        return box

    try:
        yield make
    finally:
        for box in started:
            box.stop()


@pytest.fixture
def mailbox(mailbox_factory: Callable[..., Mailbox]) -> Mailbox:
    """A plain SMTP server: no TLS, no AUTH."""
    return mailbox_factory()


@pytest.fixture
def secure_mailbox(mailbox_factory: Callable[..., Mailbox]) -> Mailbox:
    """An SMTP server that requires STARTTLS (test CA) and AUTH with MAIL_LOGIN."""
    return mailbox_factory(tls=True, login=MAIL_LOGIN)


@pytest.fixture
def message() -> Message:
    return Message(
        id="n-123",
        product="churn",
        subject="Estimated F1 below the SLA",
        text="Estimated F1 fell to 0.61 on chunk 2025-01-10; the SLA is 0.70.",
        recipient_email="maya@example.com",
        recipient_name="Maya Chen",
        recipient_role="owner",
        severity="high",
        data={
            "rule": "f1-sla",
            "metric": "performance.estimated",
            "value": 0.61,
            "threshold": 0.7,
            "incident": 12,
            "links": {"incident": "https://postpilot.example.com/incidents/12"},
        },
        created_at=datetime(2025, 1, 10, 6, 0, tzinfo=UTC),
    )
