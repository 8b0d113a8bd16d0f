"""Conversion tools: goals with completions, e-commerce overview, products + funnel + revenue by
source."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from analytics_mcp import engine
from analytics_mcp.tools import args
from analytics_mcp.tools.answers import (
    EcommerceOverviewAnswer,
    GoalAnswerRow,
    GoalsAnswer,
    ProductsAnswer,
    Section,
)
from analytics_mcp.tools.args import DomainArg, FiltersArg, FromArg, LimitArg, PeriodArg, TenantArg, ToArg
from analytics_mcp.tools.common import ToolRequest, authorized_request, reply
from analytics_mcp.tools.render import times

MAX_RECENT = 20
RecentArg = Annotated[
    int, Field(ge=0, le=MAX_RECENT, description=f"Latest completions to show per goal, 0-{MAX_RECENT}.")
]


async def goals(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    recent: RecentArg = 5,
    filters: FiltersArg = None,
) -> Annotated[CallToolResult, GoalsAnswer]:
    """Conversion goals (URL goals on page paths, event goals on custom events) with completions
    (count of matching events), visitors (unique visitors who completed it) and conversion_rate
    (% of all visitors), plus each goal's `recent` latest completions (time, event id). At most
    `limit` goals. Answers "how many signups did we get?". Call list-sites first to discover domains."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, limit, filters=filters
    )
    report = await request.run(engine.goals_report)
    shown = report.goals[: request.query.limit]
    rows = [await _with_recent(request, goal, recent) for goal in shown]
    answer = request.answer(GoalsAnswer, report, goals=rows, truncated=len(report.goals) > len(shown))
    extra = [
        f"recent {row.name}: " + times([c.created_at for c in row.recent_completions])
        for row in rows
        if row.recent_completions
    ]
    return reply("goals", answer, extra)


async def _with_recent(request: ToolRequest, goal: engine.GoalRow, recent: int) -> GoalAnswerRow:
    completions: list[engine.CompletionRow] = []
    if recent and goal.completions:
        query = request.query.model_copy(update={"limit": recent})
        completions = (await request.run(engine.goal_completions, query, goal.id)).rows
    return GoalAnswerRow(**dict(goal), recent_completions=completions)


async def ecommerce_overview(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    filters: FiltersArg = None,
    compare: args.CompareArg = None,
    compare_from: args.CompareFromArg = None,
    compare_to: args.CompareToArg = None,
) -> Annotated[CallToolResult, EcommerceOverviewAnswer]:
    """Shop results with their change against a comparison range (`compare`; the previous period
    of the same length by default): revenue (in `currency`), transactions (distinct orders),
    avg_order_value, conversion_rate (% of visitors who purchased), purchasing_visitors, visitors,
    and each *_change (% change; percentage points for conversion_rate). Purchases in other
    currencies are left out of money sums (see warnings). Call list-sites first to discover
    domains and their currencies."""
    dates, versus = (date_from, date_to), (compare, compare_from, compare_to)
    request = await authorized_request(ctx, tenant, period, domain, *dates, filters=filters, compare=versus)
    report = await request.run(engine.ecommerce_overview)
    return reply("ecommerce-overview", request.answer(EcommerceOverviewAnswer, report))


async def ecommerce_products(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    filters: FiltersArg = None,
) -> Annotated[CallToolResult, ProductsAnswer]:
    """Three shop views in one call. `products`: top products by revenue (item_name, revenue,
    quantity = units bought, orders). `funnel`: visitors at each step view_item -> add_to_cart ->
    begin_checkout -> purchase with dropoff_rate (% lost from the previous step). `revenue_by_source`:
    revenue and transactions per traffic source. Lists bounded by `limit`; money in `currency`.
    Call list-sites first to discover domains."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, limit, filters=filters
    )
    products = await request.run(engine.products)
    funnel = await request.run(engine.funnel)
    sources = await request.run(engine.revenue_by_source)
    answer = request.answer(
        ProductsAnswer,
        products,
        warnings=list(dict.fromkeys([*products.warnings, *sources.warnings])),
        products=Section(rows=products.rows, truncated=products.truncated),
        funnel=funnel.rows,
        revenue_by_source=Section(rows=sources.rows, truncated=sources.truncated),
    )
    return reply("ecommerce-products", answer)
