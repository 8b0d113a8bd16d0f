"""Sign-in throttling under real concurrency: many sign-in POSTs at once (asyncio.gather through
the in-process ASGI app, one client per attempt with its own CSRF pair). What is counted is how
many attempts reach the password check; the limits are production's (5 per email and address,
20 per address, per 15 minutes)."""

from __future__ import annotations

import asyncio
import re
import time

import httpx2
import pytest
from sqlalchemy import Connection
from starlette.applications import Starlette

from analytics_mcp.http_api import sign_in
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from factories import make_site

EMAIL, PASSWORD = "owner@acme.test", "correct horse battery"
ATTACKER, OWNER_IP = "198.51.100.66", "203.0.113.7"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
ARGON2_SECONDS = 0.25  # what one check takes here; a wrong guess waits as long, without the CPU
pytestmark = pytest.mark.real_argon2  # the right password's check takes what ARGON2_SECONDS says


@pytest.fixture
def owner(app: Starlette) -> accounts.User:
    services: Services = app.state.services
    make_site(services)
    with services.db.sync.begin() as conn:
        return accounts.create_user(conn, EMAIL, "acme", PASSWORD)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password check, by email. The right password runs the real argon2 check; a wrong one
    sleeps as long as argon2 takes (the race is the same, the CPU is spared) and fails."""
    seen: list[str] = []
    real = sign_in.authenticate_user

    def counted(conn: Connection, email: str, password: str) -> accounts.User | None:
        seen.append(email)
        if password == PASSWORD:
            return real(conn, email, password)
        time.sleep(ARGON2_SECONDS)
        return None

    monkeypatch.setattr(sign_in, "authenticate_user", counted)
    return seen


async def attempt(app: Starlette, email: str, password: str, ip: str) -> int:
    """One sign-in from `ip` in a client of its own (its own form and CSRF cookie); the status."""
    transport = httpx2.ASGITransport(app=app, client=(ip, 50000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        form = await client.get("/login")
        token = CSRF_FIELD.search(form.text)
        assert token is not None
        data = {"email": email, "password": password, "csrf": token[1]}
        return (await client.post("/login", data=data)).status_code


async def at_once(app: Starlette, tries: list[tuple[str, str, str]]) -> list[int]:
    return list(await asyncio.gather(*(attempt(app, *one) for one in tries)))


async def test_concurrent_guesses_at_one_email_reach_the_check_at_most_5_times(
    app: Starlette, owner: accounts.User, checks: list[str]
) -> None:
    statuses = await at_once(app, [(EMAIL, f"guess {n}", ATTACKER) for n in range(30)])
    assert len(checks) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 25


async def test_concurrent_guesses_from_one_address_reach_the_check_at_most_20_times(
    app: Starlette, owner: accounts.User, checks: list[str]
) -> None:
    statuses = await at_once(app, [(f"user{n}@acme.test", "guess", ATTACKER) for n in range(40)])
    assert len(checks) == 20
    assert sorted(statuses) == [401] * 20 + [429] * 20


async def test_a_locked_out_attacker_does_not_lock_the_owner_out(
    app: Starlette, owner: accounts.User, checks: list[str]
) -> None:
    await at_once(app, [(EMAIL, f"guess {n}", ATTACKER) for n in range(30)])
    assert await attempt(app, EMAIL, PASSWORD, ATTACKER) == 429  # the right password, wrong address
    assert await attempt(app, EMAIL, PASSWORD, OWNER_IP) == 303
    assert checks.count(EMAIL) == 6  # 5 guesses and the owner's sign-in


async def test_signing_in_clears_the_count_of_that_email_and_address(
    app: Starlette, owner: accounts.User, checks: list[str]
) -> None:
    for _ in range(2):  # four typos, then the right password: twice, from one address
        assert await at_once(app, [(EMAIL, f"typo {n}", OWNER_IP) for n in range(4)]) == [401] * 4
        assert await attempt(app, EMAIL, PASSWORD, OWNER_IP) == 303
    assert len(checks) == 10
