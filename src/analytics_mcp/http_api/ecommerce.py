"""`/api/v1/stats/ecommerce/*`: revenue, products, the funnel and revenue by source (docs/api.md).

Money is in the site's reporting currency; purchases in other currencies count as transactions
but not in revenue, and the overview lists them in `warnings`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from analytics_mcp import engine
from analytics_mcp.engine import FunnelStep, ProductRow, ReportRange, RevenuePoint, SourceRevenueRow
from analytics_mcp.http_api.framework import RouteTable
from analytics_mcp.http_api.stats import (
    CompareParams,
    LimitParams,
    StatsParams,
    TimeseriesParams,
    report_route,
)

TAGS = ("ecommerce",)
routes = RouteTable()


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
    range: ReportRange = Field(description="The range the numbers cover")
    comparison: ReportRange = Field(description="The range the *_change numbers compare with")


ecommerce_overview = report_route(
    routes,
    "/stats/ecommerce/overview",
    engine.ecommerce_overview,
    name="ecommerce_overview",
    params=CompareParams,
    response=EcommerceOverviewData,
    tags=TAGS,
    summary="E-commerce overview with comparison",
    doc="""Revenue, transactions, average order value and conversion rate, with changes against the
    comparison range (`compare`: the previous period of the same length by default), and both
    ranges (`range`, `comparison`; `partial_day` when a range runs past now).""",
    rows=False,
)
ecommerce_revenue_timeseries = report_route(
    routes,
    "/stats/ecommerce/revenue-timeseries",
    engine.revenue_timeseries,
    name="ecommerce_revenue_timeseries",
    params=TimeseriesParams,
    response=list[RevenuePoint],
    tags=TAGS,
    summary="Revenue and transactions over time",
    doc="""One row per bucket (`interval`, as /stats/timeseries), zero-filled.""",
)
ecommerce_products = report_route(
    routes,
    "/stats/ecommerce/products",
    engine.products,
    name="ecommerce_products",
    params=LimitParams,
    response=list[ProductRow],
    tags=TAGS,
    summary="Top products by revenue",
    doc="""Revenue (price x quantity), quantity sold and orders per product.""",
)
ecommerce_funnel = report_route(
    routes,
    "/stats/ecommerce/funnel",
    engine.funnel,
    name="ecommerce_funnel",
    params=StatsParams,
    response=list[FunnelStep],
    tags=TAGS,
    summary="Conversion funnel",
    doc="""view_item -> add_to_cart -> begin_checkout -> purchase: visitors who did each step after
    the previous one, and the share lost at each step.""",
)
ecommerce_revenue_by_source = report_route(
    routes,
    "/stats/ecommerce/revenue-by-source",
    engine.revenue_by_source,
    name="ecommerce_revenue_by_source",
    params=LimitParams,
    response=list[SourceRevenueRow],
    tags=TAGS,
    summary="Revenue by traffic source",
    doc="""Revenue and transactions by the source of the visit each purchase was made in.""",
)
