"""Statements of the raw-tables store for goals and e-commerce, over goal_completions, events and
ecommerce_items. Money sums read only the reporting currency; purchase rows are transactions (one
per transaction_id, guaranteed at ingestion)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, literal, select

from analytics_mcp.engine.query import Query
from analytics_mcp.engine.store.compiler import Scope
from analytics_mcp.engine.store.raw_traffic_sql import limited
from analytics_mcp.engine.timebuckets import bucket_plan
from analytics_mcp.rollups.keys import FUNNEL_STEPS
from analytics_mcp.storage.dialects import Dialect

PURCHASE = ("purchase",)


def goal_counts_sql(query: Query, dialect: Dialect) -> Select[Any]:
    scope = Scope(query, dialect)
    gc = scope.gc
    stmt = scope.completions(gc.c.goal_id, func.count(), func.count(distinct(gc.c.visitor_id)))
    return stmt.group_by(gc.c.goal_id)


def completions_sql(query: Query, dialect: Dialect, goal_id: str) -> tuple[Select[Any], Select[Any]]:
    """(newest `limit`+1 completions, their total) of one goal in range."""
    scope = Scope(query, dialect)
    gc = scope.gc
    cols = (gc.c.id, gc.c.goal_id, gc.c.visitor_id, gc.c.event_id, gc.c.ts)
    page = scope.completions(*cols).where(gc.c.goal_id == goal_id)
    page = page.order_by(gc.c.ts.desc(), gc.c.id.desc()).limit(query.limit + 1)
    total = scope.completions(func.count()).where(gc.c.goal_id == goal_id)
    return page, total


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


def purchase_totals_sql(scope: Scope) -> Select[Any]:
    """transactions, revenue, transactions in currency, purchasing visitors."""
    e = scope.e
    counted = func.sum(case((in_currency(scope, e.c.currency), 1), else_=0))
    return scope.scoped_events(
        func.count(), revenue_sum(scope), counted, func.count(distinct(e.c.visitor_id)), names=PURCHASE
    )


def revenue_timeseries_sql(query: Query, dialect: Dialect) -> Select[Any]:
    """(bucket index, revenue, transactions) per bucket with purchases."""
    scope = Scope(query, dialect)
    bucket = bucket_plan(query, dialect).index(scope.e.c.ts).label("bucket")
    stmt = scope.scoped_events(bucket, revenue_sum(scope), func.count(), names=PURCHASE)
    return stmt.group_by(bucket)


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
    return limited(stmt, query), others.order_by(dialect.ascending(i.c.currency))


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


def revenue_by_source_sql(query: Query, dialect: Dialect) -> Select[Any]:
    scope = Scope(query, dialect)
    source, revenue = scope.v.c.source, revenue_sum(scope)
    stmt = scope.events_with_visits(source, revenue, func.count(), names=PURCHASE).group_by(source)
    return limited(stmt.order_by(revenue.desc(), func.count().desc(), dialect.ascending(source)), query)
