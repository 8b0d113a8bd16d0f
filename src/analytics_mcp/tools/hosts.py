"""Exact Host and Origin checks for /mcp/analytics (DNS-rebinding protection).

The SDK's own check compares prefixes: with `127.0.0.1:*` allowed it lets in
`Host: 127.0.0.1:18106.evil.example`. Here every value is parsed before it is compared: a Host
into (name, port), an Origin into (scheme, name, port), with nothing else allowed around them (no
path, no user info, no second colon). Names compare case-insensitively; a port is 1-5 ASCII digits
and must equal the pattern's, except that a pattern's `:*` takes any port or none. A request
without Origin (not from a browser) passes; a Host that does not parse never does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ANY_PORT = "*"
_AUTHORITY = re.compile(r"(?P<name>\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(?P<port>[0-9]{1,5}|\*))?")
_ORIGIN = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<authority>[^/?#@\\]+)")


@dataclass(frozen=True, slots=True)
class Address:
    scheme: str | None  # None for a Host header
    name: str
    port: str | None  # None: no port given; "*" only in patterns

    def allows(self, other: Address) -> bool:
        """Whether this pattern admits `other` (a parsed request value)."""
        if (self.scheme, self.name) != (other.scheme, other.name):
            return False
        return self.port == ANY_PORT or self.port == other.port


def parse_host(value: str, *, pattern: bool = False) -> Address | None:
    """`name[:port]` as sent in a Host header (or an allow-list entry); None if malformed."""
    match = _AUTHORITY.fullmatch(value.strip().lower() if pattern else value.lower())
    if match is None:
        return None
    port = match["port"]
    if port is not None and port != ANY_PORT and int(port) > 65535:
        return None
    if port == ANY_PORT and not pattern:
        return None
    return Address(None, match["name"], port)


def parse_origin(value: str, *, pattern: bool = False) -> Address | None:
    """`scheme://name[:port]` as sent in an Origin header (or an allow-list entry)."""
    match = _ORIGIN.fullmatch(value.strip().lower() if pattern else value.lower())
    host = parse_host(match["authority"], pattern=pattern) if match else None
    if match is None or host is None:
        return None
    return Address(match["scheme"], host.name, host.port)


def _patterns(values: Iterable[str], parse: Callable[..., Address | None]) -> list[Address]:
    """An allow-list, parsed once; a malformed entry stops the server with its value named."""
    out: list[Address] = []
    for value in values:
        parsed = parse(value, pattern=True)
        if parsed is None:
            raise ValueError(f"allowed hosts/origins: {value!r} is not a valid pattern")
        out.append(parsed)
    return out


class HostOriginGuard:
    """ASGI wrapper: 421 for a Host not on the allow-list, 403 for a foreign Origin."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.hosts = _patterns(allowed_hosts, parse_host)
        self.origins = _patterns(allowed_origins, parse_origin)

    def host_ok(self, value: str | None) -> bool:
        host = parse_host(value) if value else None
        return host is not None and any(p.allows(host) for p in self.hosts)

    def origin_ok(self, value: str | None) -> bool:
        if value is None:
            return True
        origin = parse_origin(value)
        return origin is not None and any(p.allows(origin) for p in self.origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            if not self.host_ok(headers.get("host")):
                return await PlainTextResponse("Invalid Host header", 421)(scope, receive, send)
            if not self.origin_ok(headers.get("origin")):
                return await PlainTextResponse("Invalid Origin header", 403)(scope, receive, send)
        await self.app(scope, receive, send)
