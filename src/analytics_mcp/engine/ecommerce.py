"""E-commerce: overview with comparison, revenue timeseries, products, funnel, revenue by source.

Money sums read only purchases in the reporting currency; a purchase in another currency still
counts as a transaction, a funnel step and product quantity, and adds a warning. One purchase per
transaction_id is guaranteed at ingestion, so purchase rows are transactions.
"""

from __future__ import annotations

from analytics_mcp.engine.numbers import change, money, point_change, rate, ratio
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.results import ReportRange
from analytics_mcp.engine.results_commerce import (
    EcommerceOverview,
    Funnel,
    FunnelStep,
    ProductRow,
    Products,
    RevenueBySource,
    RevenuePoint,
    RevenueTimeseries,
    SourceRevenueRow,
)
from analytics_mcp.engine.store import CommerceTotals, CurrencyCounts, source_for
from analytics_mcp.engine.timebuckets import bucket_labels
from analytics_mcp.rollups.keys import FUNNEL_STEPS
from analytics_mcp.storage.clickhouse import EventsDatabase


def currency_warnings(query: Query, others: CurrencyCounts, what: str = "purchases") -> list[str]:
    return [
        f"{count} {what if count != 1 else what.rstrip('s')} in {code} counted as transactions "
        f"but left out of revenue (reporting currency {query.currency})"
        for code, count in others
    ]


def avg_order_value(totals: CommerceTotals) -> float:
    return ratio(totals.revenue or 0, totals.transactions_in_currency or 0, 2)


def conversion_rate(totals: CommerceTotals) -> float:
    return rate(totals.purchasing_visitors, totals.visitors)


async def ecommerce_overview(db: EventsDatabase, query: Query) -> EcommerceOverview:
    """revenue, transactions, average order value and conversion rate (purchasing visitors /
    visitors x 100), with changes against the previous range."""
    store = source_for(db, query)
    now, before = await store.commerce_totals(query.range), await store.commerce_totals(query.comparison)
    aov, aov0 = avg_order_value(now), avg_order_value(before)
    conversion, conversion0 = conversion_rate(now), conversion_rate(before)
    return EcommerceOverview(
        range=ReportRange.of(query),
        comparison=ReportRange.comparison_of(query),
        currency=query.currency,
        warnings=currency_warnings(query, now.other_currencies),
        revenue=money(now.revenue),
        transactions=now.transactions,
        avg_order_value=aov,
        conversion_rate=conversion,
        revenue_change=change(money(now.revenue), money(before.revenue)),
        transactions_change=change(now.transactions, before.transactions),
        avg_order_value_change=change(aov, aov0),
        conversion_rate_change=point_change(conversion, conversion0, now.visitors, before.visitors),
        visitors=now.visitors,
        purchasing_visitors=now.purchasing_visitors,
    )


async def revenue_timeseries(db: EventsDatabase, query: Query) -> RevenueTimeseries:
    """Revenue and transactions per bucket (hour for 24h, local day otherwise), zero-filled."""
    found, others = await source_for(db, query).revenue_per_bucket()
    points = [
        RevenuePoint(
            date=label, revenue=money(found.get(i, (0.0, 0))[0]), transactions=found.get(i, (0.0, 0))[1]
        )
        for i, label in enumerate(bucket_labels(query))
    ]
    return RevenueTimeseries(
        range=ReportRange.of(query),
        currency=query.currency,
        warnings=currency_warnings(query, others),
        rows=points,
    )


async def products(db: EventsDatabase, query: Query) -> Products:
    """Top products by revenue, with quantity sold and orders (purchases containing them)."""
    top, others = await source_for(db, query).products()
    rows = [
        ProductRow(item_name=name, revenue=money(amount), quantity=quantity, orders=orders)
        for name, amount, quantity, orders in top[: query.limit]
    ]
    return Products(
        range=ReportRange.of(query),
        currency=query.currency,
        warnings=currency_warnings(query, others),
        rows=rows,
        truncated=len(top) > query.limit,
    )


async def funnel(db: EventsDatabase, query: Query) -> Funnel:
    """view_item -> add_to_cart -> begin_checkout -> purchase, ordered, with drop-off rates."""
    counts = await source_for(db, query).funnel_counts()
    steps = [
        FunnelStep(
            step=name,
            label=label,
            visitors=counts[i],
            dropoff_rate=0.0 if i == 0 else rate(counts[i - 1] - counts[i], counts[i - 1]),
        )
        for i, (name, label) in enumerate(FUNNEL_STEPS)
    ]
    return Funnel(range=ReportRange.of(query), rows=steps)


async def revenue_by_source(db: EventsDatabase, query: Query) -> RevenueBySource:
    """Revenue and transactions by the source of the visit the purchase happened in."""
    top, others = await source_for(db, query).revenue_by_source()
    rows = [
        SourceRevenueRow(source=source, revenue=money(amount), transactions=count)
        for source, amount, count in top[: query.limit]
    ]
    return RevenueBySource(
        range=ReportRange.of(query),
        currency=query.currency,
        warnings=currency_warnings(query, others),
        rows=rows,
        truncated=len(top) > query.limit,
    )
