"""The channels that always work: store and console."""

from __future__ import annotations

import dataclasses
import io
import sys

import pytest

from postpilot.policies.channels import (
    ALWAYS_AVAILABLE,
    ConsoleChannel,
    Message,
    StoreChannel,
    default_channels,
    make_channel,
)


def test_both_exist_without_configuration() -> None:
    channels = default_channels()
    assert list(channels) == list(ALWAYS_AVAILABLE) == ["store", "console"]
    assert isinstance(channels["store"], StoreChannel)
    assert isinstance(channels["console"], ConsoleChannel)


def test_store_succeeds_and_says_where_the_message_is(message: Message) -> None:
    delivery = make_channel("store", {}).send(message)
    assert (delivery.ok, delivery.detail) == (True, "recorded in the store")


def test_console_prints_one_line_to_stderr(
    message: Message, capsys: pytest.CaptureFixture[str]
) -> None:
    multi_line = dataclasses.replace(message, subject="F1 below\nthe SLA")
    assert make_channel("console", {}).send(multi_line).ok
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "postpilot: [high] churn: F1 below the SLA -> Maya Chen <maya@example.com> (owner) "
        "[n-123]\n"
    )


def test_console_without_a_recipient(capsys: pytest.CaptureFixture[str]) -> None:
    assert make_channel("console", {}).send(Message(id="n-2", subject="s", text="t")).ok
    assert capsys.readouterr().err == "postpilot: s [n-2]\n"


def test_console_with_stderr_closed_fails_without_raising(
    message: Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    delivery = make_channel("console", {}).send(message)
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert "stderr" in delivery.detail
