"""What every engine-backed tool does: authorize the tenant, parse the question once with the
engine's `parse_query` (the parse behind the REST routes' `query_for_tenant`), run the engine
functions the REST routes run, and reply with structured content plus its text rendering."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from analytics_mcp.engine import Query, QueryError, parse_query
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Tenant
from analytics_mcp.tools.access import authorize
from analytics_mcp.tools.answers import ToolAnswer
from analytics_mcp.tools.glossary import pick
from analytics_mcp.tools.render import render

R = TypeVar("R")
Comparison = tuple[str | None, str | None, str | None]
A = TypeVar("A", bound=ToolAnswer)

# The engine names the site argument `site`; the tools call it `domain`.
FIELD_NAMES = {"site": "domain"}
HINTS = {"domain": "; call list-sites for this tenant's domains"}


def services_of(ctx: Context[Any, Any]) -> Services:
    """The app's Services, yielded by the server lifespan (see tools.server)."""
    services = ctx.request_context.lifespan_context
    assert isinstance(services, Services)
    return services


def query_error(exc: QueryError) -> ToolError:
    field = FIELD_NAMES.get(exc.field, exc.field)
    return ToolError(f"{field}: {exc.rule}{HINTS.get(field, '')}")


@dataclass(frozen=True, slots=True)
class ToolRequest:
    """One tool call's question, authorized and parsed: the caller's tenant and the engine Query."""

    services: Services
    tenant: Tenant
    query: Query

    async def run(self, fn: Callable[..., Awaitable[R]], query: Query | None = None, *args: Any) -> R:
        """An engine function over this question (or a variant of it)."""
        try:
            return await fn(self.services.events_db, query or self.query, *args)
        except QueryError as exc:
            raise query_error(exc) from None

    def answer(self, cls: type[A], report: BaseModel | None, **extra: Any) -> A:
        """`cls` from the engine report's fields plus the tenant, the definitions `cls` names and
        `extra`."""
        fields = dict(report) if report is not None else {}
        filtered = ("filters",) if self.query.filters else ()  # the grammar the numbers were cut by
        definitions = pick((*cls.definition_keys, *filtered))
        return cls.model_validate({**fields, "tenant": self.tenant.slug, "definitions": definitions, **extra})


async def authorized_request(
    ctx: Context[Any, Any],
    tenant: str | None,
    period: str,
    domain: str | None,
    date_from: str | None,
    date_to: str | None,
    limit: int | None = None,
    *,
    filters: str | None = None,
    compare: Comparison = (None, None, None),
    interval: str | None = None,
) -> ToolRequest:
    """Authorize, then parse the question with the engine's `parse_query` over the sites that
    `authorize` read in the same round trip (what `query_for_tenant` does for REST). `compare`:
    the compare, compare_from and compare_to arguments of the tools that show a comparison."""
    services = services_of(ctx)
    allowed = await authorize(services.db, tenant)
    try:
        query = parse_query(
            allowed.sites,
            allowed.tenant.timezone,
            period=period,
            date_from=date_from,
            date_to=date_to,
            compare=compare[0],
            compare_from=compare[1],
            compare_to=compare[2],
            interval=interval,
            site=domain,
            limit=limit,
            filters=filters,
            goals=allowed.goals,
        )
    except QueryError as exc:
        raise query_error(exc) from None
    return ToolRequest(services, allowed.tenant, query)


def reply(title: str, answer: BaseModel, extra: list[str] | None = None) -> CallToolResult:
    text = render(title, answer, extra)
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=answer.model_dump(mode="json")
    )
