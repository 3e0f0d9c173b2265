"""Building channels from config: types, keys, and secrets from the environment or files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from postpilot.errors import ChannelConfigError, ConfigError, InputError
from postpilot.policies.channels import (
    Message,
    WebhookChannel,
    get_channel_type,
    make_channel,
)

URL = "https://8.8.8.8/hook"


def _error(spec: dict[str, Any], environ: dict[str, str] | None = None) -> ChannelConfigError:
    with pytest.raises(ChannelConfigError) as caught:
        make_channel("ops", spec, environ={} if environ is None else environ)
    assert caught.value.field == "ops"
    assert isinstance(caught.value, ConfigError)
    return caught.value


def test_a_missing_variable_is_named_with_the_channel() -> None:
    error = _error({"type": "webhook", "url": URL, "secret_env": "OPS_HOOK_SECRET"})
    assert "OPS_HOOK_SECRET" in error.message
    assert "channel 'ops'" in error.message
    assert "not set" in error.message
    assert "OPS_HOOK_SECRET" in (error.hint or "")


def test_an_empty_variable_is_refused() -> None:
    error = _error({"type": "webhook", "url": URL, "secret_env": "S"}, environ={"S": "  "})
    assert "S, which is empty" in error.message


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PP_TEST_HOOK_SECRET", "from-the-env-77")
    channel = make_channel(
        "ops", {"type": "webhook", "url": URL, "secret_env": "PP_TEST_HOOK_SECRET"}
    )
    assert channel.describe()["secret"] == "from environment variable PP_TEST_HOOK_SECRET"


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.secret"
    error = _error({"type": "webhook", "url": URL, "secret_file": str(missing)})
    assert str(missing) in error.message
    assert "No such file" in error.message
    error = _error({"type": "webhook", "url": URL, "secret_file": str(tmp_path)})
    assert "cannot be read" in error.message


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.secret"
    path.write_text("\n", encoding="utf-8")
    assert "is empty" in _error({"type": "webhook", "url": URL, "secret_file": str(path)}).message


def test_a_secret_written_inline_is_refused_without_echoing_it() -> None:
    error = _error({"type": "webhook", "url": URL, "secret": "hunter2-inline"})
    assert "never written" in error.message
    assert "hunter2-inline" not in str(error)
    assert "secret_env" in (error.hint or "")


def test_env_and_file_together_are_refused(tmp_path: Path) -> None:
    error = _error(
        {"type": "webhook", "url": URL, "secret_env": "S", "secret_file": "x"}, environ={"S": "v"}
    )
    assert "both 'secret_env' and 'secret_file'" in error.message


def test_a_url_read_from_the_environment_is_checked_without_showing_it() -> None:
    error = _error(
        {"type": "webhook", "url_env": "HOOK_URL"},
        environ={"HOOK_URL": "ftp://files.example.com/tok-91ab"},
    )
    assert "scheme is 'ftp'" in error.message
    assert "tok-91ab" not in str(error)


def test_the_url_from_the_environment_is_used(tmp_path: Path) -> None:
    channel = make_channel("ops", {"type": "webhook", "url_env": "U"}, environ={"U": URL})
    assert isinstance(channel, WebhookChannel)
    assert channel.describe()["url"] == "(from environment variable U)"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"type": "pager"}, "unknown type 'pager'"),
        ({"url": URL}, "needs a 'type'"),
        ({"type": "webhook"}, "needs 'url'"),
        ({"type": "webhook", "url": URL, "url_env": "U"}, "both 'url' and 'url_env'"),
        ({"type": "webhook", "url": URL, "timeout": "ten"}, "'timeout' must be a number above 0"),
        ({"type": "webhook", "url": URL, "timeout": 0}, "'timeout' must be a number above 0"),
        ({"type": "webhook", "url": URL, "timeout": 3600}, "at most 300"),
        ({"type": "webhook", "url": URL, "allow_private": "yes"}, "must be true or false"),
        ({"type": "webhook", "url": 42}, "'url' must be a non-empty string"),
        (
            {"type": "webhook", "url": URL, "colour": "red", "size": 1},
            "unknown key(s): colour, size",
        ),
        ({"type": "slack"}, "needs 'url_env' or 'url_file'"),
        ({"type": "email", "from": "a@b.c"}, "needs 'host'"),
    ],
)
def test_config_mistakes_say_what_and_how_to_fix(spec: dict[str, Any], problem: str) -> None:
    error = _error(spec)
    assert problem in error.message
    assert error.hint


def test_unknown_type_lists_the_types() -> None:
    assert _error({"type": "pager"}).hint == (
        "Channel types: console, email, slack, store, webhook"
    )


def test_the_spec_must_be_a_mapping() -> None:
    assert "mapping" in _error(["webhook"]).message  # type: ignore[arg-type]


def test_the_type_defaults_to_a_registered_name() -> None:
    assert make_channel("console", {}).key == "console"
    assert get_channel_type("webhook") is WebhookChannel


def test_a_name_is_required() -> None:
    with pytest.raises(ChannelConfigError, match="non-empty"):
        make_channel(" ", {"type": "store"})


@pytest.mark.parametrize("bad", ["", "n 1", "n-\u00e9", "n-1\r\nX-Evil: 1", "x" * 201])
def test_a_message_id_must_fit_in_a_header(bad: str) -> None:
    with pytest.raises(InputError, match="message id") as caught:
        Message(id=bad, subject="s", text="t")
    assert caught.value.field == "id"
