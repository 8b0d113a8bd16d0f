# ruff: noqa: F811  (the fixtures imported from chat_support are redefined as parameters)
"""The chat for a signed-in dashboard user: the session cookie plus its CSRF token, conversations
owned by the user, the request log keyed by the user (not by a token)."""

from __future__ import annotations

import httpx2
from starlette.applications import Starlette

from analytics_mcp.dashboard.state import dashboard_state
from analytics_mcp.http_api import csrf
from analytics_mcp.http_api.auth import SESSION_COOKIE
from analytics_mcp.storage import accounts
from analytics_mcp.storage.sessions import create_session
from chat_support import ask, fake, names, parse_sse, request_rows, seed, services_of, settings  # noqa: F401
from fake_anthropic import FakeAnthropic, ToolCall, Turn


def sign_in(app: Starlette, email: str) -> dict[str, str]:
    """Cookie and CSRF headers of a fresh session for a new user of tenant acme."""
    with services_of(app).db.sync.begin() as conn:
        user = accounts.create_user(conn, email, "acme", "a long password")
        token = create_session(conn, user)
    return {
        "Cookie": f"{SESSION_COOKIE}={token}",
        csrf.HEADER: csrf.session_token(dashboard_state(app).secret, token),
    }


async def post(client: httpx2.AsyncClient, headers: dict[str, str], **body: object) -> httpx2.Response:
    return await client.post("/api/v1/chat", json={"message": "How many visitors?", **body}, headers=headers)


async def test_a_signed_in_user_chats_with_csrf(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    alice = sign_in(app, "alice@acme.test")
    fake.push(Turn(tools=[ToolCall("analytics-overview", {"tenant": "rival"})]), Turn(text="4 visitors."))

    without_csrf = await post(client, {"Cookie": alice["Cookie"]})
    assert without_csrf.status_code == 403 and "CSRF" in without_csrf.json()["message"]

    events = parse_sse((await post(client, alice)).text)
    assert names(events) == ["conversation", "tool_call", "tool_result", "text", "done"]
    assert events[1].data["arguments"]["tenant"] == "acme"
    assert events[2].data["is_error"] is False and events[2].data["data"]["visitors"] == 4
    [row] = request_rows(app)
    assert row["user_id"] is not None and row["token_id"] is None and row["status"] == "success"

    # The conversation is alice's: not another user's of the same tenant, not an API token's.
    conversation_id = events[0].data["conversation_id"]
    bob = sign_in(app, "bob@acme.test")
    assert (await post(client, bob, conversation_id=conversation_id)).status_code == 404
    assert (await ask(client, token, conversation_id=conversation_id)).status_code == 404
    fake.push(Turn(text="Still 4."))
    resumed = parse_sse((await post(client, alice, conversation_id=conversation_id)).text)
    assert names(resumed) == ["conversation", "text", "done"]
    assert len(fake.requests[-1]["messages"]) == 5


async def test_the_status_for_a_signed_in_user(app: Starlette, client: httpx2.AsyncClient) -> None:
    seed(services_of(app), plan="pro")
    headers = sign_in(app, "carol@acme.test")
    status = await client.get("/api/v1/chat/status", headers={"Cookie": headers["Cookie"]})  # GET: no CSRF
    assert status.status_code == 200
    assert status.json()["data"] == {
        "enabled": True,
        "reason": None,
        "model": "claude-test-model",
        "credits": {"used": 0, "limit": 100, "renews_on": status.json()["data"]["credits"]["renews_on"]},
    }
