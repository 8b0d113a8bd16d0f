"""Every tool on realistic data (the demo generator through the real ingestion): its structured
output validates against its outputSchema, its numbers equal the REST API's for the same question
(the engine's where no REST route exists), filtered questions (`filters`) included, and no other
tenant's data appears. The data and helpers are shared with test_mcp_readonly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, Tool
from starlette.applications import Starlette

from analytics_mcp import engine
from analytics_mcp.config import Settings
from analytics_mcp.demo import generate_events
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.tools import TOOL_NAMES
from conftest import pin_reports
from factories import event, make_site, make_token

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

URL = "http://testserver/mcp/analytics"
MARKERS = ("rival-secret.test", "Rival Corp", "rival")
Json = dict[str, Any]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        secret_key="test-secret",
        ingest_process=False,  # as conftest's: a writer process per app costs seconds of CPU
        allowed_hosts=["testserver"],
        allowed_origins=["http://testserver"],
        rate_limit="100000/minute",  # this test asks the REST API a few hundred questions
        _env_file=None,
    )


def seed(services: Services) -> str:
    """Tenant acme (two sites, goals, a USD shop) and tenant rival; returns acme's read token."""
    with services.db.sync.begin() as conn:
        accounts.create_tenant(conn, "acme", name="Acme", timezone="Europe/Berlin")
        accounts.create_tenant(conn, "rival", name="Rival Corp")
    make_site(services, "acme", "acme.test")
    make_site(services, "acme", "shop.acme.test", currency="USD")
    make_site(services, "rival", "rival-secret.test")
    with services.db.sync.begin() as conn:
        accounts.add_goal(conn, "acme.test", "Signup page", path="/signup")
        accounts.add_goal(conn, "acme.test", "Blog reader", path="/blog/*", match_type="wildcard")
        accounts.add_goal(conn, "acme.test", "Signup", event="Signup")
        accounts.add_goal(conn, "shop.acme.test", "Newsletter", event="Newsletter")
        accounts.add_goal(conn, "rival-secret.test", "Rival goal", event="Signup")
    end = datetime.now(UTC)
    for domain, days, visitors in (
        ("acme.test", 40, 8),
        ("shop.acme.test", 8, 6),
        ("rival-secret.test", 8, 6),
    ):
        events = generate_events(domain, days=days, end=end, daily_visitors=visitors)
        summary = ingest_events(services.ingestor, events)
        assert summary.accepted and not summary.errors, summary
    summary = ingest_events(services.ingestor, every_kind_of_event(end - timedelta(hours=2)))
    assert (summary.accepted, summary.errors) == (9, []), summary
    return make_token(services, "acme")


def every_kind_of_event(start: datetime) -> list[Json]:
    """A shopping visit from a campaign, a signup and a USD order: whatever the generator does,
    every tool has something to show in every period (24h included)."""

    def at(minutes: int, name: str, path: str, domain: str = "acme.test", **extra: Any) -> Json:
        when = (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return event(when, path, domain=domain, name=name, ip="198.51.100.77", **extra)

    item = {"item_id": "SKU-1", "item_name": "Test Mug", "price": 12.5, "quantity": 2}
    order = {"transaction_id": "T-1", "revenue": {"amount": 25.0, "currency": "EUR"}, "items": [item]}
    return [
        at(0, "pageview", "/?utm_source=news&utm_medium=email&utm_campaign=mcp-test", language="fr-CA",
           referrer="https://www.google.com/"),
        at(1, "view_item", "/shop/mug", items=[item]),
        at(2, "add_to_cart", "/shop/mug", items=[item]),
        at(3, "begin_checkout", "/checkout", items=[item]),
        at(4, "purchase", "/thank-you", **order),
        at(5, "pageview", "/signup"),
        at(6, "Signup", "/signup"),
        at(0, "pageview", "/", domain="shop.acme.test"),
        at(1, "purchase", "/thank-you", domain="shop.acme.test", transaction_id="T-2",
           revenue={"amount": 9.0, "currency": "USD"}, items=[{"item_name": "Cap", "price": 9.0}]),
    ]  # fmt: skip


def services_of(app: Starlette) -> Services:
    services = app.state.services
    assert isinstance(services, Services)
    return services


@asynccontextmanager
async def http_tools(app: Starlette, token: str) -> AsyncIterator[tuple[Client, httpx2.AsyncClient]]:
    transport = httpx2.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as http,
        Client(streamable_http_client(URL, http_client=http)) as client,
    ):
        yield client, http


