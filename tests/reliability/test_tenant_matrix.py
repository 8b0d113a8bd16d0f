"""The tenant matrix: tenant A, holding a token with every scope and an owner's dashboard session,
asks every endpoint of the app and every MCP tool and prompt about tenant B's resources (B's site,
goal, experiment, variant, conversation, owner, tenant slug). Each answer holds none of B's marker
strings and is byte for byte the answer about a resource that does not exist. The endpoints and
tools are read from the app, so one added later is covered (or fails here until it has a case
builder in tenant_cases.py).

Run with -s for the figures (`tenant matrix (http): N cases, R refused, ...`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, GetPromptResult
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_mcp.config import Settings
from analytics_mcp.tools.http import MCP_PATH
from reliability.app_routes import documented, endpoints
from reliability.apps import reliability_settings
from reliability.leak_check import NONEXISTENT, Answer, Matrix
from reliability.scale import scale
from reliability.tenant_cases import Call, Context, NoCaseBuilder, cases_for, param_variants
from reliability.tenant_world import Tenant, make_tenant
from servers import refusing_url

pytestmark = pytest.mark.reliability

PRINCIPALS = ("token", "session")
# A's data that its own answers must show: proof that B's would be seen if it leaked.
SHOWN_TO_OWNER = {"page path", "utm campaign", "referrer", "product", "url goal", "experiment name"}
SHOWN_TO_OWNER |= {"cta element", "site domain", "tenant name"}
TOOL_RESOURCES = {"tenant": "tenant", "domain": "site", "experiment": "experiment", "goal": "goal"}
TOOL_NEUTRAL = frozenset(  # within own sites
    {"period", "from", "to", "limit", "recent", "filters", "event", "compare", "compare_from", "compare_to"}
    | {"dimensions", "metrics", "sort", "offset"}  # breakdown
    | {"interval"}  # daily-breakdown
)


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with refusing_url() as nowhere:
        yield reliability_settings(tmp_path / "data", nowhere)


@dataclass(frozen=True)
class World:
    app: Starlette
    a: Tenant  # the caller
    b: Tenant  # the other tenant

    def matrix(self) -> Matrix:
        return Matrix(foreign=self.b.markers, own=self.a.markers)


@pytest.fixture
def world(app: Starlette) -> World:
    services = app.state.services
    return World(app, make_tenant(services, "zqa"), make_tenant(services, "zqb"))


async def send(client: httpx2.AsyncClient, call: Call, principal: Mapping[str, str]) -> Answer:
    response = await client.request(
        call.method,
        call.path,
        params=dict(call.query),
        json=call.json,
        data=dict(call.form) if call.form is not None else None,
        headers={**principal, **call.headers},
    )
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items()).encode()
    return Answer(response.status_code, response.content, headers)


def label(principal: str, call: Call) -> str:
    query = "&".join(f"{k}={v}" for k, v in call.query.items())
    body = f" {orjson.dumps(call.json).decode()[:120]}" if call.json is not None else ""
    return f"[{principal}] {call.method} {call.path}{'?' + query if query else ''}{body}"


async def run_http(world: World, client: httpx2.AsyncClient, *, public: bool) -> tuple[Matrix, list[str]]:
    """Every endpoint with each principal of A; `public` runs only the probes of endpoints that
    answer anyone by design, else only the others."""
    matrix, missing = world.matrix(), []
    variants = param_variants(wide=scale(fast=0, full=1) == 1)
    for principal in PRINCIPALS:
        headers = world.a.auth() if principal == "token" else world.a.session()
        ctx = Context(world.app, world.a, principal, variants)
        for endpoint in endpoints(world.app):
            try:
                cases = cases_for(endpoint, ctx)
            except NoCaseBuilder as exc:
                missing.append(str(exc))
                continue
            if not public:
                for call in cases.own:
                    matrix.own_call(label(principal, call), await send(client, call, headers))
            for probe in (p for p in cases.probes if p.public == public):
                theirs, nobodys = world.b.identifier(probe.kind), NONEXISTENT[probe.kind]
                call = probe.build(theirs)
                answer = await send(client, call, headers)
                if probe.public:
                    matrix.public_probe(label(principal, call), answer, probe.allowed)
                else:
                    missing_answer = await send(client, probe.build(nobodys), headers)
                    matrix.probe(label(principal, call), theirs, answer, missing_answer, nobodys)
    return matrix, sorted(set(missing))


async def test_no_route_shows_a_tenant_anything_of_another(world: World, client: httpx2.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    routed = {endpoint.key for endpoint in endpoints(world.app)}
    assert documented(document) <= routed, "documented operations the app does not route"

    matrix, missing = await run_http(world, client, public=False)
    print(matrix.summary("http"))
    assert not missing, "\n".join(missing)
    assert not matrix.leaks, "\n".join(matrix.leaks)
    assert matrix.own_seen >= SHOWN_TO_OWNER, f"A's own data never shown: {SHOWN_TO_OWNER - matrix.own_seen}"
    assert matrix.refused > 0


async def no_content(_request: Request) -> Response:
    return Response(status_code=204)


def test_an_endpoint_added_without_a_case_builder_fails_the_matrix(app: Starlette) -> None:
    app.router.routes.append(Route("/api/v1/brand-new", no_content, methods=["GET", "POST"]))
    ctx = Context(app, Tenant("zqa", "", (1,), "", "", "", ""), "token", ({},))
    added = [endpoint for endpoint in endpoints(app) if endpoint.path == "/api/v1/brand-new"]
    assert [endpoint.method for endpoint in added] == ["GET", "POST"]
    for endpoint in added:
        with pytest.raises(NoCaseBuilder, match="has no tenant-matrix case builder: add one to BUILDERS"):
            cases_for(endpoint, ctx)


async def test_public_routes_show_no_more_of_a_site_than_its_snippet_needs(
    world: World, client: httpx2.AsyncClient
) -> None:
    """The tracker and the A/B endpoints answer anyone about any site (the site's own pages call
    them); what they show is only what the browser script needs."""
    matrix, missing = await run_http(world, client, public=True)
    print(matrix.summary("public"))
    assert not missing, "\n".join(missing)
    assert matrix.public > 0
    assert not matrix.leaks, "\n".join(matrix.leaks)


# -- MCP: every tool and prompt over Streamable HTTP, with the official client -------------------


def tool_answer(result: CallToolResult) -> Answer:
    texts = [getattr(block, "text", repr(block)) for block in result.content]
    body = orjson.dumps(
        {"content": texts, "structured": result.structured_content}, option=orjson.OPT_SORT_KEYS
    )
    return Answer("error" if result.is_error else "ok", body)


def prompt_answer(result: GetPromptResult) -> Answer:
    texts = [getattr(message.content, "text", repr(message.content)) for message in result.messages]
    return Answer("ok", orjson.dumps(texts))


def argument_probes(name: str, arguments: set[str], caller: Tenant) -> list[tuple[str, dict[str, Any]]]:
    """(kind, arguments without the probed one) for each argument naming a tenant resource."""
    unknown = arguments - TOOL_RESOURCES.keys() - TOOL_NEUTRAL
    if unknown:
        raise NoCaseBuilder(
            f"MCP {name}: arguments {sorted(unknown)} are unknown to the tenant matrix: add each to "
            "TOOL_RESOURCES or TOOL_NEUTRAL in tests/reliability/test_tenant_matrix.py"
        )
    return [(arg, {"tenant": caller.slug}) for arg in sorted(arguments & TOOL_RESOURCES.keys())]


async def test_no_mcp_tool_shows_a_tenant_anything_of_another(world: World) -> None:
    a, b, matrix = world.a, world.b, world.matrix()
    periods = [{}] + [{"period": p} for p in ("24h", "30d", "12m")] * scale(fast=0, full=1)
    transport = httpx2.ASGITransport(app=world.app)
    http = httpx2.AsyncClient(transport=transport, base_url="http://testserver", headers=a.auth())
    streams = streamable_http_client(f"http://testserver{MCP_PATH}", http_client=http)
    async with http, Client(streams) as client:
        for tool in (await client.list_tools()).tools:
            arguments = set(tool.input_schema.get("properties", {}))
            for extra in (p for p in periods if not p or "period" in arguments):
                own = {"tenant": a.slug, **extra}
                matrix.own_call(f"{tool.name} {own}", tool_answer(await client.call_tool(tool.name, own)))
                for arg, base in argument_probes(tool.name, arguments, a):
                    kind = TOOL_RESOURCES[arg]
                    theirs, nobodys = b.identifier(kind), NONEXISTENT[kind]
                    found = await client.call_tool(tool.name, {**base, **extra, arg: theirs})
                    missing = await client.call_tool(tool.name, {**base, **extra, arg: nobodys})
                    case = f"{tool.name} {arg}={theirs} {extra}"
                    matrix.probe(case, theirs, tool_answer(found), tool_answer(missing), nobodys)
        for prompt in (await client.list_prompts()).prompts:
            arguments = {argument.name for argument in prompt.arguments or ()}
            own_prompt = await client.get_prompt(prompt.name, {"tenant": a.slug})
            matrix.own_call(f"prompt {prompt.name}", prompt_answer(own_prompt))
            for arg, base in argument_probes(f"prompt {prompt.name}", arguments, a):
                kind = TOOL_RESOURCES[arg]
                theirs, nobodys = b.identifier(kind), NONEXISTENT[kind]
                found_prompt = await client.get_prompt(prompt.name, {**base, arg: theirs})
                missing_prompt = await client.get_prompt(prompt.name, {**base, arg: nobodys})
                case = f"prompt {prompt.name} {arg}={theirs}"
                matrix.probe(
                    case, theirs, prompt_answer(found_prompt), prompt_answer(missing_prompt), nobodys
                )
        for resource in (await client.list_resources()).resources:
            read = await client.read_resource(resource.uri)
            matrix.own_call(f"resource {resource.uri}", Answer("ok", read.model_dump_json().encode()))
    print(matrix.summary("mcp"))
    assert not matrix.leaks, "\n".join(matrix.leaks)
    assert {"page path", "product", "experiment name"} <= matrix.own_seen
    assert matrix.refused > 0
