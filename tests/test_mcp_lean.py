# ruff: noqa: F811  (the server fixture imported from mcp_support is redefined as a parameter)
"""Token-lean answers (issue 16 item 5), with the official client in-process: schemas without
pydantic titles, answers that name glossary keys instead of repeating definitions (the glossary
resource holds each, the filter grammar included), and the weekly-report prompt without a tenant."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer

from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Tenant
from analytics_mcp.tools.glossary import DEFINITIONS
from factories import make_site
from mcp_support import connect, server  # noqa: F401  (server: a fixture)

pytestmark = pytest.mark.backends()


@pytest.fixture
def acme(services: Services) -> Tenant:
    tenant, _ = make_site(services, "acme", "acme.test", timezone="Europe/Berlin")
    return tenant


def titles(schema: Any, path: str = "") -> list[str]:
    """Where a schema (not a property name) carries a `title`."""
    found = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                found.append(path)
            elif key in ("properties", "$defs") and isinstance(value, dict):
                found += [p for name, sub in value.items() for p in titles(sub, f"{path}/{name}")]
            else:
                found += titles(value, f"{path}/{key}")
    elif isinstance(schema, list):
        found += [p for item in schema for p in titles(item, path)]
    return found


async def test_schemas_carry_no_titles(server: MCPServer[Services], acme: Tenant) -> None:
    async with connect(server, acme) as client:
        for tool in (await client.list_tools()).tools:
            assert titles(tool.input_schema) == [] and titles(tool.output_schema) == [], tool.name
            assert tool.input_schema["properties"]["tenant"]["description"], tool.name
            filters = tool.input_schema["properties"].get("filters")
            if filters:  # one line with examples; the grammar is the glossary's
                assert len(filters["description"]) < 300 and "analytics://glossary" in filters["description"]


async def test_answers_name_glossary_keys_the_resource_defines(
    server: MCPServer[Services], acme: Tenant
) -> None:
    async with connect(server, acme) as client:
        glossary = (await client.read_resource("analytics://glossary")).contents[0].text  # type: ignore[union-attr]
        for key in DEFINITIONS:
            assert f"- **{key}**: " in glossary
        assert "`dimension==value` (is)" in glossary and "utm_campaign" in glossary  # the filter grammar
        plain = await client.call_tool("analytics-overview", {"period": "yesterday"})
        assert plain.structured_content is not None
        keys = plain.structured_content["definitions"]
        assert keys[0] == "period" and "change" in keys and "filters" not in keys
        assert set(keys) <= set(DEFINITIONS) and len(json.dumps(plain.structured_content)) < 1500
        filtered = await client.call_tool("top-pages", {"filters": "page==/pricing"})
        assert filtered.structured_content and filtered.structured_content["definitions"][-1] == "filters"


async def test_weekly_report_prompt_takes_the_tenant_as_optional(
    server: MCPServer[Services], acme: Tenant
) -> None:
    async with connect(server, acme) as client:
        listed = (await client.list_prompts()).prompts[0]
        assert [(a.name, a.required) for a in listed.arguments or []] == [
            ("tenant", False),
            ("domain", False),
        ]
        prompt = await client.get_prompt("weekly-report", {})
        body = prompt.messages[0].content.text  # type: ignore[union-attr]
        assert "your tenant (the API token's" in body and '"tenant"' not in body
        assert 'analytics-overview with {"period": "last_7_complete_days"}' in body
        named = (
            await client.get_prompt("weekly-report", {"tenant": "acme", "domain": "acme.test"})
        ).messages[0]
        text = named.content.text  # type: ignore[union-attr]
        assert '{"tenant": "acme", "period": "last_7_complete_days", "domain": "acme.test"}' in text
