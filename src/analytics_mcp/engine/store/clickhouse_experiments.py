"""ClickHouse statements for an A/B experiment's numbers, meaning what `experiments/report.py`'s
SQL statements mean, row for row: the same six result sets in the same shapes, so one function
shapes both. `experiment_events` is read with FINAL (a re-sent or copied row counts once); exact
distinct visitors with `uniqExact`; trend buckets as the engine's timeseries buckets."""

from __future__ import annotations

from typing import Any

from analytics_mcp.engine.query import Query
from analytics_mcp.engine.store.clickhouse_scope import FINAL_SETTINGS, ChScope
from analytics_mcp.engine.store.clickhouse_traffic import bucket_of
from analytics_mcp.storage.clickhouse import ClickHouseEvents

TOP_CTAS = 10
ExperimentRows = list[list[tuple[Any, ...]]]


def _where(scope: ChScope, experiment_id: int, variant_id: int | None, *extra: str) -> str:
    conds = [f"x.experiment_id = {scope.param(experiment_id, 'UInt32')}", scope.in_range("x.ts"), *extra]
    if variant_id is not None:
        conds.append(f"x.variant_id = {scope.param(variant_id, 'UInt32')}")
    return f"FROM {scope.table('experiment_events', 'x')} WHERE {' AND '.join(conds)}"


def _is(scope: ChScope, kind: str) -> str:
    return f"x.type = {scope.param(kind, 'String')}"


def experiment_statements(scope: ChScope, experiment_id: int, variant_id: int | None) -> list[str]:
    """Per variant (every variant), distinct visitors (of the shown variants), top CTAs, trend,
    scroll events per band and visitors per deepest band."""
    views, clicks, conversions = _is(scope, "page_view"), _is(scope, "click"), _is(scope, "conversion")
    scrolls = _is(scope, "scroll_depth")
    per_variant = (
        f"SELECT x.variant_id, uniqExact(x.visitor_key), countIf({views}), countIf({clicks}), "
        f"countIf({conversions}), uniqExactIf(x.visitor_key, {conversions}) "
        f"{_where(scope, experiment_id, None)} GROUP BY x.variant_id"
    )
    bucket = bucket_of(scope, "x.ts")
    scrolled = _where(scope, experiment_id, variant_id, scrolls)
    deepest = (
        f"SELECT x.variant_id AS variant, max(x.scroll_band) AS band {scrolled} "
        "GROUP BY variant, x.visitor_key"
    )
    return [
        per_variant,
        f"SELECT uniqExact(x.visitor_key) {_where(scope, experiment_id, variant_id)}",
        f"SELECT x.element AS element, count() AS clicks "
        f"{_where(scope, experiment_id, variant_id, clicks, 'x.element IS NOT NULL')} "
        f"GROUP BY element ORDER BY clicks DESC, element ASC LIMIT {TOP_CTAS}",
        f"SELECT x.variant_id, {bucket} AS b, countIf({views}), countIf({conversions}) "
        f"{_where(scope, experiment_id, variant_id)} GROUP BY x.variant_id, b",
        f"SELECT x.variant_id, x.scroll_band AS band, count() {scrolled} GROUP BY x.variant_id, band",
        f"SELECT variant, band, count() FROM ({deepest}) GROUP BY variant, band",
    ]


async def experiment_rows(
    events: ClickHouseEvents, query: Query, experiment_id: int, variant_id: int | None
) -> ExperimentRows:
    """The six result sets, in `experiment_statements` order (one scope: unused parameters of a
    statement are ignored)."""
    scope = ChScope(query, events)
    out: ExperimentRows = []
    for sql in experiment_statements(scope, experiment_id, variant_id):
        out.append([tuple(row) for row in await events.rows_async(sql, scope.params, FINAL_SETTINGS)])
    return out
