"""Email through an SMTP server, in plain text, to the message's recipient.

The ``To`` address is the message's ``recipient_email`` (a message without one
fails permanently, saying so). The ``Message-ID`` is derived from the
message's id, so a notification sent twice arrives with the same Message-ID
and mail clients and archives can tell it is a duplicate; ``X-Postpilot-Id``
carries the id itself and ``Auto-Submitted: auto-generated`` (RFC 3834) keeps
vacation responders from replying.

Config keys: ``host``, ``port`` (default 465 with ``ssl``, 587 with
``starttls``, else 25), ``starttls`` / ``ssl`` (at most one; default neither),
``from`` (the sender, ``Name <address>`` or an address), ``username`` (or
``username_env`` / ``username_file``), ``password_env`` / ``password_file`` (a password is only
sent over TLS), ``ca_file`` (a CA bundle to trust instead of the system's, for
a relay with a private CA), ``timeout`` (seconds, default 10).

>>> message_id("n-123", "example.com")
'<postpilot.n-123.c59657b376f00dd2@example.com>'
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Self

from postpilot.errors import ChannelConfigError
from postpilot.policies.channels._format import details, headline, one_line, recipient
from postpilot.policies.channels.base import Channel, Delivery, DeliveryError, Message
from postpilot.policies.channels.spec import ChannelSpec, Secret

__all__ = ["EmailChannel", "email_message", "message_id"]

DEFAULT_TIMEOUT = 10.0
# ASCII only: a non-ASCII address needs SMTPUTF8, which few relays offer
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def message_id(notification_id: str, domain: str) -> str:
    """The Message-ID for a notification id: the same id always gives the same one.

    The readable part keeps the id's safe characters; the hash keeps two ids that
    differ only in unsafe characters apart.
    """
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", notification_id).strip("-")[:64] or "n"
    digest = hashlib.sha256(notification_id.encode("utf-8")).hexdigest()[:16]
    return f"<postpilot.{readable}.{digest}@{domain}>"


def email_message(message: Message, *, sender: str) -> EmailMessage:
    """The email for ``message`` from ``sender``; DeliveryError when it has no usable To."""
    to = (message.recipient_email or "").strip()
    if not to:
        raise DeliveryError(
            "the message has no recipient email address, so there is no one to mail it to",
            retryable=False,
        )
    if not _ADDRESS.fullmatch(to):
        raise DeliveryError(
            f"the recipient email {one_line(to)[:80]!r} is not an email address", retryable=False
        )
    domain = parseaddr(sender)[1].rpartition("@")[2] or "postpilot.invalid"
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = formataddr((one_line(message.recipient_name or ""), to))
    mail["Subject"] = f"[postpilot] {headline(message)}"
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message_id(message.id, domain)
    mail["X-Postpilot-Id"] = message.id
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(_body(message))
    return mail


class EmailChannel(Channel):
    """Sends each message as a plain-text email through one SMTP server."""

    key = "email"

    def __init__(
        self,
        name: str,
        host: str,
        *,
        sender: str,
        port: int | None = None,
        starttls: bool = False,
        ssl: bool = False,
        username: str | None = None,
        password: Secret | None = None,
        ca_file: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(name)
        if starttls and ssl:
            raise _config_error(
                name,
                "sets both starttls and ssl; give one",
                "ssl: true for port 465 (implicit TLS), starttls: true for port 587",
            )
        if (username is None) != (password is None):
            raise _config_error(
                name,
                "needs both a username and a password, or neither",
                "Add username (or username_env) with password_env or password_file",
            )
        if password is not None and not (starttls or ssl):
            raise _config_error(
                name,
                "would send its password unencrypted",
                "Set starttls: true (port 587) or ssl: true (port 465)",
            )
        if not _ADDRESS.fullmatch(parseaddr(sender)[1]):
            raise _config_error(
                name,
                f"has 'from' {sender!r}, which holds no email address",
                "Write from: alerts@example.com or from: Postpilot <alerts@example.com>",
            )
        self.host = host
        self.port = port if port is not None else 465 if ssl else 587 if starttls else 25
        self.starttls = starttls
        self.ssl = ssl
        self.sender = sender
        self.username = username
        self._password = password
        self.ca_file = ca_file
        self.timeout = timeout

    @classmethod
    def from_spec(cls, spec: ChannelSpec) -> Self:
        username = spec.optional_text_or_secret("username")
        channel = cls(
            spec.name,
            spec.required_text("host"),
            sender=spec.required_text("from"),
            port=spec.integer("port", minimum=1, maximum=65535),
            starttls=spec.flag("starttls"),
            ssl=spec.flag("ssl"),
            username=None if username is None else username[0],
            password=spec.secret("password"),
            ca_file=spec.text("ca_file"),
            timeout=spec.number("timeout", default=DEFAULT_TIMEOUT, maximum=300),
        )
        spec.finish()
        return channel

    def _send(self, message: Message) -> Delivery:
        mail = email_message(message, sender=self.sender)
        to = (message.recipient_email or "").strip()
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise _failure(exc, f"{self.host}:{self.port}") from exc
        try:
            try:
                if self.starttls:
                    smtp.starttls(context=self._tls())
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password.value)
                smtp.send_message(mail, from_addr=parseaddr(self.sender)[1], to_addrs=[to])
            except (smtplib.SMTPException, OSError) as exc:
                raise _failure(exc, f"{self.host}:{self.port}") from exc
            # the server accepted the message; a failed goodbye changes nothing
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
        finally:
            smtp.close()
        return Delivery.success(f"accepted by {self.host}:{self.port} for {to}")

    def _connect(self) -> smtplib.SMTP:
        if self.ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def _describe(self) -> dict[str, Any]:
        security = "ssl" if self.ssl else "starttls" if self.starttls else "none"
        described: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "tls": security,
            "from": self.sender,
            "timeout": self.timeout,
        }
        if self.username is not None and self._password is not None:
            described["login"] = f"{self.username} (password from {self._password.source})"
        if self.ca_file is not None:
            described["ca_file"] = self.ca_file
        return described


def _body(message: Message) -> str:
    lines = [message.text.rstrip(), ""]
    for label, value in (
        ("Product", message.product),
        ("Severity", message.severity),
        ("For", recipient(message)),
    ):
        if value:
            lines.append(f"{label}: {one_line(value)}")
    lines.extend(f"{key}: {value}" for key, value in details(message))
    lines += ["", f"-- postpilot notification {message.id}, {message.created_at.isoformat()}"]
    return "\n".join(lines) + "\n"


def _failure(exc: BaseException, server: str) -> DeliveryError:
    """A DeliveryError for what smtplib or the socket raised."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        texts = "; ".join(
            f"{who}: {code} {_decoded(text)}" for who, (code, text) in exc.recipients.items()
        )
        return DeliveryError(
            f"{server} refused the recipient ({texts})",
            retryable=all(400 <= code < 500 for code in codes),
            status=codes[0] if codes else None,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(
            f"{server} answered {exc.smtp_code} {_decoded(exc.smtp_error)}",
            retryable=400 <= exc.smtp_code < 500,
            status=exc.smtp_code,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"{server} closed the connection ({exc})", retryable=True)
    if isinstance(exc, smtplib.SMTPException | ssl.SSLCertVerificationError):
        return DeliveryError(f"{server}: {type(exc).__name__}: {exc}", retryable=False)
    return DeliveryError(f"cannot reach {server} ({type(exc).__name__}: {exc})", retryable=True)


def _decoded(text: bytes | str) -> str:
    value = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return one_line(value)


def _config_error(name: str, problem: str, hint: str) -> ChannelConfigError:
    return ChannelConfigError(f"channel '{name}' {problem}", field=name, hint=hint)
