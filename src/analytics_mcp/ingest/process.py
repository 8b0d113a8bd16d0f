"""One batch of events -> rows, inside the caller's transaction.

Steps, in order: site and bot drops, identity, dedup (event_id, fingerprint window, purchase
transaction_id), visit assignment in time order, pageview gaps and engagement, goal completions,
e-commerce items; then every row is written with executemany. Nothing here commits.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from sqlalchemy import Connection, select

from analytics_mcp.ingest import enrich
from analytics_mcp.ingest.identity import SaltStore, previous_day, utc_day, visitor_id
from analytics_mcp.ingest.model import DUPLICATE, Outcome, PendingEvent, dropped
from analytics_mcp.ingest.rows import Live, RowWriter, next_ids
from analytics_mcp.ingest.sites import SiteRegistry
from analytics_mcp.ingest.visits import VisitBook
from analytics_mcp.rollups.maintain import RollupBatch
from analytics_mcp.rollups.marks import prune_marks
from analytics_mcp.storage.schema import events

FINGERPRINT_WINDOW_MS = 10_000
_RECENT_LIMIT = 200_000
_CHUNK = 400


class BatchProcessor:
    """Keeps what outlives one batch: salts, the site cache, recent fingerprints."""

    def __init__(self, sites: SiteRegistry | None = None) -> None:
        self.salts = SaltStore()
        self.sites = sites or SiteRegistry()
        self._recent: OrderedDict[tuple[Any, ...], int] = OrderedDict()

    def process(self, conn: Connection, batch: list[PendingEvent]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(batch)
        self.salts.begin_batch()
        live = self._identify(conn, batch, outcomes)
        live = self._dedup(conn, live, outcomes)
        live.sort(key=lambda item: item.event.ts)
        next_event, next_visit = next_ids(conn)
        writer = RowWriter(next_event)
        book = VisitBook(next_visit)
        if live:
            keys = {(i.site.id, vid) for i in live for vid in i.visitor_ids}
            book.load(conn, keys, since_ms=live[0].event.ts)
        for item in live:
            outcomes[item.index] = writer.add(conn, book, item)
        writer.flush(conn, book, RollupBatch({i.site.id: i.site.zone for i in live}))
        if self.salts.cleanup(conn) is not None:
            prune_marks(conn)
        return [o if o is not None else dropped("internal") for o in outcomes]

    def forget_cached_state(self) -> None:
        """After a rolled-back transaction, cached salts may not exist in the database."""
        self.salts = SaltStore()
        self._recent.clear()

    def _identify(
        self, conn: Connection, batch: list[PendingEvent], outcomes: list[Outcome | None]
    ) -> list[Live]:
        live: list[Live] = []
        for index, event in enumerate(batch):
            site = self.sites.lookup(conn, _site_key(event.domain))
            if site is None:
                outcomes[index] = dropped("unknown domain")
                continue
            client = enrich.parse_user_agent(event.user_agent)
            if client is None:
                outcomes[index] = dropped("bot")
                continue
            day = utc_day(event.ts)
            own = self.salts.get(conn, day, create=True)
            assert own is not None
            ids = [visitor_id(own, site.domain, event.ip, event.user_agent)]
            prev = self.salts.get(conn, previous_day(day), create=False)
            if prev is not None:
                ids.insert(0, visitor_id(prev, site.domain, event.ip, event.user_agent))
            live.append(Live(index, event, site, client, tuple(ids)))
        return live

    def _dedup(self, conn: Connection, live: list[Live], outcomes: list[Outcome | None]) -> list[Live]:
        stored_ids = _existing(conn, events.c.client_event_id, [(i.site.id, i.event.event_id) for i in live])
        purchases = [(i.site.id, i.event.transaction_id) for i in live if _is_purchase(i.event)]
        stored_tx = _existing(conn, events.c.transaction_id, purchases, purchase_only=True)
        kept: list[Live] = []
        for item in live:
            event, site_id = item.event, item.site.id
            if event.event_id is not None:
                key: tuple[Any, ...] = (site_id, event.event_id)
                duplicate = key in stored_ids
                stored_ids.add(key)
            else:
                duplicate = self._seen_recently(
                    (site_id, item.visitor_ids[-1], *event.fingerprint()), event.ts
                )
            if not duplicate and _is_purchase(event):
                tx_key = (site_id, event.transaction_id)
                duplicate = tx_key in stored_tx
                stored_tx.add(tx_key)
            if duplicate:
                outcomes[item.index] = Outcome(DUPLICATE)
            else:
                kept.append(item)
        return kept

    def _seen_recently(self, key: tuple[Any, ...], ts: int) -> bool:
        previous = self._recent.get(key)
        self._recent[key] = ts
        self._recent.move_to_end(key)
        while len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)
        return previous is not None and abs(ts - previous) <= FINGERPRINT_WINDOW_MS


def _site_key(domain: str) -> str:
    domain = domain.strip().lower()
    return domain[4:] if domain.startswith("www.") else domain


def _is_purchase(event: PendingEvent) -> bool:
    return event.name == "purchase" and event.transaction_id is not None


def _existing(
    conn: Connection, column: Any, pairs: list[tuple[int, str | None]], *, purchase_only: bool = False
) -> set[tuple[Any, ...]]:
    """Which (site_id, value) pairs are already stored."""
    found: set[tuple[Any, ...]] = set()
    by_site: dict[int, list[str]] = {}
    for site_id, value in pairs:
        if value is not None:
            by_site.setdefault(site_id, []).append(value)
    for site_id, values in by_site.items():
        for start in range(0, len(values), _CHUNK):
            stmt = select(column).where(
                events.c.site_id == site_id, column.in_(values[start : start + _CHUNK])
            )
            if purchase_only:
                stmt = stmt.where(events.c.name == "purchase")
            found.update((site_id, value) for value in conn.execute(stmt).scalars())
    return found
