"""Sending mail through ANALYTICS_SMTP_URL (standard library smtplib, in a worker thread).

    smtp://user:pass@host:587                  STARTTLS when the server offers it
    smtp://user:pass@host:587?starttls=always  STARTTLS or nothing is sent
    smtp://host:25?starttls=never              plain (a relay on the same machine)
    smtps://user:pass@host:465                 TLS from the first byte

User and password are URL-decoded (a '@' in a password is %40). Certificates are always verified:
against the system's CA store, or only against ANALYTICS_SMTP_CA_FILE (a PEM bundle) when a
private CA signed the mail server's certificate.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, replace
from email.message import EmailMessage
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from analytics_mcp.config import Settings
from analytics_mcp.field_error import FieldError

SETTING = "ANALYTICS_SMTP_URL"
Security = Literal["tls", "always", "auto", "never"]
STARTTLS = ("always", "auto", "never")
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    security: Security
    ca_file: Path | None = None  # trusted instead of the system's CA store

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTarget:
        """ANALYTICS_SMTP_URL with the CA bundle of ANALYTICS_SMTP_CA_FILE, if any."""
        return replace(cls.parse(settings.smtp_url or ""), ca_file=settings.smtp_ca_file)

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise FieldError(SETTING, "must be smtp://[user:pass@]host[:port] or smtps://...") from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise FieldError(SETTING, "must be smtp://[user:pass@]host[:port] or smtps://...")
        starttls = parse_qs(parts.query).get("starttls", ["auto"])[0]
        if parts.scheme == "smtp" and starttls not in STARTTLS:
            raise FieldError(SETTING, "starttls must be always, auto or never")
        security: Security = "tls" if parts.scheme == "smtps" else starttls  # type: ignore[assignment]
        return cls(
            host=parts.hostname,
            port=port or (465 if security == "tls" else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            security=security,
        )


def _connect(target: SmtpTarget, timeout: float) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=target.ca_file)  # verifies chain and host name
    if target.security == "tls":
        return smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    client = smtplib.SMTP(target.host, target.port, timeout=timeout)
    client.ehlo()
    if target.security == "always" or (target.security == "auto" and client.has_extn("starttls")):
        client.starttls(context=context)
        client.ehlo()
    return client


def send(target: SmtpTarget, message: EmailMessage, timeout: float = TIMEOUT_S) -> None:
    """Deliver one message; any refusal or network failure raises (smtplib.SMTPException, OSError)."""
    with _connect(target, timeout) as client:
        if target.username:
            client.login(target.username, target.password or "")
        client.send_message(message)
