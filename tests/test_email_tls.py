"""Weekly-report mail over TLS against a loopback aiosmtpd whose certificate a private CA, made in
the test, signed: smtps:// (TLS from the first byte) and STARTTLS. The certificate is verified
against ANALYTICS_SMTP_CA_FILE; without it (the system's CA store) or under a host name the
certificate does not name, nothing is sent."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from analytics_mcp.config import Settings
from analytics_mcp.reports.smtp import SmtpTarget, send
from smtp_server import Tls, smtp_server

# Certificates are valid from a fixed day for 100 years, so no test depends on today's date.
VALID_FROM = datetime(2026, 1, 1, tzinfo=UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, issuer: str, public: ec.EllipticCurvePublicKey, signer: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_FROM + timedelta(days=36500))
    )


def _pem(path: Path, *blobs: bytes) -> Path:
    path.write_bytes(b"".join(blobs))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """(the private CA's PEM file, a server context whose certificate names only 127.0.0.1)."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        _certificate("Test mail CA", "Test mail CA", ca_key.public_key(), ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(*[False] * 5, True, True, False, False), critical=True)  # cert+CRL sign
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        _certificate("127.0.0.1", "Test mail CA", server_key.public_key(), ca_key)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(
        _pem(folder / "server.pem", server.public_bytes(pem)), _pem(folder / "key.pem", key_pem)
    )
    return _pem(folder / "ca.pem", ca.public_bytes(pem)), context


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "reports@analytics.test", "owner@acme.test", "Weekly"
    message.set_content("Visitors: 12")
    return message


@pytest.mark.parametrize(
    ("tls", "query"), [("smtps", ""), ("starttls", "?starttls=always"), ("starttls", "")]
)
def test_sent_over_tls_verified_against_the_configured_ca(
    pki: tuple[Path, ssl.SSLContext], tls: Tls, query: str
) -> None:
    ca_file, context = pki
    with smtp_server(tls=tls, context=context) as box:
        settings = Settings(smtp_url=box.url + query, smtp_ca_file=ca_file)
        target = SmtpTarget.from_settings(settings)
        assert (target.security, target.ca_file) == (
            "tls" if tls == "smtps" else "always" if query else "auto",
            ca_file,
        )
        send(target, _message(), timeout=10)
    assert box.recipients == [["owner@acme.test"]]
    assert box.messages[0].get_content().strip() == "Visitors: 12"


@pytest.mark.parametrize("tls", ["smtps", "starttls"])
def test_an_unverifiable_certificate_sends_nothing(pki: tuple[Path, ssl.SSLContext], tls: Tls) -> None:
    ca_file, context = pki
    with smtp_server(tls=tls, context=context) as box:
        system_store = SmtpTarget.parse(box.url)  # the private CA is not in the system's store
        wrong_host = SmtpTarget.parse(box.url.replace("127.0.0.1", "localhost"))  # not in the certificate
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
            send(system_store, _message(), timeout=10)
        with pytest.raises(ssl.SSLCertVerificationError, match="match"):
            send(SmtpTarget(**{**wrong_host.__dict__, "ca_file": ca_file}), _message(), timeout=10)
    assert box.messages == []
