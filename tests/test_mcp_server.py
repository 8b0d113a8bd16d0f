"""The MCP server in-process (`Client(server)`, both protocol eras): the tool list and its schemas,
tenancy and plan gating, argument errors for every tool, the glossary resource and the prompt."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from analytics_mcp.engine import PERIODS
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Tenant
from analytics_mcp.tools import TOOL_NAMES, acting_for, build_mcp_server
from analytics_mcp.tools.answers import ToolAnswer
from analytics_mcp.tools.glossary import DEFINITIONS
from analytics_mcp.tools.http import MCP_PATH
from analytics_mcp.tools.stdio import TOKEN_ENV
from conftest import INPUT_RULES
from factories import make_site

pytestmark = pytest.mark.backends()

NAMES = [
    "list-sites", "analytics-overview", "top-pages", "traffic-sources", "device-and-browser",
    "languages", "campaigns", "goals", "ecommerce-overview", "ecommerce-products", "daily-breakdown",
    "hourly-breakdown",
]  # fmt: skip
PLATFORM = ("segments", "segment-overlap")  # customer segments (docs/platform.md): no site, no range
UNRANGED = ("list-sites", "realtime", *PLATFORM)  # realtime's window always ends now: no period, from or to
RANGED = [name for name in TOOL_NAMES if name not in UNRANGED]  # docs/mcp.md's twelve and any added since
WITH_LIMIT = ["top-pages", "traffic-sources", "device-and-browser", "languages", "campaigns", "goals",
              "ecommerce-products", "realtime", "custom-events", "breakdown"]  # fmt: skip
MARKERS = ("rival", "rival-secret.test", "Rival Corp")  # strings only the other tenant's data has


@pytest.fixture
def acme(services: Services) -> Tenant:
    tenant, _ = make_site(services, "acme", "acme.test", timezone="Europe/Berlin")
    make_site(services, "acme", "shop.acme.test", currency="USD")
    make_site(services, "rival", "rival-secret.test")
    make_site(services, "small", "small.test", plan="starter")
    return tenant


@pytest.fixture
async def server(services: Services) -> AsyncIterator[MCPServer[Services]]:
    yield build_mcp_server(services)
    await services.db.aio.dispose()  # the conftest fixture disposes only the sync engine


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def connect(
    server: MCPServer[Services], tenant: Tenant | None, mode: str = "auto"
) -> AsyncIterator[Client]:
    """An in-process client acting for `tenant` (opened inside the test: anyio scopes must be left
    in the task that entered them)."""
    with acting_for(tenant.id) if tenant else nullcontext():
        async with Client(server, mode=mode) as session:
            yield session


def error_text(result: Any) -> str:
    assert result.is_error, result
    return "\n".join(block.text for block in result.content)


async def test_tool_list_names_annotations_and_schemas(
    server: MCPServer[Services], acme: Tenant, mode: str
) -> None:
    async with connect(server, acme, mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert list(tools)[: len(NAMES)] == NAMES == list(TOOL_NAMES)[: len(NAMES)]
        for name, tool in tools.items():
            notes = tool.annotations
            assert notes is not None and tool.title and notes.title == tool.title
            assert (notes.read_only_hint, notes.destructive_hint) == (True, False)
            assert (notes.idempotent_hint, notes.open_world_hint) == (True, False)
            props = tool.input_schema["properties"]
            assert "required" not in tool.input_schema, name  # tenant too: the token's by default
            assert tool.input_schema["additionalProperties"] is False, name
            assert next(iter(props)) == "tenant" and "null" in str(props["tenant"]["anyOf"]), name
            assert tool.output_schema and tool.output_schema["type"] == "object"
            described = (tool.description or "").lower()
            assert name in ("list-sites", *PLATFORM) or "call list-sites first" in described, name
            if name in RANGED:
                assert props["period"]["enum"] == list(PERIODS)
                assert props["period"]["default"] == "7d"
                assert {"domain", "from", "to"} <= set(props), name
                assert props["from"]["format"] == "date"
                assert not {"date_from", "date_to"} & set(props)
                assert {"range", "definitions", "tenant"} <= set(tool.output_schema["properties"]), name
            if name in WITH_LIMIT:
                assert (props["limit"]["minimum"], props["limit"]["maximum"], props["limit"]["default"]) == (
                    1,
                    100,
                    10,
                )
            else:
                assert "limit" not in props, name


def test_every_answer_quotes_glossary_entries() -> None:
    answers = ToolAnswer.__subclasses__()
    assert len(answers) >= 11
    for answer in answers:
        keys = answer.definition_keys
        assert keys and len(set(keys)) == len(keys), answer.__name__
        assert set(keys) <= set(DEFINITIONS), answer.__name__


async def test_list_sites(server: MCPServer[Services], acme: Tenant, mode: str) -> None:
    async with connect(server, acme, mode) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "list-sites")
        result = await client.call_tool("list-sites", {"tenant": "acme"})
        assert not result.is_error, result
        data = result.structured_content
        jsonschema.validate(data, tool.output_schema)
        assert data["tenant"] == "acme" and data["plan"] == "business" and data["truncated"] is False
        assert data["sites"] == [
            {"domain": "acme.test", "timezone": "Europe/Berlin", "currency": "EUR"},
            {"domain": "shop.acme.test", "timezone": "Europe/Berlin", "currency": "USD"},
        ]
        text = result.content[0].text
        assert "acme.test" in text and "shop.acme.test" in text and "USD" in text
        assert not any(marker in str(result) for marker in MARKERS)


@pytest.mark.parametrize("name", TOOL_NAMES)
async def test_other_tenant_answers_like_unknown(
    server: MCPServer[Services], acme: Tenant, mode: str, name: str
) -> None:
    async with connect(server, acme, mode) as client:
        texts = {}
        for slug in ("rival", "no-such-tenant", "small"):
            texts[slug] = error_text(await client.call_tool(name, {"tenant": slug}))
        for slug, text in texts.items():
            assert text == (
                f"Error executing tool {name}: tenant '{slug}' not found or not accessible with this "
                "token; this token reads tenant 'acme' (omit tenant to use it)"
            )
        assert "starter" not in str(texts)  # another tenant's plan stays hidden too


async def test_plan_below_pro_is_refused(services: Services, server: MCPServer[Services]) -> None:
    small, _ = make_site(services, "small", "small.test", plan="starter")
    with acting_for(small.id):
        async with Client(server) as session:
            for name in TOOL_NAMES:
                text = error_text(await session.call_tool(name, {"tenant": "small"}))
                assert text.endswith("MCP access needs the pro plan or above; tenant 'small' is on 'starter'")


async def test_no_credential_reads_nothing(server: MCPServer[Services], acme: Tenant) -> None:
    async with Client(server) as session:
        text = error_text(await session.call_tool("list-sites", {"tenant": "acme"}))
        assert text.endswith("tenant 'acme' not found or not accessible with this token")


BAD_ARGUMENTS: list[tuple[dict[str, Any], str]] = [
    ({"period": "1y"}, f"period: must be one of {', '.join(PERIODS)}"),
    ({"from": "2026-02-01"}, "to: required when from is set"),
    ({"to": "2026-02-01"}, "to: requires from"),
    ({"from": "2026-02-30", "to": "2026-03-01"}, "from: must be a"),
    ({"from": "yesterday", "to": "2026-03-01"}, "from: must be a"),
    ({"from": "2026-03-01", "to": "03/05/2026"}, "to: must be a"),
    ({"from": "2026-03-02", "to": "2026-03-01"}, "from: must not be after to"),
    ({"domain": "rival-secret.test"}, "domain: not found; call list-sites"),
    ({"domain": "nowhere.test"}, "domain: not found; call list-sites"),
]


@INPUT_RULES
@pytest.mark.parametrize("name", RANGED)
async def test_bad_arguments_name_the_field(
    server: MCPServer[Services], acme: Tenant, mode: str, name: str
) -> None:
    async with connect(server, acme, mode) as client:
        for arguments, expected in BAD_ARGUMENTS:
            text = error_text(await client.call_tool(name, {"tenant": "acme", **arguments}))
            assert text.startswith(f"Error executing tool {name}: ") and expected in text, (arguments, text)
            assert not any(marker in text for marker in MARKERS), text
        if name in WITH_LIMIT:
            for limit in (0, 101, "many"):
                text = error_text(await client.call_tool(name, {"tenant": "acme", "limit": limit}))
                assert "limit: must be" in text and "between 1 and 100" in text, text


async def test_unknown_and_foreign_domain_get_the_same_error(
    server: MCPServer[Services], acme: Tenant, mode: str
) -> None:
    async with connect(server, acme, mode) as client:
        foreign = error_text(
            await client.call_tool("top-pages", {"tenant": "acme", "domain": "rival-secret.test"})
        )
        unknown = error_text(
            await client.call_tool("top-pages", {"tenant": "acme", "domain": "nowhere.test"})
        )
        assert (
            foreign
            == unknown
            == "Error executing tool top-pages: domain: not found; call list-sites for this tenant's domains"
        )


async def test_glossary_resource_and_weekly_report_prompt(
    server: MCPServer[Services], acme: Tenant, mode: str
) -> None:
    async with connect(server, acme, mode) as client:
        resources = (await client.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["analytics://glossary"]
        contents = (await client.read_resource("analytics://glossary")).contents
        text = contents[0].text  # type: ignore[union-attr]
        assert contents[0].mime_type == "text/markdown"
        for term in ("visitors", "bounce_rate", "avg_duration", "goal_conversion_rate", "channel"):
            assert f"**{term}" in text
        prompts = (await client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["weekly-report"]
        assert [(a.name, a.required) for a in prompts[0].arguments or []] == [
            ("tenant", False),
            ("domain", False),
        ]
        prompt = await client.get_prompt("weekly-report", {"tenant": "acme", "domain": "acme.test"})
        body = prompt.messages[0].content.text  # type: ignore[union-attr]
        assert "analytics-overview" in body and '"domain": "acme.test"' in body and "list-sites" in body


ROOT = Path(__file__).resolve().parent.parent


def test_client_config_example_and_docs_match_the_code() -> None:
    servers = json.loads((ROOT / "mcp.json.example").read_text())["mcpServers"]
    http, stdio = servers["analytics"], servers["analytics-local"]
    assert http["type"] == "http" and http["url"].endswith(MCP_PATH)
    assert http["headers"]["Authorization"].startswith("Bearer ")
    assert stdio["command"].endswith(".venv/bin/analytics-mcp") and stdio["args"] == ["mcp"]
    assert set(stdio["env"]) == {TOKEN_ENV, "ANALYTICS_DB_URL"}
    docs = (ROOT / "docs" / "mcp.md").read_text()
    for name in NAMES:
        assert f"| `{name}` |" in docs, name
    assert "analytics://glossary" in docs and "weekly-report" in docs and MCP_PATH in docs
