"""Outbound URL checks: http(s) only, no credentials, no link-local/metadata addresses."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postpilot.errors import ChannelConfigError, InputError
from postpilot.policies.urls import address_refusal, check_url

OK, REFUSED = True, False

CASES = [
    # url, allow_private, accepted, words in the refusal
    ("http://8.8.8.8/hook", False, OK, ""),
    ("https://1.1.1.1:8443/hooks/a?b=c", False, OK, ""),
    ("HTTPS://8.8.8.8/", False, OK, ""),
    ("ftp://8.8.8.8/file", True, REFUSED, "scheme is 'ftp'"),
    ("file:///etc/passwd", True, REFUSED, "scheme is 'file'"),
    ("8.8.8.8/hook", True, REFUSED, "scheme is missing"),
    ("http:///hook", True, REFUSED, "names no host"),
    ("http://user:pass@8.8.8.8/", True, REFUSED, "user name or password"),
    ("http://token@8.8.8.8/", True, REFUSED, "user name or password"),
    ("http://8.8.8.8:99999/", True, REFUSED, "port"),
    ("http://8.8.8.8/a b", True, REFUSED, "whitespace"),
    ("http://169.254.169.254/latest/meta-data/", False, REFUSED, "link-local"),
    ("http://169.254.169.254/latest/meta-data/", True, REFUSED, "link-local"),
    ("http://[fe80::1]/", True, REFUSED, "link-local"),
    ("http://[::ffff:169.254.169.254]/", True, REFUSED, "link-local"),
    ("http://[64:ff9b::a9fe:a9fe]/", True, REFUSED, "link-local"),  # NAT64 of the metadata IP
    # host names that resolve to the metadata address (resolved by getaddrinfo, no DNS)
    ("http://2852039166/", True, REFUSED, "resolves to 169.254.169.254"),
    ("http://0251.0376.0251.0376/", True, REFUSED, "resolves to 169.254.169.254"),
    ("http://224.0.0.1/", True, REFUSED, "multicast"),
    ("http://0.0.0.0:8080/", True, REFUSED, "unspecified"),
    ("http://0/", True, REFUSED, "unspecified"),
    ("http://240.0.0.1/", True, REFUSED, "reserved"),
    ("http://127.0.0.1:8080/hook", False, REFUSED, "loopback"),
    ("http://127.0.0.1:8080/hook", True, OK, ""),
    ("http://localhost:8080/hook", False, REFUSED, "localhost resolves to"),
    ("http://localhost:8080/hook", True, OK, ""),
    ("http://[::1]/", False, REFUSED, "loopback"),
    ("http://[::1]:8080/", True, OK, ""),
    ("http://10.1.2.3/", False, REFUSED, "private"),
    ("http://10.1.2.3/", True, OK, ""),
    ("http://192.168.1.10/", False, REFUSED, "private"),
    ("http://100.64.0.1/", False, REFUSED, "private"),  # carrier-grade NAT: not global
    ("http://[::ffff:10.0.0.1]/", False, REFUSED, "private"),
    ("http://no-such-host.invalid/", True, REFUSED, "cannot be resolved"),
]


@pytest.mark.parametrize(("url", "allow_private", "accepted", "words"), CASES)
def test_check_url(url: str, allow_private: bool, accepted: bool, words: str) -> None:
    if accepted:
        assert check_url(url, allow_private=allow_private, field="ops") == url
        return
    with pytest.raises(ChannelConfigError) as caught:
        check_url(url, allow_private=allow_private, field="ops")
    assert isinstance(caught.value, InputError)
    assert words in caught.value.message
    assert caught.value.field == "ops"
    assert caught.value.hint


def test_allow_private_is_named_in_the_hint() -> None:
    with pytest.raises(ChannelConfigError) as caught:
        check_url("http://127.0.0.1/")
    assert "allow_private: true" in (caught.value.hint or "")


def test_the_path_never_appears_in_a_refusal() -> None:
    urls = [
        "http://127.0.0.1/services/T0/B0/tok-1",
        "gopher://8.8.8.8/tok-1",
        "http://u:tok-1@8.8.8.8/",
    ]
    for url in urls:
        with pytest.raises(ChannelConfigError) as caught:
            check_url(url)
        assert "tok-1" not in str(caught.value)


def test_an_unresolvable_host_is_raised_from_the_resolvers_error() -> None:
    with pytest.raises(ChannelConfigError) as caught:
        check_url("http://no-such-host.invalid/")
    assert isinstance(caught.value.__cause__, OSError)  # channels retry these later


@given(st.ip_addresses())
def test_link_local_multicast_and_unspecified_are_never_allowed(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    reason = address_refusal(address, allow_private=True)
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        assert reason is not None
        assert "refused always" in reason
    if address_refusal(address, allow_private=False) is None:
        assert reason is None  # allow_private only ever allows more
        assert address.is_global  # without it, only global addresses pass


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_is_judged_the_same_inside_ipv6(address: ipaddress.IPv4Address) -> None:
    for allow in (False, True):
        mapped = ipaddress.IPv6Address(f"::ffff:{address}")
        assert (address_refusal(mapped, allow_private=allow) is None) == (
            address_refusal(address, allow_private=allow) is None
        )
