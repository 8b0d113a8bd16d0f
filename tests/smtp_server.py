"""A loopback SMTP server for the email report tests (aiosmtpd in its own thread): it requires
AUTH LOGIN/PLAIN with one user and keeps every message it accepts. With a server TLS context it
speaks TLS from the first byte (`smtps`) or offers and requires STARTTLS (`starttls`)."""

from __future__ import annotations

import email
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, SECRET = "reports", "p@ss word"
Tls = Literal["smtps", "starttls"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    port: int
    scheme: str = "smtp"
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{USER}:p%40ss%20word@127.0.0.1:{self.port}"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.messages.append(email.message_from_bytes(raw, policy=default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


def _authenticate(
    _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == SECRET.encode()
    return AuthResult(success=ok)


@contextmanager
def smtp_server(
    port: int | None = None, tls: Tls | None = None, context: ssl.SSLContext | None = None
) -> Iterator[Mailbox]:
    box = Mailbox(port or free_port(), "smtps" if tls == "smtps" else "smtp")
    if tls == "smtps":
        # aiosmtpd does not see implicit TLS as TLS for AUTH; the socket carries nothing else.
        options: dict[str, Any] = {"ssl_context": context, "auth_require_tls": False}
    elif tls == "starttls":
        options = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    else:
        options = {"auth_require_tls": False}
    controller = Controller(box, hostname="127.0.0.1", port=box.port, authenticator=_authenticate, **options)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
