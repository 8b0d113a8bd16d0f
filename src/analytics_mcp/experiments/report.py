"""Per-variant numbers of one experiment over a date range: the SQL, read on one connection (or
the same reads in ClickHouse, engine/store/clickhouse_experiments.py).

Definitions (every door uses these):
- visitors: distinct client visitor ids (the tracking call's `visitor_id` from localStorage, kept
  as a keyed hash) with any A/B event in range; a visitor counts once over the whole range, not once per day.
- views: page_view events; clicks: click events; conversions: conversion events (one per
  stripe_session_id); converted visitors: distinct visitors with a conversion.
- Events are dated by their own time in the site's time zone; trend buckets are local days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, case, distinct, func, select

from analytics_mcp.engine.query import Query
from analytics_mcp.engine.runner import dialect_of, fetch
from analytics_mcp.engine.store import clickhouse_experiments
from analytics_mcp.engine.timebuckets import bucket_labels, bucket_plan
from analytics_mcp.experiments.model import Experiment, Variant
from analytics_mcp.storage.clickhouse import ClickHouseEvents, EventsDatabase
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.dialects import Dialect
from analytics_mcp.storage.schema import experiment_events

X = experiment_events.c
TOP_CTAS = clickhouse_experiments.TOP_CTAS


@dataclass(slots=True)
class VariantCounts:
    variant: Variant
    visitors: int = 0
    views: int = 0
    clicks: int = 0
    conversions: int = 0
    converters: int = 0  # distinct visitors with a conversion


@dataclass(slots=True)
class ExperimentData:
    experiment: Experiment
    query: Query
    counts: list[VariantCounts]  # every variant, in order (the statistics need them all)
    shown: list[Variant]  # the variants asked for (all, or the one of the `variant` filter)
    total_visitors: int  # distinct among the shown variants
    top_ctas: list[tuple[str, int]]
    labels: list[str]  # trend buckets (local dates; local hours for a 24h period)
    trend: dict[int, dict[int, tuple[int, int]]] = field(default_factory=dict)  # variant -> bucket
    scroll: dict[int, dict[int, list[int]]] = field(default_factory=dict)  # variant -> band -> [n, v]

    def counts_of(self, variant: Variant) -> VariantCounts:
        return next(c for c in self.counts if c.variant.id == variant.id)


def _flag(kind: str) -> ColumnElement[int]:
    return case((X.type == kind, 1), else_=0)


def _where(stmt: Select[Any], experiment: Experiment, query: Query, variant: Variant | None) -> Select[Any]:
    rng = query.range
    stmt = stmt.where(X.experiment_id == experiment.id, X.ts >= rng.start_ms, X.ts < rng.end_ms)
    return stmt if variant is None else stmt.where(X.variant_id == variant.id)


def _statements(
    experiment: Experiment, query: Query, variant: Variant | None, bucket: Any, dialect: Dialect
) -> list[Any]:
    converter = case((X.type == "conversion", X.visitor_key))
    per_variant = select(
        X.variant_id,
        func.count(distinct(X.visitor_key)),
        func.sum(_flag("page_view")),
        func.sum(_flag("click")),
        func.sum(_flag("conversion")),
        func.count(distinct(converter)),
    ).group_by(X.variant_id)
    clicks = func.count().label("clicks")
    ctas = (
        select(X.element, clicks)
        .where(X.type == "click", X.element.is_not(None))
        .group_by(X.element)
        .order_by(clicks.desc(), dialect.ascending(X.element))
        .limit(TOP_CTAS)
    )
    trend = select(X.variant_id, bucket, func.sum(_flag("page_view")), func.sum(_flag("conversion")))
    scroll = select(X.variant_id, X.scroll_band, func.count()).where(X.type == "scroll_depth")
    deepest = _where(
        select(X.variant_id, X.visitor_key, func.max(X.scroll_band).label("band")).where(
            X.type == "scroll_depth"
        ),
        experiment,
        query,
        variant,
    )
    sub = deepest.group_by(X.variant_id, X.visitor_key).subquery()
    return [
        _where(per_variant, experiment, query, None),
        _where(select(func.count(distinct(X.visitor_key))), experiment, query, variant),
        _where(ctas, experiment, query, variant),
        _where(trend, experiment, query, variant).group_by(X.variant_id, bucket),
        _where(scroll, experiment, query, variant).group_by(X.variant_id, X.scroll_band),
        select(sub.c.variant_id, sub.c.band, func.count()).group_by(sub.c.variant_id, sub.c.band),
    ]


async def _sql_rows(
    db: Database, experiment: Experiment, query: Query, variant: Variant | None
) -> Sequence[Sequence[Any]]:
    dialect = dialect_of(db)
    # grouped by its label, so PostgreSQL sees one expression (bind params differ per use)
    bucket = bucket_plan(query, dialect).index(X.ts).label("bucket")
    return await fetch(db, *_statements(experiment, query, variant, bucket, dialect))


async def experiment_data(
    db: EventsDatabase, experiment: Experiment, query: Query, variant: Variant | None = None
) -> ExperimentData:
    """Everything the summary, the variant stats and the MCP tool show, in one read (SQL, or the
    same result sets from ClickHouse: engine/store/clickhouse_experiments.py)."""
    rows: Sequence[Sequence[Any]]
    if isinstance(db, ClickHouseEvents):
        variant_id = None if variant is None else variant.id
        rows = await clickhouse_experiments.experiment_rows(db, query, experiment.id, variant_id)
    else:
        rows = await _sql_rows(db, experiment, query, variant)
    per_variant, total, ctas, trend, scroll, deepest = rows
    counts = {v.id: VariantCounts(v) for v in experiment.variants}
    for var_id, visitors, views, clicks, conversions, converters in per_variant:
        if var_id in counts:
            counts[var_id] = VariantCounts(
                counts[var_id].variant,
                int(visitors),
                int(views),
                int(clicks),
                int(conversions),
                int(converters),
            )
    data = ExperimentData(
        experiment=experiment,
        query=query,
        counts=list(counts.values()),
        shown=[variant] if variant else list(experiment.variants),
        total_visitors=int(total[0][0]),
        top_ctas=[(str(element), int(n)) for element, n in ctas],
        labels=bucket_labels(query),
    )
    for var_id, index, views, conversions in trend:
        data.trend.setdefault(var_id, {})[int(index)] = (int(views), int(conversions))
    for var_id, band, events in scroll:
        data.scroll.setdefault(var_id, {}).setdefault(int(band), [0, 0])[0] = int(events)
    for var_id, band, visitors in deepest:
        data.scroll.setdefault(var_id, {}).setdefault(int(band), [0, 0])[1] = int(visitors)
    return data