def case_arguments() -> list[Json]:
    today = datetime.now(UTC).date()
    custom = {"from": str(today - timedelta(days=20)), "to": str(today - timedelta(days=2))}
    plain: list[Json] = [
        {},
        {"period": "30d", "domain": "acme.test", "limit": 3},
        {**custom, "domain": "shop.acme.test"},
        {"period": "90d", "limit": 100},
        {"period": "24h"},
        {"period": "12m", "domain": "acme.test", "limit": 1},
        {"period": "last_7_complete_days", "domain": "acme.test"},  # whole days (issue 16 item 3)
        {"period": "yesterday"},
    ]
    filtered: list[Json] = [  # without tenant: the token's
        {"period": "30d", "filters": "source==google;device==desktop|mobile"},
        {"period": "90d", "domain": "acme.test", "filters": "page~/blog/", "limit": 5},
        {"period": "30d", "filters": "channel!=direct;page!=/", "limit": 20},
    ]
    return [{"tenant": "acme", **case} for case in plain] + filtered


class Oracle:
    """The same question asked of the REST API (or of the engine, where no REST route exists)."""

    def __init__(self, http: httpx2.AsyncClient, services: Services, arguments: Json) -> None:
        self.http, self.services, self.arguments = http, services, arguments

    async def rest(self, path: str, limit: bool = True) -> Any:
        args = self.arguments
        params = {key: args[key] for key in ("period", "from", "to") if key in args}
        params |= {"site": args["domain"]} if "domain" in args else {}
        params |= {"filters": args["filters"]} if "filters" in args else {}
        params |= {"limit": args.get("limit", 10)} if limit else {}
        response = await self.http.get(f"/api/v1{path}", params=params)
        assert response.status_code == 200, (path, response.text)
        return response.json()["data"]

    async def query(self, limit: int | None = None) -> engine.Query:
        args = self.arguments
        with self.services.db.sync.connect() as conn:
            tenant = accounts.get_tenant(conn, "acme")
        assert tenant is not None
        return await engine.query_for_tenant(
            self.services.db, tenant, period=args.get("period"), date_from=args.get("from"),
            date_to=args.get("to"), site=args.get("domain"), limit=limit or args.get("limit"),
            filters=args.get("filters"),
        )  # fmt: skip

    async def engine(self, fn: Callable[..., Any], limit: int | None = None, *extra: Any) -> Any:
        return (await fn(self.services.events_db, await self.query(limit), *extra)).model_dump(mode="json")


