"""The engine's store layer: where the numbers of a report come from.

This package is the whole boundary between report logic and tables. The report functions
(engine/stats.py, breakdowns.py, goals.py, ecommerce.py) call `source_for(db, query)` and then
only the operations of the `EventStore` it returns (protocol.py); they never name a table, build
SQL or know which store answered. Every operation returns the same plain shape, rows in the same
order and the same `limit + 1` rows of a list, whichever store answers, so each report is shaped
one way and its answer is identical either way.

Stores:
- `RawTables` (raw_store.py): SQL on events, visits, goal_completions and ecommerce_items
  (raw_traffic_sql.py, raw_commerce_sql.py), built through `Scope` (compiler.py), which always
  adds the sites, the range and the filters. Answers every query.
- `Rollups` (rollup_store.py, rollup_sql.py): rollup_daily, rollup_visitors and the funnel tables
  (docs/rollups.md). Only for the queries `rollups_answer` allows: no filters, local-day buckets,
  every site's rollups in the query's time zone.

- `ClickHouseStore` (clickhouse_store.py): the same operations in ClickHouse SQL (clickhouse_traffic.py,
  clickhouse_commerce.py, built through `ChScope` in clickhouse_scope.py) when the events database
  is ClickHouse, from its raw rows.
- `ClickHouseRollups` (clickhouse_rollups.py): events in ClickHouse and a query the rollups answer:
  rollups kept from ClickHouse in the accounts database, brought current per read
  (rollups/clickhouse_kept.py), read by `Rollups`; the rest by `ClickHouseStore`.

`source_for` (choice.py) is the one place that chooses; `raw_tables()` turns the rollups off in a
block. A new store implements every `EventStore` operation and gets its branch in `source_for`;
nothing outside this package changes. Outside it, by design: parsing
the query (periods, filters, time zones), bucket labels, goals and sites (account data), and every
rate, rounding and result model.
"""

from __future__ import annotations

from analytics_mcp.engine.store.choice import raw_tables, rollups_answer, source_for
from analytics_mcp.engine.store.protocol import (
    BreakdownCounts,
    BreakdownPlan,
    CommerceTotals,
    CurrencyCounts,
    Current,
    EventStore,
    Rows,
    Totals,
    VisitCounter,
)

__all__ = [
    "BreakdownCounts",
    "BreakdownPlan",
    "CommerceTotals",
    "CurrencyCounts",
    "Current",
    "EventStore",
    "Rows",
    "Totals",
    "VisitCounter",
    "raw_tables",
    "rollups_answer",
    "source_for",
]  # fmt: skip
