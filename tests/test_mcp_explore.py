"""Issue 16 item 4 with the official client over Streamable HTTP: `realtime` (current visitors at
a pinned now), `custom-events` and `breakdown`; their numbers equal the REST API's or the engine's
for the same question, their errors are one line, and no other tenant's data appears."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from analytics_mcp.services import Services
from conftest import pin_reports
from engine_support import add_site, ingest
from factories import make_token
from test_mcp_numbers import http_tools, settings
from test_realtime import EVENTS, NOW, RIVAL_EVENTS

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
