"""Rows of one batch: events, visits, gaps, engagement, goal completions and e-commerce items,
accumulated in memory and written with a few executemany calls.

Event and visit ids are assigned here (the writer holds the write lock, so max(id)+1 is safe),
which lets events, completions and items reference each other before anything is inserted.
Event rows are lists in EVENT_COLUMNS order: the hot path avoids per-row dicts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam, func, insert, select, update

from analytics_mcp.ingest import enrich
from analytics_mcp.ingest.event import ACCEPTED_OUTCOME, Outcome, PendingEvent, PreparedEvent, dropped
from analytics_mcp.ingest.visits import VisitBook, VisitState
from analytics_mcp.ingest.wire import IDENTIFY
from analytics_mcp.rollups.maintain import RollupBatch, group_items
from analytics_mcp.storage.profiles import ProfileBatch
from analytics_mcp.storage.schema import ecommerce_items, events, goal_completions, visits

EVENT_COLUMNS = tuple(c.name for c in events.columns)
# `_event_row` lists the values in this order (no per-row dict on the hot path).
if EVENT_COLUMNS != (
    "id", "site_id", "visit_id", "visitor_id", "ts", "name", "hostname", "pathname", "props",
    "interactive", "engaged_ms", "scroll_depth", "gap_ms", "revenue", "currency", "transaction_id",
    "client_event_id", "user_id",
):  # fmt: skip
    raise RuntimeError("events columns changed: update RowWriter._event_row")
VISIT_COLUMNS = tuple(c.name for c in visits.columns)
_I = {name: i for i, name in enumerate(EVENT_COLUMNS)}
ID, VISIT, TS, ENGAGED, SCROLL, GAP = (
    _I[n] for n in ("id", "visit_id", "ts", "engaged_ms", "scroll_depth", "gap_ms")
)
SITE, VISITOR, NAME, PATH, REVENUE, CURRENCY = (
    _I[n] for n in ("site_id", "visitor_id", "name", "pathname", "revenue", "currency")
)


def next_ids(conn: Connection) -> tuple[int, int]:
    """The next free event and visit ids (call inside the write transaction)."""
    event_max = conn.execute(select(func.max(events.c.id))).scalar() or 0
    visit_max = conn.execute(select(func.max(visits.c.id))).scalar() or 0
    return event_max + 1, visit_max + 1


class RowWriter:
    """Accumulates the rows of one batch, then writes them in a few executemany calls."""

    def __init__(self, next_event_id: int) -> None:
        self._next_id = next_event_id
        self.event_rows: list[list[Any]] = []
        self.completions: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.stored_gaps: dict[int, int] = {}
        self.stored_engagement: dict[int, list[int]] = {}  # id -> [engaged_ms, max scroll]
        self.side_rows: dict[Table, list[dict[str, Any]]] = {}
        self.profiles = ProfileBatch()  # identified events' profiles (with ClickHouse: to the accounts)

    def number_from(self, next_event_id: int) -> None:
        """Number the rows this writer adds from `next_event_id` (none added yet)."""
        assert not self.event_rows
        self._next_id = next_event_id

    def add(self, conn: Connection | None, book: VisitBook, item: PreparedEvent) -> Outcome:
        """`conn`: the SQL write transaction (None where `_stored_pageview` reads elsewhere)."""
        event, hostname, pathname = item.event, item.hostname, item.pathname
        if event.user_id is not None:
            traits = orjson.loads(event.traits) if event.traits else None
            self.profiles.add(item.site.tenant_id, item.site.id, event.user_id, traits, event.ts)
            if event.name == IDENTIFY:  # says who the visitor is; no event row, no visit
                return ACCEPTED_OUTCOME
        visit = book.find_open(item.site.id, item.visitor_ids, event.ts)
        if event.name == "engagement":
            if visit is None:
                return dropped("no open visit")
            self._engage(conn, visit, pathname, event)
        elif visit is None:
            visit = book.start(item.site.id, item.visitor_ids[-1], event.ts, visit_attributes(item, pathname))
        row = self._event_row(event, visit, hostname, pathname)
        if event.side_row is not None:
            side = event.side_row
            self.side_rows.setdefault(side.table, []).append({**side.values, "event_id": row[ID]})
        if event.name == "pageview":
            self._pageview(visit, row, pathname)
        elif event.interactive:
            visit.interactions += 1
        visit.events += 1
        visit.touch(event.ts)
        self._goals_and_items(item, row, visit, pathname)
        return ACCEPTED_OUTCOME

    def _event_row(self, event: PendingEvent, visit: VisitState, hostname: str, pathname: str) -> list[Any]:
        row_id = self._next_id
        self._next_id += 1
        engaged = event.engagement_ms if event.name == "engagement" else None
        scroll = event.scroll_depth if event.name == "engagement" else None
        row = [
            row_id, visit.site_id, visit.id, visit.visitor_id, event.ts, event.name, hostname, pathname,
            event.props, event.interactive, engaged, scroll, None, event.revenue, event.currency,
            event.transaction_id, event.event_id, event.user_id,
        ]  # fmt: skip
        self.event_rows.append(row)
        return row

    def _pageview(self, visit: VisitState, row: list[Any], pathname: str) -> None:
        if visit.last_pageview_at is not None and row[TS] >= visit.last_pageview_at:
            gap = row[TS] - visit.last_pageview_at
            if visit.last_pageview_row is not None:
                visit.last_pageview_row[GAP] = gap
            elif visit.last_pageview_id is not None:
                self.stored_gaps[visit.last_pageview_id] = gap
        visit.pageviews += 1
        visit.last_pageview_id = row[ID]
        visit.last_pageview_at = row[TS]
        visit.last_pageview_row = row
        visit.exit_path = pathname
        visit.batch_pageviews[pathname] = row

    def _engage(self, conn: Connection | None, visit: VisitState, pathname: str, event: PendingEvent) -> None:
        """Engaged time and scroll depth go to the visit's latest pageview of the same path."""
        ms, depth = event.engagement_ms or 0, event.scroll_depth or 0
        row = visit.batch_pageviews.get(pathname)
        if row is not None:
            row[ENGAGED] = (row[ENGAGED] or 0) + ms
            row[SCROLL] = max(row[SCROLL] or 0, depth)
            return
        target = visit.last_pageview_id if visit.exit_path == pathname else None
        if target is None and not visit.is_new:
            target = self._stored_pageview(conn, visit, pathname)
        if target is not None:
            acc = self.stored_engagement.setdefault(target, [0, 0])
            acc[0] += ms
            acc[1] = max(acc[1], depth)

    def _stored_pageview(self, conn: Connection | None, visit: VisitState, pathname: str) -> int | None:
        """The id of the visit's latest stored pageview of `pathname`."""
        assert conn is not None
        found: int | None = conn.execute(
            select(events.c.id)
            .where(events.c.visit_id == visit.id, events.c.name == "pageview", events.c.pathname == pathname)
            .order_by(events.c.ts.desc())
            .limit(1)
        ).scalar()
        return found

    def _goals_and_items(self, item: PreparedEvent, row: list[Any], visit: VisitState, pathname: str) -> None:
        event = item.event
        for goal in item.site.goals:
            if goal.matches(event.name, pathname):
                self.completions.append(
                    {
                        "goal_id": goal.goal_id,
                        "site_id": visit.site_id,
                        "visitor_id": visit.visitor_id,
                        "visit_id": visit.id,
                        "event_id": row[ID],
                        "ts": event.ts,
                    }
                )
        for product in event.items or ():
            self.items.append(
                {
                    "event_id": row[ID],
                    "site_id": visit.site_id,
                    "ts": event.ts,
                    "event_name": event.name,
                    "item_id": product.item_id,
                    "item_name": product.item_name,
                    "price": product.price,
                    "quantity": product.quantity,
                    "currency": event.currency,
                }
            )

    def flush(self, conn: Connection, book: VisitBook, rollup: RollupBatch) -> None:
        if book.created:
            rows = [v.insert_row() for v in book.created]
            _insert_tuples(conn, visits.name, VISIT_COLUMNS, [[r[c] for c in VISIT_COLUMNS] for r in rows])
        changed = book.changed()
        if changed:
            stmt = update(visits).where(visits.c.id == bindparam("b_id"))
            conn.execute(stmt, [{**v.counters(), "b_id": v.id} for v in changed])
        if self.event_rows:
            _insert_tuples(conn, events.name, EVENT_COLUMNS, self.event_rows)
        if self.completions:
            conn.execute(insert(goal_completions), self.completions)
        if self.items:
            conn.execute(insert(ecommerce_items), self.items)
        for table, side_rows in self.side_rows.items():
            conn.execute(insert(table), side_rows)
        self.profiles.write(conn)
        self._flush_updates(conn, rollup)
        self._roll_up(book, rollup)
        rollup.write(conn)

    def _roll_up(self, book: VisitBook, rollup: RollupBatch) -> None:
        for visit in book.created:
            rollup.visit(visit.site_id, visit.visitor_id, visit.attributes, None, visit.facts())
        for visit in book.changed():
            rollup.visit(visit.site_id, visit.visitor_id, visit.attributes, visit.original, visit.facts())
        visits_by_id = book.by_id() if any(r[NAME] == "purchase" for r in self.event_rows) else {}
        for row in self.event_rows:
            rollup.funnel.event(row[SITE], row[VISITOR], row[NAME], row[TS])
            if row[NAME] == "pageview":
                on_page = row[ENGAGED] if row[ENGAGED] is not None else row[GAP]
                rollup.pageview(row[SITE], row[VISITOR], row[TS], row[PATH], on_page)
            elif row[NAME] == "purchase":
                source = visits_by_id[row[VISIT]].attributes["source"]
                rollup.purchase(row[SITE], row[VISITOR], row[TS], row[CURRENCY], row[REVENUE], source)
        for c in self.completions:
            rollup.completion(c["site_id"], c["visitor_id"], c["ts"], c["goal_id"])
        for items in group_items(self.items):
            rollup.purchased_items(items)

    def _flush_updates(self, conn: Connection, rollup: RollupBatch) -> None:
        """Gaps and engagement of pageviews stored by earlier batches (read-modify-write is safe:
        the single writer holds the write transaction)."""
        touched = set(self.stored_gaps) | set(self.stored_engagement)
        if not touched:
            return
        e = events.c
        stmt = select(e.id, e.site_id, e.ts, e.pathname, e.engaged_ms, e.scroll_depth, e.gap_ms)
        params = []
        for row_id, site_id, ts, pathname, engaged, depth, gap in conn.execute(stmt.where(e.id.in_(touched))):
            new_gap = self.stored_gaps.get(row_id, gap)
            new_engaged, new_depth = engaged, depth
            if row_id in self.stored_engagement:
                added_ms, seen_depth = self.stored_engagement[row_id]
                new_engaged, new_depth = (engaged or 0) + added_ms, max(depth or 0, seen_depth)
            params.append(
                {"b_id": row_id, "engaged_ms": new_engaged, "scroll_depth": new_depth, "gap_ms": new_gap}
            )
            old_on_page = engaged if engaged is not None else gap
            new_on_page = new_engaged if new_engaged is not None else new_gap
            rollup.time_on_page_changed(site_id, ts, pathname, old_on_page, new_on_page)
        if params:
            conn.execute(update(events).where(events.c.id == bindparam("b_id")), params)


