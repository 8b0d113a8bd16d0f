"""ClickHouse statements for goals and e-commerce, each meaning what its namesake in
raw_commerce_sql.py means: money sums read only the reporting currency, purchases are
transactions, funnel steps are ordered per visitor."""

from __future__ import annotations

from analytics_mcp.engine.store.clickhouse_scope import ChScope, ms
from analytics_mcp.engine.store.clickhouse_traffic import bucket_of
from analytics_mcp.rollups.keys import FUNNEL_STEPS

PURCHASE = ("purchase",)


def goal_counts_sql(scope: ChScope) -> str:
    stmt = scope.completions(["gc.goal_id AS goal", "count()", "uniqExact(gc.visitor_id)"])
    return f"{stmt} GROUP BY goal ORDER BY goal"


def completions_sql(scope: ChScope, goal_id: str) -> tuple[str, str]:
    """(newest `limit`+1 completions, their total) of one goal."""
    goal = [f"gc.goal_id = {scope.param(goal_id, 'String')}"]
    columns = ["gc.id", "gc.goal_id", "gc.visitor_id", "gc.event_id", ms("gc.ts")]
    page = (
        scope.completions(columns, goal) + f" ORDER BY gc.ts DESC, gc.id DESC LIMIT {scope.query.limit + 1}"
    )
    return page, scope.completions(["count()"], goal)


def in_currency(scope: ChScope, column: str) -> str:
    return f"{column} = {scope.param(scope.query.currency, 'String')}"


def revenue_sum(scope: ChScope) -> str:
    return f"sum(if({in_currency(scope, 'e.currency')}, e.revenue, 0.))"


def other_currencies_sql(scope: ChScope) -> str:
    others = ["e.currency IS NOT NULL", f"NOT {in_currency(scope, 'e.currency')}"]
    stmt = scope.scoped_events(["e.currency AS currency", "count()"], PURCHASE, others)
    return f"{stmt} GROUP BY currency ORDER BY currency"


def purchase_totals_sql(scope: ChScope) -> str:
    """transactions, revenue, transactions in currency, purchasing visitors."""
    counted = f"countIf({in_currency(scope, 'e.currency')})"
    return scope.scoped_events(["count()", revenue_sum(scope), counted, "uniqExact(e.visitor_id)"], PURCHASE)


def revenue_timeseries_sql(scope: ChScope) -> str:
    stmt = scope.scoped_events([f"{bucket_of(scope, 'e.ts')} AS b", revenue_sum(scope), "count()"], PURCHASE)
    return f"{stmt} GROUP BY b"


def products_sql(scope: ChScope) -> tuple[str, str]:
    """(top products by revenue, purchases carrying items in other currencies)."""
    amount = f"sum(if({in_currency(scope, 'i.currency')}, i.price * i.quantity, 0.)) AS amount"
    columns = ["i.item_name AS item", amount, "sum(i.quantity) AS quantity", "uniqExact(i.event_id)"]
    top = scope.purchased_items(columns)
    top += f" GROUP BY item ORDER BY amount DESC, quantity DESC, item ASC LIMIT {scope.query.limit + 1}"
    others = ["i.currency IS NOT NULL", f"NOT {in_currency(scope, 'i.currency')}"]
    other = scope.purchased_items(["i.currency AS currency", "uniqExact(i.event_id)"], others)
    return top, f"{other} GROUP BY currency ORDER BY currency"


def funnel_sql(scope: ChScope) -> str:
    """Visitors per ordered step: a step's event counts at or after the visitor reached the step
    before (their first qualifying event of it)."""
    names = [name for name, _ in FUNNEL_STEPS]
    base = scope.scoped_events(["e.visitor_id AS visitor_id", "e.name AS name", "e.ts AS ts"], names)
    steps = [f"funnel_events AS ({base})"]
    for index, name in enumerate(names):
        step = scope.param(name, "String")
        if index == 0:
            body = (
                f"SELECT visitor_id, min(ts) AS t FROM funnel_events WHERE name = {step} GROUP BY visitor_id"
            )
        else:
            body = (
                f"SELECT b.visitor_id AS visitor_id, min(b.ts) AS t FROM funnel_events AS b "
                f"INNER JOIN step{index - 1} AS r ON r.visitor_id = b.visitor_id "
                f"WHERE b.name = {step} AND b.ts >= r.t GROUP BY b.visitor_id"
            )
        steps.append(f"step{index} AS ({body})")
    counts = ", ".join(f"(SELECT count() FROM step{index})" for index in range(len(names)))
    return f"WITH {', '.join(steps)} SELECT {counts}"


def revenue_by_source_sql(scope: ChScope) -> str:
    columns = ["sv.source AS source", f"{revenue_sum(scope)} AS revenue", "count() AS n"]
    stmt = scope.events_with_visits(columns, PURCHASE)
    return f"{stmt} GROUP BY source ORDER BY revenue DESC, n DESC, source ASC LIMIT {scope.query.limit + 1}"
