"""The chat's tool-use loop end to end: the real `anthropic` client against the scripted fake
Messages API on loopback, the real app, the real MCP tools on ingested data."""

# ruff: noqa: F811  (the fixtures imported from chat_support are redefined as parameters)
from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx2
from starlette.applications import Starlette

from analytics_mcp.tools import TOOL_NAMES
from chat_support import (  # noqa: F401  (fixtures)
    API_KEY,
    QUESTION,
    RIVAL_MARKERS,
    ask,
    fake,
    names,
    parse_sse,
    request_rows,
    seed,
    services_of,
    settings,
    tool_results_sent,
)
from factories import make_token
from fake_anthropic import FakeAnthropic, ToolCall, Turn, last_tool_result


async def rest_pages(client: httpx2.AsyncClient, token: str, site: str) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"}
    response = await client.get("/api/v1/stats/pages", params={"period": "7d", "site": site}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_tool_use_then_answer_carries_the_engines_numbers(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    arguments = {"tenant": "acme", "period": "7d", "domain": "acme.test"}
    fake.push(
        Turn(text=["Let me ", "check."], tools=[ToolCall("top-pages", arguments)], input_tokens=100),
        lambda request: Turn(
            text=["Top: ", last_tool_result(request)[:10]], input_tokens=300, output_tokens=15
        ),
    )
    response = await ask(client, token)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert names(events) == [
        "conversation",
        "text",
        "text",
        "tool_call",
        "tool_result",
        "text",
        "text",
        "done",
    ]
    assert [e.data["delta"] for e in events if e.name == "text"][:2] == ["Let me ", "check."]
    call, result, done = events[3].data, events[4].data, events[7].data
    assert call["name"] == "top-pages" and call["arguments"] == arguments
    assert result["id"] == call["id"] and result["name"] == "top-pages" and result["is_error"] is False
    assert done == {"usage": {"input_tokens": 400, "output_tokens": 25}, "tool_calls": 1}

    # The structured data the client gets and the text the model gets are the REST API's numbers.
    rest = await rest_pages(client, token, "acme.test")
    assert [r["pathname"] for r in rest] == ["/", "/pricing", "/docs"]
    assert result["data"]["rows"] == rest
    sent = tool_results_sent(fake.requests[1])
    assert len(sent) == 1 and sent[0]["tool_use_id"] == call["id"] and not sent[0].get("is_error")
    for row in rest:
        assert f"{row['pathname']} | {row['visitors']} | {row['pageviews']} |" in sent[0]["content"]


async def test_the_model_gets_tools_prompt_and_key_as_the_api_expects(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    fake.push(Turn(text="Hello."))
    before = datetime.now(UTC)
    events = parse_sse((await ask(client, token, site="www.Shop.acme.test")).text)
    after = datetime.now(UTC)
    assert names(events) == ["conversation", "text", "done"]

    body, headers = fake.requests[0], fake.headers[0]
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert body["stream"] is True and body["model"] == "claude-test-model"
    assert [tool["name"] for tool in body["tools"]] == list(TOOL_NAMES)
    assert all(tool["description"] and tool["input_schema"]["type"] == "object" for tool in body["tools"])
    system = body["system"][0]["text"]
    # acme's time zone is UTC; the date is the server's at the request (which may cross midnight).
    assert any(f"Today is {moment.date().isoformat()} ({moment:%A})" in system for moment in (before, after))
    assert "acme.test (UTC, EUR)" in system and "shop.acme.test (UTC, USD)" in system
    assert "looking at the site shop.acme.test" in system
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]


async def test_another_tenants_slug_still_reads_the_callers_tenant(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    fake.push(
        Turn(
            tools=[
                ToolCall("list-sites", {"tenant": "rival"}),
                ToolCall("top-pages", {"tenant": "rival", "period": "7d"}),
                ToolCall("analytics-overview", {}),  # no tenant at all
            ]
        ),
        Turn(text="Done."),
    )
    response = await ask(client, token)
    events = parse_sse(response.text)
    calls = [e.data for e in events if e.name == "tool_call"]
    results = [e.data for e in events if e.name == "tool_result"]
    assert [c["arguments"]["tenant"] for c in calls] == ["acme", "acme", "acme"]
    assert not any(r["is_error"] for r in results)
    assert results[0]["data"]["tenant"] == "acme"
    assert [s["domain"] for s in results[0]["data"]["sites"]] == ["acme.test", "shop.acme.test"]
    assert {r["pathname"] for r in results[1]["data"]["rows"]} == {"/", "/pricing", "/docs", "/cart"}
    assert results[2]["data"]["visitors"] == 4

    # What went back to the model is pinned too: its own tool_use blocks say "acme" now.
    history = fake.requests[1]["messages"]
    assert [b["input"]["tenant"] for b in history[1]["content"] if b["type"] == "tool_use"] == ["acme"] * 3
    everything = response.text + json.dumps(fake.requests)
    for marker in RIVAL_MARKERS:
        assert marker not in everything


async def test_another_tenants_domain_looks_like_an_unknown_one(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    fake.push(
        Turn(
            tools=[
                ToolCall("top-pages", {"domain": "rival-secret.test"}),
                ToolCall("top-pages", {"domain": "x.test"}),
            ]
        ),
        Turn(text="Sorry."),
    )
    events = parse_sse((await ask(client, token)).text)
    rival, unknown = [e.data for e in events if e.name == "tool_result"]
    assert rival["is_error"] and unknown["is_error"]
    assert (
        rival["data"]["message"]
        == unknown["data"]["message"]
        == "Error executing tool top-pages: domain: not found; call list-sites for this tenant's domains"
    )
    assert "/rival-only-page" not in json.dumps(fake.requests)


async def test_an_endless_tool_loop_ends_with_a_clear_error(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    fake.push(lambda _request: Turn(tools=[ToolCall("analytics-overview", {"tenant": "acme"})]))
    fake.repeat = True
    events = parse_sse((await ask(client, token)).text)

    assert names(events) == ["conversation", *["tool_call", "tool_result"] * 8, "error"]
    assert "more than 8 tool calls" in events[-1].data["message"]
    assert len(fake.requests) == 9
    [row] = request_rows(app)
    assert (row["status"], row["error_kind"], row["tool_calls"]) == ("error", "tool_limit", 8)
    assert row["credits"] == 1


async def test_a_resumed_conversation_sends_the_previous_turns(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    fake.push(
        Turn(text="Checking.", tools=[ToolCall("top-pages", {"tenant": "nope", "period": "7d"})]),
        Turn(text="The top page is /."),
        Turn(text="It had 3 visitors."),
    )
    first = parse_sse((await ask(client, token)).text)
    conversation_id = first[0].data["conversation_id"]
    second = parse_sse((await ask(client, token, "And its visitors?", conversation_id=conversation_id)).text)

    assert names(second) == ["conversation", "text", "done"]
    assert second[0].data == {"conversation_id": conversation_id}
    previous = fake.requests[1]["messages"]  # question, tool_use, tool_result
    sent = fake.requests[2]["messages"]
    assert sent[:3] == previous
    assert sent[3] == {"role": "assistant", "content": [{"type": "text", "text": "The top page is /."}]}
    assert sent[4] == {"role": "user", "content": [{"type": "text", "text": "And its visitors?"}]}
    assert sent[1]["content"][1]["input"]["tenant"] == "acme"  # stored as it ran
    assert [row["conversation_id"] for row in request_rows(app)] == [conversation_id] * 2


async def test_a_conversation_belongs_to_its_caller(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    fake.push(Turn(text="Hi."))
    conversation_id = parse_sse((await ask(client, token)).text)[0].data["conversation_id"]

    other_user = make_token(services_of(app), "acme")
    rival = make_token(services_of(app), "rival")
    for caller in (other_user, rival):
        response = await ask(client, caller, conversation_id=conversation_id)
        assert response.status_code == 404 and response.json() == {
            "message": "Conversation not found.",
            "code": "not_found",
        }
    assert len(fake.requests) == 1
