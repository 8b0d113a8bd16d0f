# ruff: noqa: F811  (the fixtures imported from chat_support are redefined as parameters)
"""The chat's small parts: argument pinning, result caps, history compaction, the system prompt,
SSE encoding and the credit month; plus the bounds as the model meets them."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import httpx2
from starlette.applications import Starlette

from analytics_mcp.chat import Actor, Limits
from analytics_mcp.chat.content_logs import CONTENT_LOGGERS, quiet_content_loggers
from analytics_mcp.chat.prompt import system_prompt
from analytics_mcp.chat.sse import Event, tool_result
from analytics_mcp.chat.store import compact, split_turns
from analytics_mcp.chat.toolbox import Toolbox, cap
from analytics_mcp.chat.usage import Credits
from analytics_mcp.storage.accounts import Site, Tenant
from analytics_mcp.storage.subscriptions import first_of_next_month
from chat_support import ask, fake, names, parse_sse, seed, services_of, settings  # noqa: F401
from fake_anthropic import FakeAnthropic, ToolCall, Turn

TENANT = Tenant(id=1, slug="acme", name="Acme", plan="business", timezone="Europe/Berlin")
SCHEMA = {"type": "object", "properties": {"tenant": {}, "domain": {}, "limit": {}, "period": {}}}


def toolbox(site: str | None = None) -> Toolbox:
    tools = [SimpleNamespace(name="top-pages", description="d", input_schema=SCHEMA)]
    no_domain = {"type": "object", "properties": {"tenant": {}}}
    tools.append(SimpleNamespace(name="list-sites", description="d", input_schema=no_domain))
    return Toolbox(None, tools, Actor(TENANT), site, Limits())  # type: ignore[arg-type]


def test_pin_overwrites_the_tenant_and_defaults_the_domain() -> None:
    box = toolbox(site="acme.test")
    assert box.pin("top-pages", {"tenant": "rival"}) == {"tenant": "acme", "domain": "acme.test"}
    assert box.pin("top-pages", {"domain": "shop.acme.test"})["domain"] == "shop.acme.test"
    assert box.pin("top-pages", {"limit": 100})["limit"] == 50
    assert box.pin("list-sites", {"tenant": "x"}) == {"tenant": "acme"}  # no domain argument there
    assert box.pin("top-pages", ["not", "an", "object"]) == {"tenant": "acme", "domain": "acme.test"}
    assert toolbox().pin("top-pages", {}) == {"tenant": "acme"}


def test_tool_definitions_are_listed_as_the_messages_api_wants() -> None:
    definitions = toolbox().definitions
    assert [d["name"] for d in definitions] == ["top-pages", "list-sites"]
    assert definitions[0] == {"name": "top-pages", "description": "d", "input_schema": SCHEMA}
    assert definitions[-1]["cache_control"] == {"type": "ephemeral"}


def test_cap_cuts_long_results_and_says_so() -> None:
    assert cap("short", 10) == "short"
    cut = cap("x" * 25, 10)
    assert cut.startswith("x" * 10 + "\n") and "cut 15 more characters" in cut


def question(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def tool_turn(text: str, result: str) -> list[dict[str, Any]]:
    use = {"type": "tool_use", "id": f"t-{text}", "name": "top-pages", "input": {}}
    return [
        question(text),
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t-{text}", "content": result}]},
        {"role": "assistant", "content": [{"type": "text", "text": f"answer {text}"}]},
    ]


def test_compaction_keeps_whole_recent_turns() -> None:
    history = [*tool_turn("a", "r" * 5000), *tool_turn("b", "r" * 5000), *tool_turn("c", "r" * 5000)]
    limits = Limits(history_chars=100_000, old_result_chars=100)
    kept = compact(history, limits)
    assert len(kept) == 12
    assert len(kept[2]["content"][0]["content"]) < 200  # the oldest turn's result was cut
    assert kept[6]["content"][0]["content"] == "r" * 5000 and kept[10]["content"][0]["content"] == "r" * 5000
    assert history[2]["content"][0]["content"] == "r" * 5000  # the input is left alone

    small = compact(history, Limits(history_chars=8_000, old_result_chars=100))
    assert [m["content"][0]["text"] for m in small if m["role"] == "user" and "text" in m["content"][0]] == [
        "c"
    ]
    # A history cut in the middle of a turn starts at the next question.
    assert split_turns(history[2:])[0][0] == question("b")


def test_the_system_prompt_has_the_date_sites_and_rules() -> None:
    sites = [Site(1, 1, "acme.test", "Europe/Berlin", "EUR")]
    now = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Berlin
    prompt = system_prompt(TENANT, sites, "acme.test", now)
    assert "Today is 2026-03-02 (Monday) in the account's time zone Europe/Berlin." in prompt
    assert "- acme.test (Europe/Berlin, EUR)" in prompt and '"acme"' in prompt
    assert "use domain acme.test" in prompt and "never guess or invent numbers" in prompt
    assert "looking at all sites" in system_prompt(TENANT, [], None, now)


def test_sse_events_encode_as_one_frame_each() -> None:
    assert Event("text", {"delta": "a\nb"}).encode() == b'event: text\ndata: {"delta":"a\\nb"}\n\n'
    failed = tool_result("t1", "goals", None, "bad domain")
    assert failed.data == {"id": "t1", "name": "goals", "is_error": True, "data": {"message": "bad domain"}}


def test_credits_and_the_month() -> None:
    assert Credits(used=99, limit=100, renews=date(2026, 1, 1), plan="pro", monthly=True).exhausted is False
    assert Credits(used=100, limit=100, renews=date(2026, 1, 1), plan="pro", monthly=True).exhausted is True
    assert Credits(used=10**6, limit=-1, renews=date(2026, 1, 1), plan="pro", monthly=True).exhausted is False
    assert first_of_next_month(date(2026, 12, 31)) == date(2027, 1, 1)
    assert first_of_next_month(date(2026, 2, 3)) == date(2026, 3, 1)


async def test_bounds_the_model_meets(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    app.state.chat_limits = Limits(max_result_chars=60)
    fake.push(
        Turn(tools=[ToolCall("top-pages", {"limit": 100}), ToolCall("drop-tables", {"tenant": "acme"})]),
        Turn(text="Fine."),
    )
    events = parse_sse((await ask(client, token)).text)
    assert names(events) == [
        "conversation",
        "tool_call",
        "tool_result",
        "tool_call",
        "tool_result",
        "text",
        "done",
    ]
    assert events[1].data["arguments"] == {"limit": 50, "tenant": "acme"}
    assert events[4].data["is_error"] and events[4].data["data"]["message"].startswith(
        "Unknown tool: drop-tables."
    )
    pages, unknown = fake.requests[1]["messages"][-1]["content"]
    assert pages["content"].startswith("top-pages - tenant acme") and "cut " in pages["content"]
    assert len(pages["content"]) < 200 and unknown["is_error"] is True


async def test_an_answer_cut_at_max_tokens_is_stored_as_valid_history(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    fake.push(Turn(text="Partial", tools=[ToolCall("top-pages", {"ten": "x"})], stop_reason="max_tokens"))
    first = parse_sse((await ask(client, token)).text)
    assert names(first) == ["conversation", "text", "done"]  # the cut-off tool call never ran
    fake.push(Turn(text="Again."))
    await ask(client, token, "Go on", conversation_id=first[0].data["conversation_id"])
    assert fake.requests[1]["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Partial"}],
    }


def test_content_loggers_are_quieted_at_start_up_unless_set() -> None:
    loggers = [logging.getLogger(name) for name in CONTENT_LOGGERS]
    before = [logger.level for logger in loggers]
    try:
        for logger in loggers:  # as a fresh process has them: importing the chat sets nothing
            logger.setLevel(logging.NOTSET)
        logging.getLogger("aiosqlite").setLevel(logging.DEBUG)  # an operator's choice is kept
        quiet_content_loggers()
        assert logging.getLogger("anthropic").level == logging.WARNING
        assert logging.getLogger("aiosqlite").level == logging.DEBUG
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)
