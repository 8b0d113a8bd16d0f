# ruff: noqa: F811  (the server fixture imported from mcp_support is redefined as a parameter)
"""The `ab-test-results` MCP tool through the in-memory mcp Client: listed read-only with typed
schemas, the same numbers as /metrics/summary and /metrics/variants, its errors, and the
experiment's own site time zone."""

from __future__ import annotations

import jsonschema
import pytest
from mcp.server.mcpserver import MCPServer

from ab_support import Rows, experiment, ms, seed_example
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.accounts import Tenant
from factories import make_site
from mcp_support import connect, server  # noqa: F401  (server: a fixture)

TOOL = "ab-test-results"
SEED_RANGE = {"tenant": "acme", "from": "2024-01-08", "to": "2024-01-15"}


@pytest.fixture
def acme(services: Services) -> Tenant:
    tenant, _ = make_site(services, "acme", "acme.test")
    make_site(services, "acme", "shop.acme.test")
    return tenant


def error_text(result: object) -> str:
    assert result.is_error, result  # type: ignore[attr-defined]
    return "\n".join(block.text for block in result.content)  # type: ignore[attr-defined]


async def test_tool_is_listed_read_only_with_schemas(server: MCPServer[Services], acme: Tenant) -> None:
    async with connect(server, acme) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == TOOL)
    notes = tool.annotations
    assert notes is not None and (notes.read_only_hint, notes.destructive_hint) == (True, False)
    assert "required" not in tool.input_schema and tool.input_schema["additionalProperties"] is False
    assert {"period", "domain", "experiment", "from", "to"} <= set(tool.input_schema["properties"])
    assert {"tenant", "definitions", "range", "variants", "sample_ratio_mismatch"} <= set(
        tool.output_schema["properties"]  # type: ignore[index]
    )


async def test_results_match_the_seed_example(
    services: Services, server: MCPServer[Services], acme: Tenant
) -> None:
    seed_example(services)
    async with connect(server, acme) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == TOOL)
        result = await client.call_tool(TOOL, SEED_RANGE)
    assert not result.is_error, result
    data = result.structured_content
    assert data is not None
    jsonschema.validate(data, tool.output_schema or {})
    assert data["tenant"] == "acme" and set(data["definitions"]) >= {"visitors", "uplift"}
    assert (data["range"]["date_from"], data["range"]["date_to"], data["range"]["sites"]) == (
        "2024-01-08",
        "2024-01-15",
        ["acme.test"],
    )
    assert (data["total_visitors"], data["total_conversions"], data["overall_conversion_rate"]) == (
        1234,
        45,
        3.65,
    )
    control, variant = data["variants"]
    assert (control["variant_slug"], control["conversion_rate"], control["views"]) == ("control", 4.17, 600)
    assert (variant["conversion_rate"], variant["absolute_uplift"], variant["relative_uplift"]) == (
        3.15,
        -1.01,
        -24.29,
    )
    assert (variant["probability_to_beat_control"], variant["p_value"]) == (0.1732, 0.3431)
    assert [(c["element_id"], c["ctr"]) for c in data["top_ctas"]] == [
        ("hero-cta", 18.96),
        ("pricing-pro-cta", 12.64),
    ]
    assert data["sample_ratio_mismatch"]["p_value"] == 0.3331
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith("ab-test-results - tenant acme - acme.test - 2024-01-08 to 2024-01-15")
    assert "experiment hero-test" in text and "sample ratio: chi_square 0.9368, p_value 0.3331 (ok)" in text


async def test_errors_name_the_problem(services: Services, server: MCPServer[Services], acme: Tenant) -> None:
    async with connect(server, acme) as client:
        none = error_text(await client.call_tool(TOOL, {"tenant": "acme"}))
        assert none == f"Error executing tool {TOOL}: experiment: not found; experiments: none yet"
        experiment(services)
        unknown = error_text(await client.call_tool(TOOL, {"tenant": "acme", "experiment": "nope"}))
        assert unknown.endswith("experiment: not found; experiments: hero-test (running, acme.test)")
        other_site = error_text(await client.call_tool(TOOL, {"tenant": "acme", "domain": "shop.acme.test"}))
        assert "experiment: not found" in other_site
        bad = error_text(
            await client.call_tool(TOOL, {"tenant": "acme", "from": "2024-02-30", "to": "2024-03-01"})
        )
        assert "from: must be a valid date" in bad
        ok = await client.call_tool(TOOL, {"tenant": "acme", "experiment": "hero-test", "period": "30d"})
        assert not ok.is_error and ok.structured_content["variants"][0]["visitors"] == 0  # type: ignore[index]


async def test_dates_are_in_the_experiment_sites_time_zone(
    services: Services, server: MCPServer[Services], acme: Tenant
) -> None:
    with services.db.sync.begin() as conn:
        accounts.add_site(conn, "acme", "ny.acme.test", timezone="America/New_York")
    exp = experiment(services, domain="ny.acme.test")
    rows = Rows(exp)
    rows.add("control", 1, "page_view", ms("2024-01-16", 3))  # 22:00 on Jan 15 in New York
    rows.save(services)
    async with connect(server, acme) as client:
        result = await client.call_tool(TOOL, SEED_RANGE)
    data = result.structured_content
    assert data is not None and data["range"]["timezone"] == "America/New_York"
    assert data["variants"][0]["views"] == 1
    assert data["variants"][0]["trend"][-1] == {"date": "2024-01-15", "views": 1, "conversions": 0}
