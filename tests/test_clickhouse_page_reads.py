"""Page-filtered reads on ClickHouse count each pageview once however many of its versions are
stored (issue 14): they read the events without FINAL, from the pageviews_by_path projection
(schema step 6), counting distinct ids and taking a pageview's times from its latest version."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from analytics_mcp.engine.query import Query, parse_query
from analytics_mcp.engine.store.clickhouse_scope import FINAL_SETTINGS, ChScope
from analytics_mcp.engine.store.clickhouse_store import ClickHouseStore
from analytics_mcp.engine.store.clickhouse_traffic import pages_sql
from analytics_mcp.storage.account_types import Site
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from clickhouse_support import chdb_url

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SITE = Site(1, 1, "a.test", "UTC", "USD")
VISIT_COLUMNS = ("id", "site_id", "visitor_id", "started_at", "ended_at", "pageviews", "events", "version")
EVENT_COLUMNS = (
    "id", "site_id", "visit_id", "visitor_id", "ts", "name", "pathname", "engaged_ms", "gap_ms", "version",
)  # fmt: skip


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 8, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def events() -> Iterator[ClickHouseEvents]:
    store = open_clickhouse(chdb_url("page_reads"))
    upgrade_clickhouse(store)
    store.command(f"SYSTEM STOP MERGES {store.table('events')}")  # keep both versions apart
    visits = [
        (1, 1, 10, at(10, 0), at(10, 1), 2, 2, 1),
        (2, 1, 11, at(11, 0), at(11, 0), 1, 1, 1),
    ]
    store.insert("visits", visits, VISIT_COLUMNS)
    first = [
        (100, 1, 1, 10, at(10, 0), "pageview", "/pricing", None, 60_000, 1),
        (101, 1, 1, 10, at(10, 1), "pageview", "/", None, None, 1),
        (102, 1, 2, 11, at(11, 0), "pageview", "/pricing", 10_000, None, 1),
    ]
    # Other pages filling three granules of the day, so that the projection reads fewer of them.
    other = [(1000 + i, 1, 1, 10, at(10, 0), "pageview", "/other", None, None, 1) for i in range(20_000)]
    store.insert("events", first + other, EVENT_COLUMNS, token="first")
    # Pageview 100 rewritten when its engaged time arrived (a higher version), and pageview 102's
    # row re-sent in another frame (the same version).
    later = [(100, 1, 1, 10, at(10, 0), "pageview", "/pricing", 30_000, 60_000, 2), first[2]]
    store.insert("events", later, EVENT_COLUMNS, token="later")
    yield store


def page_query() -> Query:
    return parse_query([SITE], "UTC", period="7d", site="a.test", filters="page==/pricing", now=NOW)


def test_both_versions_are_stored(events: ClickHouseEvents) -> None:
    assert events.rows(f"SELECT count() FROM {events.table('events')} WHERE pathname = '/pricing'")[0][0] == 4


async def test_top_pages_count_a_rewritten_pageview_once(events: ClickHouseEvents) -> None:
    """Its engaged time from its latest version."""
    rows = await ClickHouseStore(events, page_query()).pages()
    assert [tuple(r) for r in rows] == [("/pricing", 2, 2, 20_000.0)]  # (30,000 + 10,000) / 2


async def test_totals_and_buckets_count_each_pageview_once(events: ClickHouseEvents) -> None:
    query = page_query()
    store = ClickHouseStore(events, query)
    totals = await store.totals(query.range)
    assert (totals.visitors, totals.pageviews, totals.visits) == (2, 2, 2)
    visitors, pageviews = await store.per_bucket()
    assert sum(visitors.values()) == 2 and sum(pageviews.values()) == 2
    assert visitors.keys() == pageviews.keys() and len(visitors) == 1


def test_page_reads_can_use_the_projection(events: ClickHouseEvents) -> None:
    """ClickHouse picks the projection when it reads fewer granules (at 10M, a tenth of them); the
    setting makes the read fail unless it does."""
    scope = ChScope(page_query(), events)
    settings = {**FINAL_SETTINGS, "force_optimize_projection_name": "pageviews_by_path"}
    plan = events.rows(f"EXPLAIN indexes = 1 {pages_sql(scope)}", scope.params, settings)
    assert "pageviews_by_path" in "\n".join(str(row[0]) for row in plan)
