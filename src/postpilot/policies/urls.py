"""Outbound URLs: where a notification may be sent, checked before it is.

A webhook URL comes from configuration someone else may control, and postpilot
often runs inside a cloud network where ``http://169.254.169.254/`` hands out
credentials. So a URL is refused unless:

- its scheme is ``http`` or ``https`` and it names a host;
- it carries no ``user:password@`` (credentials in URLs end up in logs);
- every address its host resolves to is acceptable: link-local (including the
  cloud metadata service), multicast, unspecified and reserved addresses are
  refused always; loopback and private ones (127.0.0.1, 10.0.0.0/8, ...) only
  when the channel says ``allow_private: true``, which a local receiver or a
  test needs.

Addresses are judged after resolution, so spellings such as ``2852039166`` or
``0251.0376.0251.0376`` (both 169.254.169.254) and IPv6 forms that embed an
IPv4 address are caught. Channels check when they are built and again before
each send, because DNS answers change.

>>> check_url("http://127.0.0.1:8080/hook", allow_private=True)
'http://127.0.0.1:8080/hook'
>>> check_url("http://169.254.169.254/latest/meta-data", allow_private=True, field="ops")
Traceback (most recent call last):
...
postpilot.errors.ChannelConfigError: the URL's host 169.254.169.254 is a link-local address ...
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TypeAlias
from urllib.parse import SplitResult, urlsplit

from postpilot.errors import ChannelConfigError

__all__ = ["address_refusal", "check_url"]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES = {"http": 80, "https": 443}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def check_url(url: str, *, allow_private: bool = False, field: str | None = None) -> str:
    """``url`` if notifications may be sent there; ChannelConfigError if not.

    ``field`` (the channel's name) is put on the error. Messages name the scheme
    and host at fault, never the whole URL, whose path may hold a token. When
    the host does not resolve, the error is raised ``from`` the resolver's
    ``OSError``: a caller may try again later, unlike for a refused address.
    """
    parts = _split(url, field)
    host = parts.hostname or ""
    try:
        port = parts.port or _SCHEMES[parts.scheme.lower()]
    except ValueError:
        raise ChannelConfigError(
            f"the URL's port is not a number from 0 to 65535 (host {host})",
            field=field,
            hint="Write the URL as scheme://host[:port]/path",
        ) from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ChannelConfigError(
            f"the URL's host {host} cannot be resolved ({exc})",
            field=field,
            hint="Check the host name; it is resolved again before each send",
        ) from (exc if isinstance(exc, OSError) else None)
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = address_refusal(address, allow_private=allow_private)
        if reason is not None:
            shown = host if host == str(address) else f"{host} resolves to {address}, which"
            raise ChannelConfigError(
                f"the URL's host {shown} {reason}",
                field=field,
                hint=(
                    "Set allow_private: true on the channel to send to a local or private receiver"
                    if "allow_private" in reason
                    else "Send to a routable address"
                ),
            )
    return url


def address_refusal(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why a notification may not go to ``address``, or None if it may.

    IPv4 addresses embedded in IPv6 ones (``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``
    and 6to4 ``2002::/16``) are judged as the IPv4 address they reach.

    >>> address_refusal(ipaddress.ip_address("8.8.8.8")) is None
    True
    >>> address_refusal(ipaddress.ip_address("::ffff:10.1.2.3"), allow_private=True) is None
    True
    >>> address_refusal(ipaddress.ip_address("10.1.2.3"))
    'is a private address, refused unless the channel sets allow_private: true'
    """
    ip = _embedded_ipv4(address) or address
    if ip.is_link_local:
        return (
            "is a link-local address (169.254.0.0/16, fe80::/10), where cloud metadata "
            "services live: refused always"
        )
    for kind, flag in (
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved and not ip.is_loopback),  # ::1 lies in IPv6's reserved ::/8
    ):
        if flag:
            return f"is a {kind} address: refused always"
    if allow_private:
        return None
    if ip.is_loopback:
        return "is a loopback address, refused unless the channel sets allow_private: true"
    if ip.is_private or not ip.is_global:
        return "is a private address, refused unless the channel sets allow_private: true"
    return None


def _split(url: str, field: str | None) -> SplitResult:
    if not isinstance(url, str) or not url.strip():
        raise ChannelConfigError(
            f"the URL must be a non-empty string, got {type(url).__name__}",
            field=field,
            hint="Write it as https://host/path",
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ChannelConfigError(
            "the URL contains whitespace or control characters",
            field=field,
            hint="Percent-encode them, or remove stray spaces and line breaks",
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ChannelConfigError(
            f"the URL cannot be parsed ({exc})", field=field, hint="Write it as https://host/path"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        shown = f"'{parts.scheme}'" if parts.scheme else "missing"
        raise ChannelConfigError(
            f"the URL's scheme is {shown}; only http and https are allowed",
            field=field,
            hint="Use an http:// or https:// URL",
        )
    if "@" in parts.netloc:
        raise ChannelConfigError(
            "the URL carries a user name or password (user:password@host); "
            "credentials in URLs end up in logs",
            field=field,
            hint="Remove them; to sign a webhook, use secret_env or secret_file",
        )
    if not parts.hostname:
        raise ChannelConfigError(
            "the URL names no host", field=field, hint="Write it as https://host/path"
        )
    return parts


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour
