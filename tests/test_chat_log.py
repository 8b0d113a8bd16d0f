# ruff: noqa: F811  (the fixtures imported from chat_support are redefined as parameters)
"""The chat request log (copilot analytics, AI credits) and the privacy rule: the question and the
answer are stored in the conversation, never written to server logs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx2
import orjson
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from analytics_mcp.storage.schema import chat_conversations, chat_messages
from analytics_mcp.timeutil import parse_iso
from chat_support import (  # noqa: F401  (fixtures)
    ANSWER,
    QUESTION,
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

pytestmark = pytest.mark.backends()


async def test_every_request_is_logged_without_its_text(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, the SDK's and the MCP server's loggers included
    token = seed(services_of(app))
    fake.push(
        Turn(
            tools=[ToolCall("top-pages", {}), ToolCall("languages", {})], input_tokens=120, output_tokens=30
        ),
        Turn(text=ANSWER, input_tokens=400, output_tokens=50),
    )
    before = datetime.now(UTC).replace(microsecond=0)  # the log keeps whole seconds
    events = parse_sse((await ask(client, token)).text)
    after = datetime.now(UTC)
    assert names(events)[-1] == "done"
    conversation_id = events[0].data["conversation_id"]

    [row] = request_rows(app)
    assert row["tenant_id"] == 1 and row["user_id"] is None and row["token_id"]
    assert row["conversation_id"] == conversation_id
    assert (row["status"], row["error_kind"]) == ("success", None)
    assert (row["tool_calls"], row["tools"]) == (2, "top-pages,languages")
    assert (row["input_tokens"], row["output_tokens"]) == (520, 80)
    assert 0 <= row["latency_ms"] < 60_000
    # Dated when the request came in (UTC): its day is that moment's, even across midnight.
    assert before <= parse_iso(row["created_at"]) <= after
    assert row["day"] == row["created_at"][:10]
    assert (row["model"], row["credits"]) == ("claude-test-model", 1)

    # The conversation keeps the text; the logs never saw it.
    with services_of(app).db.sync.connect() as conn:
        title = conn.execute(select(chat_conversations.c.title)).scalar_one()
        stored = [orjson.loads(c) for c in conn.execute(select(chat_messages.c.content)).scalars()]
    assert title == QUESTION
    assert stored[0] == [{"type": "text", "text": QUESTION}] and stored[-1] == [
        {"type": "text", "text": ANSWER}
    ]
    assert "chat request" in caplog.text  # the one metadata line per request
    for secret in (QUESTION, ANSWER, "zq-question-marker", "zq-answer-marker"):
        assert secret not in caplog.text


async def test_a_failed_request_is_logged_and_refunded(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = seed(services_of(app))
    fake.push(Turn(status=500))
    await ask(client, token)
    [row] = request_rows(app)
    assert (row["status"], row["error_kind"], row["credits"]) == ("error", "upstream", 0)
    assert "zq-question-marker" not in caplog.text
    status = (await client.get("/api/v1/chat/status", headers={"Authorization": f"Bearer {token}"})).json()
    assert status["data"]["credits"]["used"] == 0 and status["data"]["enabled"] is True
    assert status["data"]["model"] == "claude-test-model"
    assert status["data"]["credits"]["limit"] == 2000  # business plan


async def test_requests_are_logged_per_principal(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    first = seed(services_of(app))
    second = make_token(services_of(app), "acme")
    fake.push(Turn(text="One."), Turn(text="Two."))
    await ask(client, first)
    await ask(client, second)
    rows = request_rows(app)
    assert len({row["token_id"] for row in rows}) == 2
    assert len({row["conversation_id"] for row in rows}) == 2
