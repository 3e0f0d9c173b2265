"""SMTP email, against real aiosmtpd servers on 127.0.0.1 (plain, and STARTTLS + AUTH)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from postpilot.errors import ChannelConfigError
from postpilot.policies.channels import Channel, Message, make_channel
from postpilot.policies.channels.email import message_id
from tests.policies.channels.conftest import MAIL_LOGIN
from tests.policies.channels.peers import CA_FILE, Mailbox

SENDER = "Postpilot <alerts@example.com>"


def _mail(box: Mailbox, **spec: Any) -> Channel:
    return make_channel(
        "mail",
        {"type": "email", "host": "127.0.0.1", "port": box.port, "from": SENDER, **spec},
        environ={"MAIL_PASSWORD": MAIL_LOGIN[1], "WRONG_PASSWORD": "nope"},
    )


def _secure(box: Mailbox, **spec: Any) -> Channel:
    login = {"username": MAIL_LOGIN[0], "password_env": "MAIL_PASSWORD"}
    return _mail(box, starttls=True, ca_file=CA_FILE, **{**login, **spec})


def test_the_email_arrives_addressed_to_the_recipient(mailbox: Mailbox, message: Message) -> None:
    delivery = _mail(mailbox).send(message)
    assert delivery.ok, delivery.detail
    [mail] = mailbox.messages
    assert mail.mail_from == "alerts@example.com"
    assert mail.rcpt_tos == ["maya@example.com"]
    sent = mail.message
    assert sent["To"] == "Maya Chen <maya@example.com>"
    assert sent["From"] == SENDER
    assert sent["Subject"] == "[postpilot] [high] churn: Estimated F1 below the SLA"
    assert sent["Message-ID"] == message_id("n-123", "example.com")
    assert sent["X-Postpilot-Id"] == "n-123"
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent.get_content_type() == "text/plain"
    assert sent.get_content().replace("\r\n", "\n") == (  # CRLF on the wire
        "Estimated F1 fell to 0.61 on chunk 2025-01-10; the SLA is 0.70.\n"
        "\n"
        "Product: churn\n"
        "Severity: high\n"
        "For: Maya Chen <maya@example.com> (owner)\n"
        "rule: f1-sla\n"
        "metric: performance.estimated\n"
        "value: 0.61\n"
        "threshold: 0.7\n"
        "incident: 12\n"
        "links.incident: https://postpilot.example.com/incidents/12\n"
        "\n"
        "-- postpilot notification n-123, 2025-01-10T06:00:00+00:00\n"
    )


def test_a_duplicate_carries_the_same_message_id(mailbox: Mailbox, message: Message) -> None:
    channel = _mail(mailbox)
    other = dataclasses.replace(message, id="n-124")
    assert all(channel.send(m).ok for m in (message, message, other))
    ids = [mail.message["Message-ID"] for mail in mailbox.messages]
    assert ids[0] == ids[1] != ids[2]


def test_message_ids_stay_apart_and_valid() -> None:
    assert message_id("n 1", "x.org") != message_id("n/1", "x.org")
    assert message_id("a\r\nBcc: x@y", "x.org").startswith("<postpilot.a-Bcc-x-y.")


def test_starttls_and_login(secure_mailbox: Mailbox, message: Message) -> None:
    delivery = _secure(secure_mailbox).send(message)
    assert delivery.ok, delivery.detail
    assert [mail.rcpt_tos for mail in secure_mailbox.messages] == [["maya@example.com"]]


def test_a_wrong_password_is_permanent(secure_mailbox: Mailbox, message: Message) -> None:
    delivery = _secure(secure_mailbox, password_env="WRONG_PASSWORD").send(message)
    assert (delivery.ok, delivery.retryable, delivery.status) == (False, False, 535)
    assert secure_mailbox.messages == []


def test_an_untrusted_certificate_is_refused(secure_mailbox: Mailbox, message: Message) -> None:
    channel = _mail(
        secure_mailbox, starttls=True, username=MAIL_LOGIN[0], password_env="MAIL_PASSWORD"
    )  # no ca_file: the test CA is not trusted
    delivery = channel.send(message)
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert "SSLCertVerificationError" in delivery.detail
    assert secure_mailbox.messages == []


def test_a_message_without_a_recipient_fails_permanently(
    mailbox: Mailbox, message: Message
) -> None:
    delivery = _mail(mailbox).send(dataclasses.replace(message, recipient_email=None))
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert "no recipient email" in delivery.detail
    assert mailbox.messages == []


def test_a_header_injection_is_not_an_address(mailbox: Mailbox, message: Message) -> None:
    bad = dataclasses.replace(message, recipient_email="maya@example.com\r\nBcc: eve@example.com")
    delivery = _mail(mailbox).send(bad)
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert mailbox.messages == []


@pytest.mark.parametrize(
    ("reply", "retryable"), [("550 5.1.1 no such user", False), ("451 4.3.0 try later", True)]
)
def test_a_refused_recipient_is_retried_only_when_temporary(
    mailbox_factory: Callable[..., Mailbox], message: Message, reply: str, retryable: bool
) -> None:
    box = mailbox_factory(refuse_rcpt=reply)
    delivery = _mail(box).send(message)
    assert (delivery.ok, delivery.retryable, delivery.status) == (False, retryable, int(reply[:3]))
    assert reply[4:] in delivery.detail


def test_a_newline_in_the_subject_does_not_break_the_headers(
    mailbox: Mailbox, message: Message
) -> None:
    assert _mail(mailbox).send(dataclasses.replace(message, subject="line one\nBcc: x")).ok
    assert mailbox.messages[0].message["Subject"].endswith("line one Bcc: x")
    assert mailbox.messages[0].message["Bcc"] is None


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"password_env": "MAIL_PASSWORD", "username": "a"}, "unencrypted"),
        ({"starttls": True, "ssl": True}, "both starttls and ssl"),
        ({"starttls": True, "password_env": "MAIL_PASSWORD"}, "username and a password"),
        ({"from": "alerts"}, "holds no email address"),
        ({"port": 70000}, "'port' must be a whole number"),
        ({"password": "hunter2", "starttls": True, "username": "a"}, "never written"),
    ],
)
def test_config_mistakes_are_named(mailbox: Mailbox, spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(ChannelConfigError, match=problem) as caught:
        _mail(mailbox, **spec)
    assert caught.value.field == "mail"
    assert "hunter2" not in str(caught.value)


def test_describe_names_the_login_not_the_password(secure_mailbox: Mailbox) -> None:
    described = _secure(secure_mailbox).describe()
    assert described == {
        "name": "mail",
        "type": "email",
        "host": "127.0.0.1",
        "port": secure_mailbox.port,
        "tls": "starttls",
        "from": SENDER,
        "timeout": 10.0,
        "login": "alerts (password from environment variable MAIL_PASSWORD)",
        "ca_file": CA_FILE,
    }


def test_default_ports_follow_the_tls_mode() -> None:
    ports = {
        mode: make_channel(
            "m", {"type": "email", "host": "h", "from": "a@b.c", **flags}
        ).describe()["port"]
        for mode, flags in {
            "plain": {},
            "starttls": {"starttls": True},
            "ssl": {"ssl": True},
        }.items()
    }
    assert ports == {"plain": 25, "starttls": 587, "ssl": 465}
