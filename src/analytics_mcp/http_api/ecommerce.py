"""`/api/v1/stats/ecommerce/*`: revenue, products, the funnel and revenue by source (seed 002).

Money is in the site's reporting currency; purchases in other currencies count as transactions
but not in revenue, and the overview lists them in `warnings`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from analytics_mcp import engine
from analytics_mcp.engine import FunnelStep, ProductRow, RevenuePoint, SourceRevenueRow
from analytics_mcp.http_api.framework import ApiContext, api_route
from analytics_mcp.http_api.stats import LimitParams, StatsParams, stats_query

TAGS = ("ecommerce",)


class EcommerceOverviewData(BaseModel):
    revenue: float
    transactions: int
    avg_order_value: float
    conversion_rate: float = Field(description="Purchasing visitors / visitors x 100")
    revenue_change: float | None = Field(description="% vs the previous period; null when it was 0")
    transactions_change: float | None
    avg_order_value_change: float | None
    conversion_rate_change: float | None = Field(description="Percentage points vs the previous period")
    currency: str = Field(description="Reporting currency of the money fields")
    warnings: list[str] = Field(description="e.g. purchases in other currencies left out of revenue")


@api_route(
    "/stats/ecommerce/overview",
    params=StatsParams,
    response=EcommerceOverviewData,
    tags=TAGS,
    summary="E-commerce overview with comparison",
)
async def ecommerce_overview(ctx: ApiContext, params: StatsParams) -> engine.EcommerceOverview:
    """Revenue, transactions, average order value and conversion rate, with changes against the
    previous period of the same length."""
    return await engine.ecommerce_overview(ctx.services.db, await stats_query(ctx, params))


@api_route(
    "/stats/ecommerce/revenue-timeseries",
    params=StatsParams,
    response=list[RevenuePoint],
    tags=TAGS,
    summary="Revenue and transactions over time",
)
async def ecommerce_revenue_timeseries(ctx: ApiContext, params: StatsParams) -> list[RevenuePoint]:
    """Daily buckets (hourly for 24h), zero-filled."""
    return (await engine.revenue_timeseries(ctx.services.db, await stats_query(ctx, params))).rows


@api_route(
    "/stats/ecommerce/products",
    params=LimitParams,
    response=list[ProductRow],
    tags=TAGS,
    summary="Top products by revenue",
)
async def ecommerce_products(ctx: ApiContext, params: LimitParams) -> list[ProductRow]:
    """Revenue (price x quantity), quantity sold and orders per product."""
    return (await engine.products(ctx.services.db, await stats_query(ctx, params))).rows


@api_route(
    "/stats/ecommerce/funnel",
    params=StatsParams,
    response=list[FunnelStep],
    tags=TAGS,
    summary="Conversion funnel",
)
async def ecommerce_funnel(ctx: ApiContext, params: StatsParams) -> list[FunnelStep]:
    """view_item -> add_to_cart -> begin_checkout -> purchase: visitors who did each step after
    the previous one, and the share lost at each step."""
    return (await engine.funnel(ctx.services.db, await stats_query(ctx, params))).rows


@api_route(
    "/stats/ecommerce/revenue-by-source",
    params=LimitParams,
    response=list[SourceRevenueRow],
    tags=TAGS,
    summary="Revenue by traffic source",
)
async def ecommerce_revenue_by_source(ctx: ApiContext, params: LimitParams) -> list[SourceRevenueRow]:
    """Revenue and transactions by the source of the visit each purchase was made in."""
    return (await engine.revenue_by_source(ctx.services.db, await stats_query(ctx, params))).rows
