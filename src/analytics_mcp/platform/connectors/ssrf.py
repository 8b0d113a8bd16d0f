"""Outbound HTTP for connectors that cannot be turned against the server's own network (SSRF).

Rules: only http and https; no user name or password in the URL; the host is resolved here and
every address it resolves to must be globally routable (no loopback, private, link-local - the
cloud metadata address 169.254.169.254 is link-local -, shared, multicast or reserved ranges),
unless ANALYTICS_ALLOW_PRIVATE_WEBHOOKS=true. The request then goes to the checked address itself
(the Host header and TLS server name stay the URL's host), so a second DNS answer cannot swap in
another address between the check and the connection (DNS rebinding). Redirects are not followed
and proxies from the environment are not used: both would send the request elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

import anyio
import httpx2

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")


class OutboundRefused(Exception):
    """A target the server will not send to; the message says which rule it broke."""


@dataclass(frozen=True, slots=True)
class Target:
    url: SplitResult
    host: str  # as written in the URL (lower case, no brackets)
    port: int


def parse_target(url: str) -> Target:
    """The URL's parts, refusing other schemes and credentials in the URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise OutboundRefused("only http and https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("credentials in the URL are not allowed (use the connector's secret)")
    if not parts.hostname:
        raise OutboundRefused("the URL has no host")
    return Target(parts, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def blocked_reason(address: IpAddress) -> str | None:
    """Why this address may not be reached (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return blocked_reason(address.ipv4_mapped)
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (cloud metadata)"
    if address.is_private:
        return "private"
    if not address.is_global or address.is_multicast:
        return "not publicly routable"
    return None


async def resolve(host: str, port: int) -> list[IpAddress]:
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundRefused(f"{host} does not resolve: {exc}") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def checked_address(target: Target, allow_private: bool) -> IpAddress:
    """The address to connect to: every address of the host is checked, the first is used."""
    addresses = await resolve(target.host, target.port)
    if not addresses:
        raise OutboundRefused(f"{target.host} does not resolve")
    if not allow_private:
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None:
                raise OutboundRefused(
                    f"{target.host} resolves to {address}, a {reason} address "
                    "(set ANALYTICS_ALLOW_PRIVATE_WEBHOOKS=true to allow)"
                )
    return addresses[0]


def _pinned_url(target: Target, address: IpAddress) -> str:
    literal = f"[{address}]" if address.version == 6 else str(address)
    return urlunsplit(target.url._replace(netloc=f"{literal}:{target.port}"))


class SafeClient:
    """POSTs to checked addresses only; one per sync run (`async with SafeClient(...)`)."""

    def __init__(self, *, allow_private: bool, timeout_s: float) -> None:
        self.allow_private = allow_private
        self._http = httpx2.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False)

    async def __aenter__(self) -> SafeClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._http.aclose()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> httpx2.Response:
        target = parse_target(url)
        address = await checked_address(target, self.allow_private)
        host_header = target.url.netloc.rpartition("@")[2]
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        return await self._http.post(
            _pinned_url(target, address),
            content=body,
            headers={**headers, "Host": host_header},
            extensions=extensions,
        )
