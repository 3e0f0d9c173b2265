"""What the HTTP channels share: the URL check before each POST, and reading the answer.

Redirects are not followed (a redirect could lead past the URL check), the URL
is checked again right before every POST (DNS answers change), and httpx's
exceptions are translated here into failed Deliveries: timeouts, connection
and protocol errors are retryable (except a certificate that does not verify);
so are 408, 425, 429 and 5xx answers. httpx honours the usual proxy variables
(``HTTPS_PROXY``, ``NO_PROXY``); ``ca_file`` trusts a private CA for https.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from postpilot._causes import caused_by
from postpilot.errors import ChannelConfigError
from postpilot.policies.channels.base import Channel, Delivery, DeliveryError, retryable_status
from postpilot.policies.urls import check_url

__all__ = ["HttpChannel", "user_agent"]

DEFAULT_TIMEOUT = 10.0
_SNIPPET = 200


def user_agent() -> str:
    """``postpilot/<version>``, sent with every request."""
    from postpilot import __version__

    return f"postpilot/{__version__}"


class HttpChannel(Channel):
    """A channel that POSTs to one checked URL."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        allow_private: bool = False,
        ca_file: str | None = None,
    ) -> None:
        super().__init__(name)
        self._url = check_url(url, allow_private=allow_private, field=name)
        self.timeout = timeout
        self.allow_private = allow_private
        self.ca_file = ca_file

    def _post(self, body: bytes, headers: dict[str, str]) -> Delivery:
        self._check_again()
        verify = self._verify()
        try:
            with httpx.Client(
                timeout=self.timeout, follow_redirects=False, verify=verify
            ) as client:
                response = client.post(
                    self._url, content=body, headers={"User-Agent": user_agent(), **headers}
                )
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"no answer within {self.timeout:g} s ({type(exc).__name__})", retryable=True
            ) from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
            # a certificate that does not verify will not verify on the next attempt either
            untrusted = caused_by(exc, ssl.SSLCertVerificationError)
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=not untrusted) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=False) from exc
        return _answer(response)

    def _verify(self) -> ssl.SSLContext | bool:
        """What https certificates are checked against: ``ca_file``, or httpx's default."""
        if self.ca_file is None:
            return True
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(
                f"cannot load ca_file {self.ca_file} ({exc})", retryable=False
            ) from exc

    def _check_again(self) -> None:
        try:
            check_url(self._url, allow_private=self.allow_private, field=self.name)
        except ChannelConfigError as exc:
            unresolved = isinstance(exc.__cause__, OSError)
            raise DeliveryError(
                f"not sent: {exc.message}", retryable=unresolved, channel=self.name
            ) from exc

    def _describe(self) -> dict[str, Any]:
        parts = urlsplit(self._url)
        shown = f"{parts.scheme}://{parts.netloc}"
        if parts.path not in ("", "/") or parts.query:
            shown += "/…"  # paths and queries often hold tokens (Slack's always do)
        described = {"url": shown, "timeout": self.timeout, "allow_private": self.allow_private}
        if self.ca_file is not None:
            described["ca_file"] = self.ca_file
        return described


def _answer(response: httpx.Response) -> Delivery:
    status = response.status_code
    detail = f"HTTP {status} {response.reason_phrase}".rstrip()
    if 200 <= status < 300:
        return Delivery.success(detail, status=status)
    if 300 <= status < 400:
        raise DeliveryError(
            f"{detail}: redirects are not followed; configure the final URL",
            retryable=False,
            status=status,
        )
    snippet = " ".join(response.text[:_SNIPPET].split())
    raise DeliveryError(
        f"{detail}: {snippet}" if snippet else detail,
        retryable=retryable_status(status),
        status=status,
        retry_after=_retry_after(response.headers.get("Retry-After")),
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date), or None."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
