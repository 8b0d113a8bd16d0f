"""Sign-in storms against a real server process (real argon2, real concurrency through uvicorn,
client addresses from a trusted proxy's X-Forwarded-For): how many attempts reach the password
check, counted from the answers (401 or a sign-in; 429 never reached it)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx2
import pytest

from reliability.scale import current, scale
from server_process import Install, server_process

pytestmark = pytest.mark.reliability
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
EMAIL, PASSWORD = "owner@acme.test", "correct horse battery staple"


async def attempt(base: str, email: str, password: str, ip: str) -> int:
    """One sign-in in a client of its own (its own form and CSRF cookie): the status."""
    headers = {"X-Forwarded-For": ip}
    async with httpx2.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        form = await client.get("/login")
        token = CSRF_FIELD.search(form.text)
        assert token is not None, form.text
        reply = await client.post("/login", data={"email": email, "password": password, "csrf": token[1]})
        return reply.status_code


async def storm(base: str, tries: list[tuple[str, str, str]]) -> list[int]:
    return list(await asyncio.gather(*(attempt(base, *one) for one in tries)))


def reached_check(statuses: list[int]) -> int:
    assert set(statuses) <= {303, 401, 429}, statuses
    return sum(status != 429 for status in statuses)


def test_concurrent_sign_in_storms_reach_the_password_check_within_the_limits(tmp_path: Path) -> None:
    install = Install.create(tmp_path, ANALYTICS_PASSWORD=PASSWORD)
    install.cli_each(("tenants", "create", "acme"), ("users", "create", EMAIL, "--tenant", "acme"))
    rounds = scale(fast=1, full=4)
    figures: dict[str, int] = {"attempts": 0, "reached_check": 0, "owner_signed_in": 0}
    with server_process(install.env) as (_proc, base):
        for round_ in range(rounds):
            attacker = f"198.51.100.{round_ + 1}"
            one_email = asyncio.run(storm(base, [(EMAIL, f"guess {n}", attacker) for n in range(30)]))
            assert reached_check(one_email) == 5, one_email  # per (email, address)
            spray: list[int] = []
            if current() == "full":  # 20 real argon2 checks; the fast suite has the in-process twin
                sprayer = f"203.0.113.{round_ + 1}"
                spray = asyncio.run(storm(base, [(f"u{n}@acme.test", "guess", sprayer) for n in range(40)]))
                assert reached_check(spray) == 20, spray  # per address
            owner = asyncio.run(storm(base, [(EMAIL, PASSWORD, f"192.0.2.{round_ + 1}")]))
            assert owner == [303]  # the attacker's lock-out never locks the owner out
            figures["attempts"] += len(one_email) + len(spray) + 1
            figures["reached_check"] += reached_check(one_email) + reached_check(spray) + 1
            figures["owner_signed_in"] += 1
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "reliability-login-storm.json").write_text(json.dumps(figures, indent=2))
    print(f"\nlogin storms: {figures}")
