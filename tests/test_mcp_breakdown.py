"""The `breakdown` tool with the official client: its rows equal GET /api/v1/stats/breakdown's for
the same question (periods, sites, filters, limits of test_mcp_numbers; visits, pages with their
hostname, countries, custom events, revenue, conversions, sort and offset), countries equal
/stats/countries, bad dimensions/metrics/sort are one-line isError results, over Streamable HTTP
and over stdio."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from mcp import Client
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from conftest import pin_reports
from engine_support import add_site, hit, ingest
from factories import make_token
from test_mcp_numbers import Json, Oracle, case_arguments, http_tools, seed, services_of, settings, structured
from test_mcp_server import error_text
from test_mcp_stdio import CLI, params

__all__ = ["settings"]  # the fixture of test_mcp_numbers (allowed hosts, a high rate limit)

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

SPECS: list[Json] = [
    {},  # visitors by source
    {"dimensions": ["source", "device"], "metrics": ["visitors", "bounce_rate", "visit_duration"]},
    {"dimensions": ["page"], "metrics": ["pageviews", "visitors", "visits"], "sort": "visitors"},
    {"dimensions": ["country"], "metrics": ["visitors", "visits", "pageviews"]},
    {"dimensions": ["event", "prop:plan"], "metrics": ["events", "visitors"]},
    {"dimensions": ["channel", "entry_page"], "metrics": ["revenue", "visits"], "sort": "-revenue"},
    {"dimensions": ["device"], "metrics": ["conversions", "visitors"], "goal": "Signup", "offset": 1},
]


COUNTRIES: Json = {"dimensions": ["country"], "metrics": ["visitors", "visits", "pageviews"]}


def rest_params(spec: Json) -> Json:
    out = {k: v for k, v in spec.items() if k in ("sort", "offset", "goal")}
    for key in ("dimensions", "metrics"):
        if key in spec:
            out[key] = ",".join(spec[key])
    return out | ({} if "dimensions" in spec else {"dimensions": "source"})


async def test_breakdown_matches_the_rest_api(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    services = services_of(app)
    token = seed(services)
    pin_reports(monkeypatch, datetime.now(UTC))
    async with http_tools(app, token) as (client, http):
        tool = next(t for t in (await client.list_tools()).tools if t.name == "breakdown")
        seen_rows = 0
        for arguments in case_arguments():
            oracle = Oracle(http, services, arguments)
            for spec in SPECS:
                if "goal" in spec and arguments.get("domain") == "shop.acme.test":
                    continue  # Signup is acme.test's goal
                answer = structured(tool, await client.call_tool("breakdown", {**arguments, **spec}))
                oracle.arguments = {**arguments, **rest_params(spec)}
                rest = await rest_call(oracle)
                assert {k: answer[k] for k in rest} == rest, (arguments, spec)
                seen_rows += len(answer["rows"])
            everything = {**arguments, "limit": 100}
            countries = structured(tool, await client.call_tool("breakdown", {**everything, **COUNTRIES}))
            oracle.arguments = everything
            expected = await oracle.rest("/stats/countries")
            assert (
                sorted(countries["rows"], key=str) == sorted(expected, key=str) and not countries["truncated"]
            )
        assert seen_rows > 100


async def rest_call(oracle: Oracle) -> Json:
    args = oracle.arguments
    params = {k: args[k] for k in ("period", "from", "to", "filters", "dimensions", "metrics", "sort",
                                   "offset", "goal") if k in args}  # fmt: skip
    params |= {"site": args["domain"]} if "domain" in args else {}
    params |= {"limit": args.get("limit", 10)}
    response = await oracle.http.get("/api/v1/stats/breakdown", params=params)
    assert response.status_code == 200, response.text
    data: Json = response.json()["data"]
    return data


BAD: list[tuple[Json, str]] = [
    ({"dimensions": ["colour"]}, "dimensions: unknown dimension 'colour'; use one of page, entry_page"),
    ({"dimensions": ["page", "source", "device"]}, "dimensions: "),
    ({"dimensions": ["page"], "metrics": ["bounce_rate"]}, "metrics: bounce_rate is not available here"),
    ({"metrics": ["clicks"]}, "metrics: input should be 'visitors', 'visits'"),
    ({"metrics": ["visitors"], "sort": "-visits"}, "sort: must be one of the chosen metrics"),
    ({"offset": -1}, "offset: must be between 0 and 10000"),
    ({"metrics": ["conversions"]}, "goal: the conversions metric needs a goal"),
    ({"metrics": ["conversions"], "goal": "nope"}, "goal: not found"),
    ({"dimensions": "source"}, "dimensions: "),
]  # fmt: skip


async def test_bad_arguments_are_one_line_errors(app: Starlette) -> None:
    services = services_of(app)
    add_site(services, "acme.test", slug="acme")
    token = make_token(services, "acme")
    async with http_tools(app, token) as (client, _http):
        for arguments, words in BAD:
            text = error_text(await client.call_tool("breakdown", arguments))
            assert text.startswith("Error executing tool breakdown: "), text
            assert words in text and "\n" not in text and "pydantic" not in text, (arguments, text)


async def test_breakdown_over_stdio(services: Services, settings: Settings) -> None:
    add_site(services, "acme.test", slug="acme")
    add_site(services, "shop.test", slug="acme")
    ingest(
        services, [hit("2026-11-18T10:00:00Z", who=1), hit("2026-11-18T10:00:00Z", who=2, domain="shop.test")]
    )
    token = make_token(services, "acme")
    server = params(CLI, settings, token)
    if "PYTHONPATH" in os.environ:  # a checkout run with its own sources first
        server.env = {**(server.env or {}), "PYTHONPATH": os.environ["PYTHONPATH"]}
    async with Client(server) as client:
        result = await client.call_tool(
            "breakdown", {"dimensions": ["page"], "from": "2026-11-18", "to": "2026-11-18"}
        )
        assert not result.is_error, result
        assert result.structured_content is not None
        assert result.structured_content["rows"] == [
            {"page": "/", "hostname": "acme.test", "visitors": 1},
            {"page": "/", "hostname": "shop.test", "visitors": 1},
        ]
        text = result.content[0].text  # type: ignore[union-attr]
        assert "page | hostname | visitors" in text and "/ | shop.test | 1" in text, text
        bad = await client.call_tool("breakdown", {"dimensions": ["colour"]})
        assert bad.is_error and error_text(bad).startswith(
            "Error executing tool breakdown: dimensions: unknown"
        )


async def test_pages_and_goals_of_several_sites_carry_their_hostname(app: Starlette) -> None:
    """`/` of two sites are two rows, and two goals named Signup say whose they are."""
    services = services_of(app)
    add_site(services, "acme.test", slug="acme")
    add_site(services, "shop.test", slug="acme")
    with services.db.sync.begin() as conn:
        accounts.add_goal(conn, "acme.test", "Signup", event="signup")
        accounts.add_goal(conn, "shop.test", "Signup", event="signup")
    day = "2026-11-18T10:00:0"
    ingest(services, [
        hit(f"{day}0Z", who=1), hit(f"{day}1Z", who=1, name="signup"),
        hit(f"{day}0Z", who=2, domain="shop.test"), hit(f"{day}0Z", who=3, domain="shop.test"),
    ])  # fmt: skip
    dates = {"from": "2026-11-18", "to": "2026-11-18"}
    async with http_tools(app, make_token(services, "acme")) as (client, _http):
        pages = (await client.call_tool("top-pages", dates)).structured_content
        assert pages is not None
        assert [(r["pathname"], r["hostname"], r["pageviews"]) for r in pages["rows"]] == [
            ("/", "shop.test", 2),
            ("/", "acme.test", 1),
        ]
        goals = (await client.call_tool("goals", dates)).structured_content
        assert goals is not None
        assert sorted((g["name"], g["hostname"], g["completions"]) for g in goals["goals"]) == [
            ("Signup", "acme.test", 1),
            ("Signup", "shop.test", 0),
        ]
        one = await client.call_tool("top-pages", {**dates, "domain": "acme.test"})
        assert one.structured_content is not None and "hostname" not in one.structured_content["rows"][0]
        assert "hostname" not in one.content[0].text  # type: ignore[union-attr]
