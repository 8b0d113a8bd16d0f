"""The restriction of a kept subset (docs/rollups.md "Kept subsets on ClickHouse") inside the kept
rollups' statements (clickhouse_kept_sql.py): which visits pass, which pageviews are the subset's.
The conditions are the raw store's own (engine/store/clickhouse_scope.py ChScope.condition), with
its parameters; the statements' own parameters (s, m, b, dm, db) bound the rows read.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents

# Visits last under 48 hours (their visitor id's salt is gone by then: docs/rollups.md), so a visit
# ending on or after A-4 started after A-4's midnight minus 3 days.
LONGEST_VISIT_MS = 3 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Only:
    """A subset's restriction, conditions with the caller's parameters: `visits` on a visit's
    columns, `pages` on a pageview's `pathname` (its page filters). A visit passes when it meets
    `visits` and has a pageview meeting `pages` (at any time: the raw store's semi-join); its
    visits, completions, purchases and items are the subset's. A page filter counts pageviews, not
    visits: the subset's pageviews are the matching ones (of visits meeting `visits`), and so are
    its ALL and HOUR visitor marks (the raw store counts the visitors of those pageviews)."""

    visits: str | None = None
    pages: str | None = None


def of_visits(store: ClickHouseEvents, column: str, only: Only | None, *, viewed: bool = True) -> str:
    """` AND column IN (the passing visits' ids)`, or nothing without `only`; `viewed=False`: of
    the visits meeting `only.visits` alone (for the matching pageviews themselves). A row from M
    on belongs to a visit that ended at M or later (bounds the visits read)."""
    conditions = passing(store, only, viewed=viewed)
    if not conditions:
        return ""
    visits = (
        f"SELECT id FROM {store.table('visits')} FINAL WHERE site_id = {{s:UInt32}} "
        f"AND ended_at >= fromUnixTimestamp64Milli({{m:Int64}}){conditions}"
    )
    return f" AND {column} IN ({visits})"


def passing(store: ClickHouseEvents, only: Only | None, *, viewed: bool = True) -> str:
    """` AND` the conditions on a visit (`id` and its columns) of the passing visits, or nothing.
    Their matching pageview is read from M minus the longest visit (every visit read started
    then or later) to B plus it (a visit started before B ends before then)."""
    conds = [] if only is None or only.visits is None else [f"({only.visits})"]
    if only is not None and only.pages is not None and viewed:
        conds.append(
            f"id IN (SELECT visit_id FROM {store.table('events')} WHERE site_id = {{s:UInt32}} "
            f"AND name = '{PAGEVIEW}' AND ({only.pages}) "
            f"AND ts >= fromUnixTimestamp64Milli({{m:Int64}} - {LONGEST_VISIT_MS}) "
            f"AND toDate(ts) >= {{dm:Date}} - 3 "
            f"AND ts < fromUnixTimestamp64Milli({{b:Int64}} + {LONGEST_VISIT_MS}) "
            f"AND toDate(ts) <= {{db:Date}} + 3)"
        )
    return "".join(f" AND {cond}" for cond in conds)


def matching(store: ClickHouseEvents, only: Only | None) -> str:
    """` AND` the subset's pageviews: matching the page filters, of visits meeting the visit
    filters (such a pageview's visit passes); every pageview without `only`."""
    pages = "" if only is None or only.pages is None else f" AND ({only.pages})"
    return pages + of_visits(store, "visit_id", only, viewed=False)
