"""Rows of one batch: events, visits, gaps, engagement, goal completions and e-commerce items,
accumulated in memory and written with a few executemany calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, bindparam, insert, select, update
from ulid import ULID

from analytics_mcp.ingest import enrich
from analytics_mcp.ingest.model import ACCEPTED, Outcome, PendingEvent, dropped
from analytics_mcp.ingest.sites import SiteInfo
from analytics_mcp.ingest.visits import VisitBook, VisitState
from analytics_mcp.storage.schema import ecommerce_items, events, goal_completions, visits


@dataclass(slots=True)
class Live:
    index: int
    event: PendingEvent
    site: SiteInfo
    client: enrich.ClientInfo
    visitor_ids: tuple[int, ...]  # previous day's salt first, then the event's own day


class RowWriter:
    """Accumulates the rows of one batch, then writes them in a few executemany calls."""

    def __init__(self) -> None:
        self.event_rows: list[dict[str, Any]] = []
        self.visit_of_row: list[VisitState] = []
        self.completions: list[tuple[dict[str, Any], VisitState]] = []
        self.items: list[dict[str, Any]] = []
        self.stored_gaps: dict[str, int] = {}
        self.stored_engagement: dict[str, list[int]] = {}  # id -> [engaged_ms, max scroll]

    def add(self, conn: Connection, book: VisitBook, item: Live) -> Outcome:
        event = item.event
        try:
            hostname, pathname = enrich.normalise_pathname(event.url)
        except ValueError:
            return dropped("invalid url")
        if event.hash_routing:
            fragment = urlsplit(event.url).fragment
            pathname = f"{pathname}#{fragment}" if fragment else pathname
        visit = book.find_open(item.site.id, item.visitor_ids, event.ts)
        if event.name == "engagement":
            if visit is None:
                return dropped("no open visit")
            self._engage(conn, visit, pathname, event)
        elif visit is None:
            visit = book.start(
                item.site.id, item.visitor_ids[-1], event.ts, _visit_attributes(item, pathname)
            )
        row = self._event_row(event, visit, hostname, pathname)
        if event.name == "pageview":
            self._pageview(visit, row, pathname)
        elif event.interactive:
            visit.interactions += 1
        visit.events += 1
        visit.touch(event.ts)
        self._goals_and_items(item, row, visit, pathname)
        return Outcome(ACCEPTED, event_id=row["id"])

    def _event_row(
        self, event: PendingEvent, visit: VisitState, hostname: str, pathname: str
    ) -> dict[str, Any]:
        row = {
            "id": str(ULID.from_timestamp(event.ts / 1000)),
            "site_id": visit.site_id,
            "visit_id": None,
            "visitor_id": visit.visitor_id,
            "ts": event.ts,
            "name": event.name,
            "hostname": hostname,
            "pathname": pathname,
            "props": event.props,
            "interactive": event.interactive,
            "engaged_ms": None,
            "scroll_depth": event.scroll_depth if event.name == "engagement" else None,
            "gap_ms": None,
            "revenue": event.revenue,
            "currency": event.currency,
            "transaction_id": event.transaction_id,
            "client_event_id": event.event_id,
        }
        if event.name == "engagement":
            row["engaged_ms"] = event.engagement_ms
        self.event_rows.append(row)
        self.visit_of_row.append(visit)
        return row

    def _pageview(self, visit: VisitState, row: dict[str, Any], pathname: str) -> None:
        previous_id = visit.last_pageview_id
        if previous_id is not None:
            previous_ts = ULID.from_str(previous_id).milliseconds
            gap = row["ts"] - previous_ts
            if gap >= 0:
                in_batch = next((r for r in visit.batch_pageviews.values() if r["id"] == previous_id), None)
                if in_batch is not None:
                    in_batch["gap_ms"] = gap
                else:
                    self.stored_gaps[previous_id] = gap
        visit.pageviews += 1
        visit.last_pageview_id = row["id"]
        visit.exit_path = pathname
        visit.batch_pageviews[pathname] = row

    def _engage(self, conn: Connection, visit: VisitState, pathname: str, event: PendingEvent) -> None:
        """Engaged time and scroll depth go to the visit's latest pageview of the same path."""
        ms, depth = event.engagement_ms or 0, event.scroll_depth or 0
        row = visit.batch_pageviews.get(pathname)
        if row is not None:
            row["engaged_ms"] = (row["engaged_ms"] or 0) + ms
            row["scroll_depth"] = max(row["scroll_depth"] or 0, depth)
            return
        target = visit.last_pageview_id if visit.exit_path == pathname else None
        if target is None and visit.id is not None:
            target = conn.execute(
                select(events.c.id)
                .where(
                    events.c.visit_id == visit.id, events.c.name == "pageview", events.c.pathname == pathname
                )
                .order_by(events.c.ts.desc())
                .limit(1)
            ).scalar()
        if target is not None:
            acc = self.stored_engagement.setdefault(target, [0, 0])
            acc[0] += ms
            acc[1] = max(acc[1], depth)

    def _goals_and_items(self, item: Live, row: dict[str, Any], visit: VisitState, pathname: str) -> None:
        event = item.event
        for goal in item.site.goals:
            if goal.matches(event.name, pathname):
                completion = {
                    "id": str(ULID.from_timestamp(event.ts / 1000)),
                    "goal_id": goal.goal_id,
                    "site_id": visit.site_id,
                    "visitor_id": visit.visitor_id,
                    "event_id": row["id"],
                    "ts": event.ts,
                }
                self.completions.append((completion, visit))
        for product in event.items or ():
            self.items.append(
                {
                    "event_id": row["id"],
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

    def flush(self, conn: Connection, book: VisitBook) -> None:
        if book.created:
            stmt = insert(visits).returning(visits.c.id, sort_by_parameter_order=True)
            ids = conn.execute(stmt, [v.insert_row() for v in book.created]).scalars().all()
            for state, new_id in zip(book.created, ids, strict=True):
                state.id = new_id
        changed = book.changed()
        if changed:
            stmt = update(visits).where(visits.c.id == bindparam("b_id"))
            conn.execute(stmt, [v.update_row() for v in changed])
        for row, visit in zip(self.event_rows, self.visit_of_row, strict=True):
            row["visit_id"] = visit.id
        if self.event_rows:
            conn.execute(insert(events), self.event_rows)
        if self.completions:
            conn.execute(insert(goal_completions), [{**c, "visit_id": v.id} for c, v in self.completions])
        if self.items:
            conn.execute(insert(ecommerce_items), self.items)
        self._flush_updates(conn)

    def _flush_updates(self, conn: Connection) -> None:
        if self.stored_gaps:
            stmt = update(events).where(events.c.id == bindparam("b_id")).values(gap_ms=bindparam("gap"))
            conn.execute(stmt, [{"b_id": k, "gap": v} for k, v in self.stored_gaps.items()])
        if self.stored_engagement:
            # Read-modify-write is safe: the single writer holds the write transaction.
            rows = conn.execute(
                select(events.c.id, events.c.engaged_ms, events.c.scroll_depth).where(
                    events.c.id.in_(list(self.stored_engagement))
                )
            ).all()
            params = [
                {
                    "b_id": row_id,
                    "engaged_ms": (engaged or 0) + self.stored_engagement[row_id][0],
                    "scroll_depth": max(depth or 0, self.stored_engagement[row_id][1]),
                }
                for row_id, engaged, depth in rows
            ]
            if params:
                conn.execute(update(events).where(events.c.id == bindparam("b_id")), params)


def _visit_attributes(item: Live, pathname: str) -> dict[str, Any]:
    event, client = item.event, item.client
    acq = enrich.classify_acquisition(event.url, event.referrer, item.site.domain)
    return {
        "entry_path": pathname,
        "source": acq.source,
        "referrer": acq.referrer,
        "channel": acq.channel,
        "utm_source": acq.utm_source,
        "utm_medium": acq.utm_medium,
        "utm_campaign": acq.utm_campaign,
        "utm_content": acq.utm_content,
        "utm_term": acq.utm_term,
        "device_type": client.device_type,
        "browser": client.browser,
        "os": client.os,
        "language": enrich.primary_language(event.language),
        "country": None,
    }
