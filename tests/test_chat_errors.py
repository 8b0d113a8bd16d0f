# ruff: noqa: F811  (the fixtures imported from chat_support are redefined as parameters)
"""How the chat fails: before the stream starts, an ordinary JSON error (401/403/404/422/429/503);
after it started, one `error` event with a generic message (no key, URL or provider detail)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.chat import Limits, usage
from analytics_mcp.chat.models import Actor
from analytics_mcp.chat.usage import open_request
from analytics_mcp.config import Settings
from analytics_mcp.storage.accounts import get_tenant
from chat_support import (  # noqa: F401  (fixtures)
    API_KEY,
    ask,
    fake,
    names,
    parse_sse,
    request_rows,
    seed,
    services_of,
    settings,
)
from factories import make_token
from fake_anthropic import FakeAnthropic, ToolCall, Turn
from servers import refusing_url

UPSTREAM_MESSAGE = "The AI service is not available right now. Please try again in a moment."
FAILURES = {
    "status 500": Turn(status=500),
    "status 529 (retryable)": Turn(status=529, retryable=True),
    "error frame": Turn(error_frame=True),
    "dropped connection": Turn(drop=True),
}


def assert_no_leak(body: str, fake: FakeAnthropic) -> None:
    for secret in (API_KEY, fake.base_url, "127.0.0.1", "fake upstream failure", "Overloaded", "Traceback"):
        assert secret not in body


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
async def test_an_upstream_failure_becomes_an_error_event(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic, failure: Turn
) -> None:
    token = seed(services_of(app))
    fake.push(failure, failure)  # a retryable failure is retried once (max_retries=1)
    response = await ask(client, token)
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert names(events) == ["conversation", "error"]
    assert events[-1].data == {"message": UPSTREAM_MESSAGE}
    assert_no_leak(response.text, fake)
    [row] = request_rows(app)
    assert (row["status"], row["error_kind"], row["credits"]) == ("error", "upstream", 0)


async def test_a_failure_after_a_tool_call_keeps_what_was_streamed(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    fake.push(Turn(text="Looking.", tools=[ToolCall("languages", {})]), Turn(drop=True))
    events = parse_sse((await ask(client, token)).text)
    assert names(events) == ["conversation", "text", "tool_call", "tool_result", "error"]
    [row] = request_rows(app)
    assert (row["tool_calls"], row["tools"], row["input_tokens"]) == (1, "languages", 25)


async def test_an_unreachable_model_api_is_an_error_event(app: Starlette, client: httpx2.AsyncClient) -> None:
    token = seed(services_of(app))
    with refusing_url() as nowhere:
        services_of(app).settings.anthropic_base_url = nowhere
        events = parse_sse((await ask(client, token)).text)
    assert names(events) == ["conversation", "error"] and events[1].data["message"] == UPSTREAM_MESSAGE


async def test_a_slow_answer_ends_at_the_deadline(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    app.state.chat_limits = Limits(deadline_s=0.3)
    fake.push(Turn(text="Late.", delay=1.0))
    events = parse_sse((await ask(client, token)).text)
    assert names(events) == ["conversation", "error"]
    assert "took too long" in events[1].data["message"]
    assert request_rows(app)[0]["error_kind"] == "timeout"


@pytest.fixture
def unconfigured(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="test-secret", _env_file=None)  # type: ignore[call-arg]


async def test_without_a_key_the_chat_says_how_to_enable_it(unconfigured: Settings, tmp_path: Path) -> None:
    from analytics_mcp.app import create_app
    from conftest import hold_lifespan

    app = create_app(unconfigured)
    stop, task = await hold_lifespan(app)
    try:
        token = seed(services_of(app))
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await ask(client, token)
            headers = {"Authorization": f"Bearer {token}"}
            status = (await client.get("/api/v1/chat/status", headers=headers)).json()["data"]
            stats = await client.get("/api/v1/stats/overview", headers=headers)
    finally:
        stop.set()
        await task
    assert response.status_code == 503
    message = response.json()["message"]
    assert "ANTHROPIC_API_KEY" in message and "ANTHROPIC_MODEL" in message and "ANTHROPIC_BASE_URL" in message
    assert status["enabled"] is False and status["reason"] == message and status["model"] is None
    assert stats.status_code == 200  # the rest of the API works
    assert request_rows(app) == []


async def test_a_plan_below_pro_is_refused(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app), plan="starter")
    response = await ask(client, token)
    assert response.status_code == 403 and response.json()["code"] == "plan_required"
    assert (
        response.json()["message"]
        == "The AI chat needs the pro plan or above; this account is on the starter plan."
    )
    status = (await client.get("/api/v1/chat/status", headers={"Authorization": f"Bearer {token}"})).json()
    assert status["data"]["enabled"] is False and "pro plan" in status["data"]["reason"]
    assert fake.requests == [] and request_rows(app) == []


BAD_BODIES = {
    "empty message": ({"message": ""}, "message"),
    "blank message": ({"message": "  \n "}, "message"),
    "long message": ({"message": "x" * 4001}, "message"),
    "no message": ({}, "message"),
    "message not a string": ({"message": 42}, "message"),
}


@pytest.mark.parametrize(("body", "field"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bad_requests_are_422_naming_the_field(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic, body: dict[str, object], field: str
) -> None:
    token = seed(services_of(app))
    headers = {"Authorization": f"Bearer {token}"}
    response = await client.post("/api/v1/chat", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]
    assert fake.requests == [] and request_rows(app) == []


async def test_another_tenants_site_reads_like_an_unknown_one(
    app: Starlette, client: httpx2.AsyncClient
) -> None:
    token = seed(services_of(app))
    rival = await ask(client, token, site="rival-secret.test")
    unknown = await ask(client, token, site="nope.test")
    assert rival.status_code == unknown.status_code == 404
    assert rival.json() == unknown.json() == {"message": "Site not found.", "code": "not_found"}
    assert request_rows(app) == []  # refused before a credit is spent


async def test_authentication_and_scope(app: Starlette, client: httpx2.AsyncClient) -> None:
    seed(services_of(app))
    assert (await client.post("/api/v1/chat", json={"message": "hi"})).status_code == 401
    assert (await ask(client, "not-a-token")).status_code == 401
    ingest_only = make_token(services_of(app), "acme", scopes=("ingest",))
    assert (await ask(client, ingest_only)).status_code == 403
    assert (await client.get("/api/v1/chat")).status_code in (401, 405)


async def test_used_up_ai_credits_are_refused(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = datetime.now(UTC)
    monkeypatch.setattr(usage, "utcnow", lambda: moment)  # one credit month, even if one ends meanwhile
    token = seed(services_of(app), plan="pro")  # 100 credits a month
    with services_of(app).db.sync.begin() as conn:
        tenant = get_tenant(conn, "acme")
        assert tenant is not None
        for _ in range(99):
            open_request(conn, Actor(tenant), "m", None)
    fake.push(Turn(text="The last one."))
    assert names(parse_sse((await ask(client, token)).text))[-1] == "done"

    response = await ask(client, token)
    assert response.status_code == 429 and response.json()["code"] == "credits_exhausted"
    message = response.json()["message"]
    renews = date(moment.year + moment.month // 12, moment.month % 12 + 1, 1)
    assert message == (
        "This month's AI credits are used up (100 of 100 on the pro plan). "
        f"They renew on {renews.isoformat()}."
    )
    assert int(response.headers["retry-after"]) > 0
    status = (await client.get("/api/v1/chat/status", headers={"Authorization": f"Bearer {token}"})).json()
    assert status["data"]["credits"]["used"] == 100 and status["data"]["credits"]["limit"] == 100
    assert status["data"]["enabled"] is False and status["data"]["reason"] == message
    assert len(request_rows(app)) == 100 and len(fake.requests) == 1
    assert json.dumps(status)  # serialisable, documented shape