def same_fields(answer: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    assert {key: answer[key] for key in expected} == dict(expected)


async def check_overview(s: Json, o: Oracle) -> None:
    same_fields(s, await o.rest("/stats/overview", limit=False))


async def check_pages(s: Json, o: Oracle) -> None:
    assert s["rows"] == await o.rest("/stats/pages")
    assert s["truncated"] == (await o.engine(engine.top_pages))["truncated"]
    if o.arguments.get("limit") == 1:
        assert s["truncated"] and len(s["rows"]) == 1


async def check_sources(s: Json, o: Oracle) -> None:
    assert s["referrers"]["rows"] == await o.rest("/stats/referrers")
    channels = await o.engine(engine.channels, 10)
    assert s["channels"] == {"rows": channels["rows"], "truncated": channels["truncated"]}


async def check_devices(s: Json, o: Oracle) -> None:
    assert (
        s["devices"]["rows"] == (await o.rest("/stats/devices", limit=False))[: o.arguments.get("limit", 10)]
    )
    assert s["browsers"]["rows"] == await o.rest("/stats/browsers")
    assert s["operating_systems"]["rows"] == await o.rest("/stats/operating-systems")


async def check_languages(s: Json, o: Oracle) -> None:
    assert s["rows"] == await o.rest("/stats/languages")


async def check_campaigns(s: Json, o: Oracle) -> None:
    assert s["rows"] == await o.rest("/stats/campaigns")


async def check_goals(s: Json, o: Oracle) -> None:
    report = await o.engine(engine.goals_report)
    assert s["visitors"] == report["visitors"]
    assert [{k: v for k, v in g.items() if k != "recent_completions"} for g in s["goals"]] == report["goals"][
        : o.arguments.get("limit", 10)
    ]
    for goal in s["goals"]:
        params = {k: v for k, v in o.arguments.items() if k in ("period", "from", "to", "filters")}
        if goal["completions"]:
            response = await o.http.get(
                f"/api/v1/goals/{goal['id']}/completions", params={**params, "limit": 5}
            )
            assert goal["recent_completions"] == response.json()["data"]
        else:
            assert goal["recent_completions"] == []


async def check_ecommerce_overview(s: Json, o: Oracle) -> None:
    same_fields(s, await o.rest("/stats/ecommerce/overview", limit=False))


async def check_products(s: Json, o: Oracle) -> None:
    assert s["products"]["rows"] == await o.rest("/stats/ecommerce/products")
    assert s["funnel"] == await o.rest("/stats/ecommerce/funnel", limit=False)
    assert s["revenue_by_source"]["rows"] == await o.rest("/stats/ecommerce/revenue-by-source")


async def check_daily(s: Json, o: Oracle) -> None:
    assert s["rows"] == await o.rest("/stats/timeseries", limit=False) and not s["truncated"]


async def check_hourly(s: Json, o: Oracle) -> None:
    assert s["rows"] == (await o.engine(engine.hour_of_day))["rows"] and len(s["rows"]) == 24


CHECKS = {
    "analytics-overview": check_overview,
    "top-pages": check_pages,
    "traffic-sources": check_sources,
    "device-and-browser": check_devices,
    "languages": check_languages,
    "campaigns": check_campaigns,
    "goals": check_goals,
    "ecommerce-overview": check_ecommerce_overview,
    "ecommerce-products": check_products,
    "daily-breakdown": check_daily,
    "hourly-breakdown": check_hourly,
}


def has_data(answer: Json) -> bool:
    """Some row or count in the answer (not its range or definitions) is there."""
    values = [v for k, v in answer.items() if k not in ("range", "comparison", "definitions", "tenant")]
    sections = [v["rows"] for v in values if isinstance(v, dict) and "rows" in v]
    return any(isinstance(v, list) and v for v in values + sections) or any(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
    )


def tool_arguments(tool: Tool, arguments: Json) -> Json:
    accepted = tool.input_schema["properties"]
    return {k: v for k, v in arguments.items() if k in accepted}


def structured(tool: Tool, result: CallToolResult) -> Json:
    assert not result.is_error, result
    data = result.structured_content
    assert data is not None
    jsonschema.validate(data, tool.output_schema or {})
    assert not any(marker in str(result.model_dump()) for marker in MARKERS)
    return data


def same_question(answer: Json, text: str, query: engine.Query) -> None:
    """The answer covers the range the engine parsed, says so, and its text has its numbers."""
    assert answer["tenant"] == "acme" and answer["definitions"]
    period = answer["range"]
    expected = (str(query.range.date_from), str(query.range.date_to), query.timezone)
    assert (period["date_from"], period["date_to"], period["timezone"]) == expected
    assert f"{period['date_from']} to {period['date_to']} ({period['period']}, {period['timezone']})" in text
    if "visitors" in answer:
        assert f"visitors {answer['visitors']:,}" in text, text


async def test_every_tool_matches_the_rest_api(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    services = services_of(app)
    token = seed(services)
    pin_reports(monkeypatch, datetime.now(UTC))  # the tool and the REST call: one 24h, one today
    async with http_tools(app, token) as (client, http):
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(CHECKS) | {"list-sites"} <= set(TOOL_NAMES)
        sites = structured(tools["list-sites"], await client.call_tool("list-sites", {"tenant": "acme"}))
        assert [s["domain"] for s in sites["sites"]] == ["acme.test", "shop.acme.test"]
        nonzero = set()
        for arguments in case_arguments():
            oracle = Oracle(http, services, arguments)
            query = await oracle.query()
            for name, check in CHECKS.items():
                args = tool_arguments(tools[name], arguments)
                result = await client.call_tool(name, args)
                answer = structured(tools[name], result)
                same_question(answer, result.content[0].text, query)  # type: ignore[union-attr]
                await check(answer, oracle)
                if has_data(answer):
                    nonzero.add(name)
        assert nonzero == set(CHECKS), "the data set should exercise every tool"
        everyone = await client.call_tool("analytics-overview", {"period": "30d"})
        google = await client.call_tool("analytics-overview", {"period": "30d", "filters": "source==google"})
        counts = [structured(tools["analytics-overview"], r)["visitors"] for r in (google, everyone)]
        assert 0 < counts[0] < counts[1], counts  # the filter narrows, it is not ignored
