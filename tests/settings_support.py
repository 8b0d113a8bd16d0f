"""Shared by the settings and share-link tests: a tenant with two sites and an owner, another
tenant with a site, a goal, a token, a user and a share link of its own (what an admin must never
reach), and helpers that sign in and post settings forms with the session's CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.share_links import create_share_link
from factories import make_site, make_token
from test_dashboard_auth import EMAIL, PASSWORD, owner

__all__ = ["EMAIL", "PASSWORD", "owner"]  # the signed-in owner of test_dashboard_auth

FORM_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SETTINGS = "/dashboard/settings"


@dataclass(frozen=True)
class Stranger:
    """The other tenant's objects, by the ids an admin form would post."""

    goal: str
    token: str
    user: str
    share: str
    share_secret: str
    domain: str = "other.test"


@pytest.fixture
def stranger(app: Starlette, owner: accounts.User) -> Stranger:
    services: Services = app.state.services
    make_site(services, slug="other", domain="other.test")
    make_token(services, slug="other")
    with services.db.sync.begin() as conn:
        goal = accounts.add_goal(conn, "other.test", "Theirs", path="/x")
        user = accounts.create_user(conn, "them@other.test", "other", PASSWORD, "viewer")
        tenant = accounts.get_tenant(conn, "other")
        assert tenant is not None
        token = accounts.list_tokens(conn, "other")[0]
        link, secret = create_share_link(conn, tenant.id, "other.test", "Theirs")
    return Stranger(goal=goal.id, token=token.id, user=str(user.id), share=link.id, share_secret=secret)


async def sign_in(client: httpx2.AsyncClient, email: str = EMAIL, password: str = PASSWORD) -> None:
    page = await client.get("/login")
    match = FORM_CSRF.search(page.text)
    assert match is not None
    response = await client.post(
        "/login", data={"email": email, "password": password, "csrf": match.group(1)}
    )
    assert response.status_code == 303, response.text


async def settings_csrf(client: httpx2.AsyncClient, section: str = "sites") -> str:
    page = await client.get(f"{SETTINGS}/{section}")
    assert page.status_code == 200, page.text
    match = FORM_CSRF.search(page.text)
    assert match is not None
    return match.group(1)


async def post(client: httpx2.AsyncClient, path: str, data: dict[str, str | list[str]]) -> httpx2.Response:
    """A settings form posted as the signed-in user's browser would, with the page's CSRF token."""
    token = await settings_csrf(client)
    return await client.post(f"{SETTINGS}/{path}", data={"csrf": token, **data})


def visible_text(html: str) -> str:
    """The page's text without tags and the per-request CSRF token: two answers compared equal."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", FORM_CSRF.sub("", html))).strip()
