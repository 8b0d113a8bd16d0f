"""Helpers for the OAuth tests: a client registration, PKCE pairs, and the authorization code flow
driven over HTTP (a signed-in session cookie answering the consent form, as the browser would)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2

from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.sessions import create_session

CALLBACK = "http://127.0.0.1:1/callback"


def pkce() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@dataclass
class Registered:
    client_id: str
    client_secret: str

    def form(self, **fields: str) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret, **fields}


async def register(http: httpx2.AsyncClient, redirect: str = CALLBACK, **extra: Any) -> Registered:
    body = {"redirect_uris": [redirect], "client_name": "Test connector", **extra}
    response = await http.post("/register", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    return Registered(data["client_id"], data["client_secret"])


def sign_in(services: Services, http: httpx2.AsyncClient, email: str, role: str = "owner") -> None:
    """A dashboard session for a new user of tenant acme, as the sign-in page would make."""
    with services.db.sync.begin() as conn:
        user = accounts.create_user(conn, email, "acme", "a long enough password", role=role)
        http.cookies.set("amcp_session", create_session(conn, user))


async def consent_page(http: httpx2.AsyncClient, client: Registered, challenge: str, **params: str) -> str:
    """GET /authorize, then the consent page it redirects to; returns the page's HTML."""
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": CALLBACK,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "state-123",
        **params,
    }
    response = await http.get("/authorize", params=query)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith("/oauth/consent?request="), location
    page = await http.get(location)
    assert page.status_code == 200, page.text
    return page.text


def form_field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field in the page"
    return match.group(1)


async def answer(http: httpx2.AsyncClient, html: str, decision: str = "approve") -> dict[str, str]:
    """Submit the consent form; returns the query of the redirect to the client."""
    form = {"csrf": form_field(html, "csrf"), "request": form_field(html, "request"), "decision": decision}
    response = await http.post("/oauth/consent", data=form)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?"), location
    return query_of(location)


async def authorized_code(http: httpx2.AsyncClient, client: Registered, challenge: str, **params: str) -> str:
    answered = await answer(http, await consent_page(http, client, challenge, **params))
    assert answered["state"] == "state-123"
    return answered["code"]


async def exchange(http: httpx2.AsyncClient, client: Registered, code: str, verifier: str) -> httpx2.Response:
    form = client.form(
        grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=verifier
    )
    return await http.post("/token", data=form)
