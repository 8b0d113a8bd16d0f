"""E-commerce: overview with comparison, revenue timeseries, products, funnel, revenue by source.

Money sums read only purchases in the reporting currency; a purchase in another currency still
counts as a transaction, a funnel step and product quantity, and adds a warning. One purchase per
transaction_id is guaranteed at ingestion, so purchase rows are transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, literal, select

from analytics_mcp.engine import rollup_answers as from_rollups
from analytics_mcp.engine.compiler import Scope
from analytics_mcp.engine.numbers import change, money, point_change, rate, ratio
from analytics_mcp.engine.periods import DateRange
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
from analytics_mcp.engine.rollup_sql import usable
from analytics_mcp.engine.runner import dialect_of, fetch
from analytics_mcp.engine.stats import visitors_sql
from analytics_mcp.engine.timebuckets import bucket_plan
from analytics_mcp.rollups.keys import FUNNEL_STEPS
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.dialects import Dialect

PURCHASE = ("purchase",)


def in_currency(scope: Scope, currency: ColumnElement[Any]) -> ColumnElement[bool]:
    return currency == literal(scope.query.currency)


def revenue_sum(scope: Scope) -> ColumnElement[float]:
    e = scope.e
    return func.sum(case((in_currency(scope, e.c.currency), e.c.revenue), else_=literal(0.0)))


def other_currencies_sql(scope: Scope) -> Select[Any]:
    e = scope.e
    stmt = scope.scoped_events(e.c.currency, func.count(), names=PURCHASE)
    stmt = stmt.where(e.c.currency.is_not(None), ~in_currency(scope, e.c.currency))
    return stmt.group_by(e.c.currency).order_by(scope.dialect.ascending(e.c.currency))


def currency_warnings(query: Query, others: Sequence[Any], what: str = "purchases") -> list[str]:
    return [
        f"{count} {what if count != 1 else what.rstrip('s')} in {code} counted as transactions "
        f"but left out of revenue (reporting currency {query.currency})"
        for code, count in others
    ]


def purchase_totals_sql(scope: Scope) -> Select[Any]:
    """transactions, revenue, transactions in currency, purchasing visitors."""
    e = scope.e
    counted = func.sum(case((in_currency(scope, e.c.currency), 1), else_=0))
    return scope.scoped_events(
        func.count(), revenue_sum(scope), counted, func.count(distinct(e.c.visitor_id)), names=PURCHASE
    )


async def _commerce_totals(db: Database, query: Query, rng: DateRange) -> tuple[Any, int, Sequence[Any]]:
    if usable(query):
        return await from_rollups.commerce_totals(db, query, rng)
    scope = Scope(query, dialect_of(db), rng)
    totals, traffic, others = await fetch(
        db, purchase_totals_sql(scope), visitors_sql(scope), other_currencies_sql(scope)
    )
    return totals[0], traffic[0][0], others


async def ecommerce_overview(db: Database, query: Query) -> EcommerceOverview:
    """revenue, transactions, average order value and conversion rate (purchasing visitors /
    visitors x 100), with changes against the previous range."""
    (tx, revenue, tx_money, buyers), visitors, others = await _commerce_totals(db, query, query.range)
    (tx0, revenue0, tx_money0, buyers0), visitors0, _ = await _commerce_totals(db, query, query.comparison)
    aov, aov0 = ratio(revenue or 0, tx_money or 0, 2), ratio(revenue0 or 0, tx_money0 or 0, 2)
    conversion, conversion0 = rate(buyers, visitors), rate(buyers0, visitors0)
    return EcommerceOverview(
        range=ReportRange.of(query),
        comparison=ReportRange.of(query.with_range(query.comparison)),
        currency=query.currency,
        warnings=currency_warnings(query, others),
        revenue=money(revenue),
        transactions=tx,
        avg_order_value=aov,
        conversion_rate=conversion,
        revenue_change=change(money(revenue), money(revenue0)),
        transactions_change=change(tx, tx0),
        avg_order_value_change=change(aov, aov0),
        conversion_rate_change=point_change(conversion, conversion0, visitors, visitors0),
        visitors=visitors,
        purchasing_visitors=buyers,
    )


def revenue_timeseries_sql(query: Query, dialect: Dialect) -> tuple[list[str], Select[Any]]:
    scope = Scope(query, dialect)
    buckets = bucket_plan(query, dialect)
    bucket = buckets.index(scope.e.c.ts).label("bucket")
    stmt = scope.scoped_events(bucket, revenue_sum(scope), func.count(), names=PURCHASE)
    return buckets.labels, stmt.group_by(bucket)


async def revenue_timeseries(db: Database, query: Query) -> RevenueTimeseries:
    """Revenue and transactions per bucket (hour for 24h, local day otherwise), zero-filled."""
    dialect = dialect_of(db)
    if usable(query):
        labels = bucket_plan(query, dialect).labels
        rows, others = await from_rollups.revenue_per_day(db, query)
    else:
        labels, stmt = revenue_timeseries_sql(query, dialect)
        rows, others = await fetch(db, stmt, other_currencies_sql(Scope(query, dialect)))
    found = {int(index): (revenue, count) for index, revenue, count in rows}
    points = [
        RevenuePoint(
            date=label, revenue=money(found.get(i, (0.0, 0))[0]), transactions=found.get(i, (0.0, 0))[1]
        )
        for i, label in enumerate(labels)
    ]
    return RevenueTimeseries(
        range=ReportRange.of(query),
        currency=query.currency,
        warnings=currency_warnings(query, others),
        rows=points,
    )


def products_sql(query: Query, dialect: Dialect) -> tuple[Select[Any], Select[Any]]:
    """(top products by revenue, item counts in other currencies). revenue = sum(price x quantity)."""
    scope = Scope(query, dialect)
    i = scope.items
    amount = func.sum(case((in_currency(scope, i.c.currency), i.c.price * i.c.quantity), else_=literal(0.0)))
    quantity = func.sum(i.c.quantity)
    stmt = scope.purchased_items(i.c.item_name, amount, quantity, func.count(distinct(i.c.event_id)))
    stmt = stmt.group_by(i.c.item_name).order_by(
        amount.desc(), quantity.desc(), dialect.ascending(i.c.item_name)
    )
    others = scope.purchased_items(i.c.currency, func.count(distinct(i.c.event_id)))
    others = others.where(i.c.currency.is_not(None), ~in_currency(scope, i.c.currency)).group_by(i.c.currency)
    return stmt.limit(query.limit + 1), others.order_by(dialect.ascending(i.c.currency))


async def products(db: Database, query: Query) -> Products:
    """Top products by revenue, with quantity sold and orders (purchases containing them)."""
    if usable(query):
        top, others = await from_rollups.products(db, query)
    else:
        top, others = await fetch(db, *products_sql(query, dialect_of(db)))
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


def funnel_sql(query: Query, dialect: Dialect) -> Select[Any]:
    """Visitors per ordered step: step n counts visitors whose step-n event is at or after the
    time they reached step n-1 (their first qualifying event of that step)."""
    scope = Scope(query, dialect)
    e = scope.e
    names = [name for name, _ in FUNNEL_STEPS]
    base = scope.scoped_events(e.c.visitor_id, e.c.name, e.c.ts, names=names).cte("funnel_events")
    reached = []
    previous = None
    for index, name in enumerate(names):
        joined: Any = base
        conds = [base.c.name == name]
        if previous is not None:
            joined = base.join(
                previous, and_(previous.c.visitor_id == base.c.visitor_id, base.c.ts >= previous.c.t)
            )
        step = select(base.c.visitor_id, func.min(base.c.ts).label("t")).select_from(joined).where(*conds)
        previous = step.group_by(base.c.visitor_id).cte(f"step{index}")
        reached.append(previous)
    return select(*(select(func.count()).select_from(step).scalar_subquery() for step in reached))


async def funnel(db: Database, query: Query) -> Funnel:
    """view_item -> add_to_cart -> begin_checkout -> purchase, ordered, with drop-off rates."""
    if usable(query):
        counts = await from_rollups.funnel_counts(db, query, query.range)
    else:
        (rows,) = await fetch(db, funnel_sql(query, dialect_of(db)))
        counts = list(rows[0])
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


def revenue_by_source_sql(query: Query, dialect: Dialect) -> Select[Any]:
    scope = Scope(query, dialect)
    source, revenue = scope.v.c.source, revenue_sum(scope)
    stmt = scope.events_with_visits(source, revenue, func.count(), names=PURCHASE).group_by(source)
    return stmt.order_by(revenue.desc(), func.count().desc(), dialect.ascending(source)).limit(
        query.limit + 1
    )


async def revenue_by_source(db: Database, query: Query) -> RevenueBySource:
    """Revenue and transactions by the source of the visit the purchase happened in."""
    if usable(query):
        top, others = await from_rollups.revenue_by_source(db, query)
    else:
        dialect = dialect_of(db)
        top, others = await fetch(
            db, revenue_by_source_sql(query, dialect), other_currencies_sql(Scope(query, dialect))
        )
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
