"""The exact Host and Origin checks of /mcp/analytics (DNS-rebinding protection), with the default
allow-lists (loopback names, any port): look-alike values that a prefix match lets in get 421 (Host)
or 403 (Origin); real loopback values still get through."""

from __future__ import annotations

import re

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.tools.hosts import HostOriginGuard, parse_host, parse_origin
from factories import make_site, make_token

PATH = "/mcp/analytics"
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
JSON = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
GOOD_HOST = "127.0.0.1:18106"

BAD_HOSTS = [
    "127.0.0.1:18106.evil.example",  # the reported one: a prefix match takes it for a port
    "127.0.0.1:1.evil.example:80",
    "127.0.0.1:80@evil.example",
    "127.0.0.1:8000:9000",
    "127.0.0.1:",
    "127.0.0.1:abc",
    "127.0.0.1:99999",
    "127.0.0.1:8000/evil",
    "127.0.0.1.evil.example:8000",
    "localhost.evil.example",
    "localhost:8000.evil.example",
    "[::1]:80.evil.example",
    "evil.example",
]
BAD_ORIGINS = [
    "http://127.0.0.1:18106.evil.example",
    "http://127.0.0.1:8000@evil.example",
    "http://127.0.0.1:8000.evil.example:8000",
    "http://localhost.evil.example:8000",
    "http://localhost:8000/../evil",
    "https://127.0.0.1:8000",  # only http is on the list
    "http://127.0.0.1:*",
    "http://[::1]:80.evil.example",
    "https://evil.example",
    "null",
]


@pytest.fixture
def token(app: Starlette) -> str:
    make_site(app.state.services)
    return make_token(app.state.services)


async def post(app: Starlette, token: str, **headers: str) -> httpx2.Response:
    transport = httpx2.ASGITransport(app=app)
    auth = {"Authorization": f"Bearer {token}", **JSON}
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver", headers=auth) as http:
        return await http.post(PATH, json=LIST_TOOLS, headers=headers)


@pytest.mark.parametrize("host", BAD_HOSTS)
async def test_look_alike_hosts_get_421(app: Starlette, token: str, host: str) -> None:
    response = await post(app, token, Host=host)
    assert response.status_code == 421, host
    assert response.text == "Invalid Host header"


@pytest.mark.parametrize("origin", BAD_ORIGINS)
async def test_look_alike_origins_get_403(app: Starlette, token: str, origin: str) -> None:
    response = await post(app, token, Host=GOOD_HOST, Origin=origin)
    assert response.status_code == 403, origin
    assert response.text == "Invalid Origin header"


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        (GOOD_HOST, None),
        (GOOD_HOST, "http://127.0.0.1:18106"),
        ("LOCALHOST:8000", "HTTP://LOCALHOST:3000"),  # names are case-insensitive
        ("localhost", "http://localhost"),  # ":*" also takes the default port
        ("[::1]:8000", "http://[::1]:8000"),
    ],
)
async def test_loopback_hosts_and_origins_pass(
    app: Starlette, token: str, host: str, origin: str | None
) -> None:
    headers = {"Host": host} | ({"Origin": origin} if origin else {})
    response = await post(app, token, **headers)
    assert response.status_code == 200, response.text


def test_ports_are_ascii_digits_and_patterns_are_exact() -> None:
    guard = HostOriginGuard(lambda *_: None, ["stats.example.com", "127.0.0.1:8000"], [])  # type: ignore[arg-type]
    assert guard.host_ok("stats.example.com") and guard.host_ok("127.0.0.1:8000")
    for host in ("stats.example.com:443", "127.0.0.1:8001", "127.0.0.1", "127.0.0.1:08000", None, ""):
        assert not guard.host_ok(host), host
    assert parse_host("127.0.0.1:\u0663\u0663") is None  # Arabic-Indic digits are digits to str.isdigit
    assert parse_host("127.0.0.1:*") is None  # a wildcard is for patterns only
    assert parse_origin("http://user@127.0.0.1:8000") is None
    assert not guard.origin_ok("")


def test_a_malformed_allow_list_entry_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match=re.escape("'http://stats.example.com' is not a valid pattern")):
        HostOriginGuard(lambda *_: None, ["http://stats.example.com"], [])  # type: ignore[arg-type]
