"""All settings in one object, read from the environment (prefix ANALYTICS_)."""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
# Lists come from the environment as comma-separated text ("10.0.0.0/8,127.0.0.1"), or JSON.
CsvList = Annotated[list[str], NoDecode]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore")

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Where the SQLite file and other state live.")
    db_url: str | None = Field(
        None, description="Accounts database (SQLAlchemy URL); default: SQLite file in data_dir."
    )
    events_url: str | None = Field(
        None, description="Events database (events, visits, rollups); default: the accounts database."
    )
    host: str = "127.0.0.1"
    public_url: str | None = Field(
        None,
        description="The origin clients reach this server at (https://analytics.example.com), behind a "
        "proxy: names the MCP resource and the OAuth issuer. Default: http://host:port.",
    )
    port: int = Field(8000, ge=1, le=65535)
    trusted_proxies: CsvList = Field(
        default_factory=list, description="IPs/CIDRs whose X-Forwarded-For is believed."
    )
    secret_key: str | None = Field(None, description="Signs dashboard sessions; generated if unset.")
    allowed_hosts: CsvList = Field(
        default_factory=lambda: ["127.0.0.1:*", "localhost:*", "[::1]:*"],
        description="Host headers the MCP endpoint accepts (DNS-rebinding protection).",
    )
    allowed_origins: CsvList = Field(
        default_factory=lambda: ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )
    # Group commit: how long the writer waits to fill a batch, and its bounds.
    ingest_max_batch: int = Field(2000, ge=1)
    ingest_process: bool = Field(
        True, description="Write in a child process: ingestion and HTTP then use two cores."
    )
    chdb_writer: Literal["process", "thread"] = Field(
        "thread",
        description="With chdb:// events: store the spool in a writer process talking to this server's "
        "chDB over a loopback ClickHouse HTTP endpoint (127.0.0.1, a fresh credential each start), "
        "or in a thread of the server (one interpreter, one GIL).",
    )
    ingest_queue_limit: int = Field(50_000, ge=1, description="Pending events before 503.")
    ingest_spool_limit: int = Field(
        1_000_000, ge=1, description="Events spooled and not yet stored before 503 (the writer is behind)."
    )
    geoip_db: Path | None = Field(
        None,
        description="MaxMind GeoLite2/GeoIP2 Country or City file (.mmdb) for visitor countries; "
        "default: the IP-to-country database bundled with iptocc.",
    )
    rate_limit: str = Field("60/minute", description="Per-token limit on /api/v1 (limits syntax).")
    dashboard_rate_limit: str = Field(
        "600/minute", description="Per dashboard session limit on the routes its script reads."
    )
    rate_limit_storage: str = Field(
        "memory://", description="limits storage URL; redis://host:6379 shares limits across servers."
    )
    smtp_url: str | None = Field(
        None,
        description="Mail server for weekly reports: smtp://user:pass@host:587 (STARTTLS when offered; "
        "?starttls=always to insist) or smtps://user:pass@host:465 (TLS). Unset: no mail is sent.",
    )
    smtp_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA certificates that signed the mail server's certificate (a "
        "private CA); trusted instead of the system's CA store. Certificates are always verified.",
    )
    smtp_from: str = Field("analytics-mcp@localhost", description="From address of the report emails.")
    report_weekday: Weekday = Field("monday", description="Day the weekly email reports go out.")
    report_hour: int = Field(8, ge=0, le=23, description="Hour (the tenant's zone) they go out at.")
    segments_hour: int = Field(
        3, ge=0, le=23, description="Hour (the tenant's zone) segments are computed at each day."
    )
    allow_private_webhooks: bool = Field(
        False,
        description="Let activation connectors reach loopback, private and link-local addresses "
        "(tests, self-hosted receivers on the same network). Off: such targets are refused (SSRF).",
    )
    activation_timeout_s: float = Field(10.0, gt=0, description="Per request of a connector sync.")
    anthropic_model: str = Field("claude-sonnet-4-6", validation_alias="ANTHROPIC_MODEL")
    anthropic_api_key: str | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")

    @field_validator("trusted_proxies", "allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _origin_only(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://analytics.example.com")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError("must be an origin only: no path, query, fragment or user")
        return f"{parts.scheme}://{parts.netloc.lower()}"

    @property
    def base_url(self) -> str:
        """Where clients reach us, without a trailing slash: ANALYTICS_PUBLIC_URL, else the bind address."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        return f"http://{host}:{self.port}"

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'analytics.db').resolve()}"

    @property
    def events_database_url(self) -> str:
        """Where events, visits, goal completions and rollups live (storage/roles.py)."""
        return self.events_url or self.database_url

    @property
    def split_databases(self) -> bool:
        return self.events_database_url != self.database_url

    @cached_property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies)

    @cached_property
    def is_trusted_proxy(self) -> Callable[[str], bool]:
        """address -> inside a trusted proxy network. Every tracker request asks, about a
        different client address each time, so addresses are compared as integers from
        inet_pton (ipaddress objects cost more than the rest of the request's checks)."""
        ranges: dict[int, list[tuple[int, int]]] = {socket.AF_INET: [], socket.AF_INET6: []}
        for network in self.trusted_networks:
            family = socket.AF_INET if network.version == 4 else socket.AF_INET6
            ranges[family].append((int(network.network_address), int(network.broadcast_address)))

        def trusted(address: str) -> bool:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            if not ranges[family]:
                return False
            try:
                value = int.from_bytes(socket.inet_pton(family, address), "big")
            except OSError:
                return False
            return any(low <= value <= high for low, high in ranges[family])

        return trusted

    def session_secret(self) -> str:
        """The configured secret, else one kept in the data directory so sessions survive restarts."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
