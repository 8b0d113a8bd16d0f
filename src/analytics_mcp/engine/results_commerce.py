"""Typed results of the goal and e-commerce functions (REST field names, docs/api.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from analytics_mcp.engine.results import Report, ReportRange


class GoalRow(BaseModel):
    id: str
    name: str
    type: str = Field(description="url or event")
    config: dict[str, str]
    completions: int
    visitors: int = Field(description="Unique visitors who completed the goal")
    conversion_rate: float = Field(description="Converting visitors / visitors x 100")
    hostname: str | None = Field(
        default=None, exclude_if=lambda v: v is None, description="The goal's site, when several are read"
    )


class GoalsReport(Report):
    visitors: int = Field(description="All visitors in range (the conversion rate's base)")
    goals: list[GoalRow]


class GoalRef(BaseModel):
    id: str
    name: str
    type: str


class CompletionRow(BaseModel):
    id: str
    goal_id: str
    visitor_hash: str
    pageview_id: str = Field(description="Id of the event that completed the goal")
    created_at: str = Field(description="ISO 8601 UTC")


class GoalCompletions(Report):
    goal: GoalRef
    rows: list[CompletionRow] = Field(description="Newest first")
    total: int
    truncated: bool


class Money(Report):
    currency: str = Field(description="Reporting currency; money sums include only this currency")
    warnings: list[str] = Field(default_factory=list)


class EcommerceOverview(Money):
    revenue: float
    transactions: int
    avg_order_value: float
    conversion_rate: float
    revenue_change: float | None
    transactions_change: float | None
    avg_order_value_change: float | None
    conversion_rate_change: float | None = Field(description="Percentage points")
    visitors: int
    purchasing_visitors: int
    comparison: ReportRange


class RevenuePoint(BaseModel):
    date: str
    revenue: float
    transactions: int


class RevenueTimeseries(Money):
    rows: list[RevenuePoint]


class ProductRow(BaseModel):
    item_name: str
    revenue: float
    quantity: int
    orders: int


class Products(Money):
    rows: list[ProductRow]
    truncated: bool


class FunnelStep(BaseModel):
    step: str
    label: str
    visitors: int
    dropoff_rate: float = Field(description="% lost from the previous step (first step 0.0)")


class Funnel(Report):
    rows: list[FunnelStep]


class SourceRevenueRow(BaseModel):
    source: str
    revenue: float
    transactions: int


class RevenueBySource(Money):
    rows: list[SourceRevenueRow]
    truncated: bool
