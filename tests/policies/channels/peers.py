"""Real peers for the channel tests: an HTTP receiver and an SMTP server on 127.0.0.1.

``Receiver`` is a ``ThreadingHTTPServer`` (optionally https, with the test CA in
``certs/``) that records every request and can be
told to answer an error status for the next N requests, to hold its answer
until released (a slow peer), or to stop and start again on the same port (a
peer that is down for a while). ``Mailbox`` is an aiosmtpd server that keeps
every message it accepts, optionally with STARTTLS (the test CA in ``certs/``)
and AUTH, and can refuse recipients. ``dead_port`` is a port nothing listens on.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

CERTS = Path(__file__).resolve().parent / "certs"
CA_FILE = str(CERTS / "ca.pem")


def dead_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago; connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 200 unless told otherwise."""

    def __init__(self, *, tls: bool = False) -> None:
        self.tls = tls
        self.requests: list[Request] = []
        self.port = 0
        self.release = threading.Event()  # set: answer at once; cleared by hold()
        self.release.set()
        self._queued: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/hook") -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def fail(self, times: int, status: int = 503, **headers: str) -> None:
        """Answer ``status`` to the next ``times`` requests, then 200 again."""
        with self._lock:
            self._queued.extend(
                Answer(status, f"status {status}".encode(), headers) for _ in range(times)
            )

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        """Answer the next request with ``status``, ``body`` and ``headers``."""
        with self._lock:
            self._queued.append(Answer(status, body, headers))

    def hold(self) -> None:
        """Hold every answer until ``release.set()`` (a peer too slow for the timeout)."""
        self.release.clear()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(
                    Request(
                        "POST",
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                receiver.release.wait(10)
                with receiver._lock:
                    answer = receiver._queued.popleft() if receiver._queued else Answer(200, b"ok")
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name.replace("_", "-"), value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test): nobody to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = int(self._server.server_address[1])
        if self.tls:
            self._server.socket = _server_tls().wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; the port is kept, so ``start()`` comes back on it."""
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _server_tls() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERTS / "server.pem", CERTS / "server.key")
    return context


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Controller(Controller):
    """aiosmtpd's Controller on a port the OS picks (it needs the port to trigger itself)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Mailbox:
    """An SMTP server on 127.0.0.1 keeping what it accepts.

    ``tls`` offers STARTTLS with the test certificate and requires it;
    ``login`` (user, password) requires AUTH; ``refuse_rcpt`` answers every
    RCPT TO with that reply (e.g. ``"550 5.1.1 no such user"``).
    """

    def __init__(
        self,
        *,
        tls: bool = False,
        login: tuple[str, str] | None = None,
        refuse_rcpt: str | None = None,
    ) -> None:
        self.messages: list[Mail] = []
        self._login = login
        self._refuse_rcpt = refuse_rcpt
        kwargs: dict[str, Any] = {}
        if tls:
            kwargs.update(tls_context=_server_tls(), require_starttls=True)
        if login is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        self._controller = _Controller(self, hostname="127.0.0.1", port=0, **kwargs)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if self._refuse_rcpt is not None:
            return self._refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def _authenticate(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self._login is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self._login
        )
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535