def _insert_tuples(conn: Connection, table: str, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
    """executemany straight to the driver: the hot table skips per-row parameter processing."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, [tuple(r) for r in rows])


VISIT_ATTRIBUTES = VISIT_COLUMNS[12:]  # `visit_values`' order
assert VISIT_ATTRIBUTES == (
    "source", "referrer", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_content",
    "utm_term", "device_type", "browser", "os", "language", "country",
)  # fmt: skip


def visit_attributes(item: PreparedEvent, pathname: str) -> dict[str, Any]:
    """A visit's attributes, fixed by its first event `item` (of path `pathname`)."""
    (
        source, referrer, channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term,
        device_type, browser, os, language, country,
    ) = visit_values(item)  # fmt: skip
    return {
        "entry_path": pathname, "source": source, "referrer": referrer, "channel": channel,
        "utm_source": utm_source, "utm_medium": utm_medium, "utm_campaign": utm_campaign,
        "utm_content": utm_content, "utm_term": utm_term, "device_type": device_type,
        "browser": browser, "os": os, "language": language, "country": country,
    }  # fmt: skip


def visit_values(item: PreparedEvent) -> tuple[Any, ...]:
    """`visit_attributes` but the entry path, as a tuple (VISIT_ATTRIBUTES): what the ClickHouse
    writer's columns take, without a dict per visit."""
    event, client = item.event, item.client
    return visit_values_of(
        event.url, event.referrer, item.site.domain, client.device_type, client.browser, client.os,
        event.language, event.country,
    )  # fmt: skip


@lru_cache(maxsize=65536)  # a pure function of its arguments, and a site's visits repeat them
def visit_values_of(
    url: str, referrer: str | None, domain: str, device_type: str, browser: str, os: str,
    language: str | None, country: str | None,
) -> tuple[Any, ...]:  # fmt: skip
    """`visit_values` of a first event with these fields (the ClickHouse writer reads them as
    columns from the spool frames, without the event)."""
    acq = enrich.classify_acquisition(url, referrer, domain)
    return (
        acq.source, acq.referrer, acq.channel, acq.utm_source, acq.utm_medium, acq.utm_campaign,
        acq.utm_content, acq.utm_term, device_type, browser, os, enrich.primary_language(language),
        country,
    )  # fmt: skip
