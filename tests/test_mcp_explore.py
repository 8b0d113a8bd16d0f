"""Issue 16 item 4 with the official client over Streamable HTTP: `realtime` (current visitors at
a pinned now), `custom-events` and `breakdown`; their numbers equal the REST API's or the engine's
for the same question, their errors are one line, and no other tenant's data appears."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from analytics_mcp import engine
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from conftest import pin_reports
from engine_support import add_site, hit, ingest
from factories import make_token
from test_mcp_numbers import http_tools, settings
from test_realtime import EVENTS, NOW, RIVAL_EVENTS, ago

__all__ = ["settings"]  # the fixture: allowed host testserver

pytestmark = pytest.mark.backends("sqlite")
Json = dict[str, Any]


async def test_realtime_equals_the_rest_route(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    pin_reports(monkeypatch, NOW)
    services: Services = app.state.services
    add_site(services)
    add_site(services, "shop.test")
    add_site(services, "rival.test", slug="rival")
    ingest(services, [*EVENTS, *RIVAL_EVENTS])
    async with http_tools(app, make_token(services)) as (client, http):
        for arguments in ({}, {"limit": 1}, {"domain": "acme.test", "filters": "page==/pricing"}):
            result = await client.call_tool("realtime", arguments)
            assert not result.is_error, result
            answer = result.structured_content
            assert answer is not None
            params = {"site" if k == "domain" else k: v for k, v in arguments.items()}
            rest = (await http.get("/api/v1/stats/realtime", params=params)).json()["data"]
            assert {key: answer[key] for key in rest} == rest
            assert answer["tenant"] == "acme" and "current_visitors" in answer["definitions"]
            text = result.content[0].text  # type: ignore[union-attr]
            assert f"visitors {answer['visitors']:,}" in text and "rival" not in text
        assert answer["visitors"] == 1 and answer["sites"] == ["acme.test"]
        everyone = (await client.call_tool("realtime", {})).structured_content
        assert everyone is not None and everyone["visitors"] == 3
        assert everyone["sites"] == ["acme.test", "shop.test"]
        refused = await client.call_tool("realtime", {"period": "7d"})
        assert refused.is_error and "unknown argument 'period'" in refused.content[0].text  # type: ignore[union-attr]
        for arguments, message in (
            ({"domain": "nowhere.test"}, "domain: not found; call list-sites for this tenant's domains"),
            ({"limit": 0}, "limit: must be between 1 and 100"),
            ({"filters": "plan==pro"}, "filters: unknown dimension 'plan'"),
        ):
            text = (await client.call_tool("realtime", arguments)).content[0].text  # type: ignore[union-attr]
            assert text.startswith(f"Error executing tool realtime: {message}") and "\n" not in text, text


CUSTOM = [
    hit(ago(60), "/signup", who=1, name="Signup", props={"plan": "pro", "seats": 3}),
    hit(ago(61), "/signup", who=2, name="Signup", props={"plan": "pro", "seats": 5}),
    hit(ago(62), "/signup", who=3, name="Signup", props={"plan": "free"}),
    hit(ago(63), "/docs", who=3, name="Download"),
    hit(ago(64), "/docs", who=3, name="Download"),
    hit(ago(65), "/docs", who=4),
    hit(ago(66), "/x", who=9, domain="rival.test", name="Signup", props={"plan": "rival"}),
]


async def engine_answer(services: Services, fn: Any, *extra: Any, **arguments: Any) -> Json:
    with services.db.sync.connect() as conn:
        tenant = accounts.get_tenant(conn, "acme")
    assert tenant is not None
    query = await engine.query_for_tenant(services.db, tenant, **arguments)
    return dict((await fn(services.events_db, query, *extra)).model_dump(mode="json"))


async def test_custom_events_equal_the_engine(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    pin_reports(monkeypatch, NOW)
    services: Services = app.state.services
    add_site(services)
    add_site(services, "rival.test", slug="rival")
    ingest(services, CUSTOM)
    async with http_tools(app, make_token(services)) as (client, _http):
        listed = (await client.call_tool("custom-events", {})).structured_content
        assert listed is not None and listed["event"] is None
        assert [(r["name"], r["events"], r["visitors"]) for r in listed["rows"]] == [
            ("Signup", 3, 3),
            ("Download", 2, 1),
        ]
        assert listed["rows"] == (await engine_answer(services, engine.custom_events))["rows"]
        assert {"custom_events", "event_properties"} <= set(listed["definitions"])
        result = await client.call_tool("custom-events", {"event": "Signup", "limit": 1, "period": "30d"})
        answer = result.structured_content
        assert answer is not None and not result.is_error
        expected = await engine_answer(services, engine.event_properties, "Signup", period="30d", limit=1)
        assert answer["event"] == {k: v for k, v in expected.items() if k != "range"}
        assert answer["event"]["events_with_properties"] == 3 and answer["event"]["truncated"]
        assert answer["event"]["properties"] == [
            {"key": "plan", "events": 3, "values": [{"value": "pro", "events": 2}], "truncated": True}
        ]
        assert answer["truncated"] and len(answer["rows"]) == 1
        text = result.content[0].text  # type: ignore[union-attr]
        assert "plan (3 events): pro 2 ..." in text and "rival" not in str(result.model_dump())
        none = (await client.call_tool("custom-events", {"event": "Nope"})).structured_content
        assert none is not None and none["event"]["properties"] == []
        bad = await client.call_tool("custom-events", {"event": ""})
        assert bad.is_error and "event: must not be empty" in bad.content[0].text  # type: ignore[union-attr]
