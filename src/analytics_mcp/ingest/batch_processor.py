"""One batch of events -> rows, in two steps.

`prepare` decides each event's outcome: site and bot drops, URL check, identity and country (the
raw IP and User-Agent are used here and nowhere after), dedup (event_id, fingerprint window, purchase
transaction_id). `store` writes what was accepted: visit assignment in time order, pageview gaps
and engagement, goal completions, e-commerce items, rollups. With the writer thread both run in
one transaction; with the spool, `prepare` runs in the server before the event is spooled and
`store` in the writer process later. Nothing here commits.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import repeat
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Connection

from analytics_mcp.ingest import enrich, geo
from analytics_mcp.ingest.enrich import ClientInfo
from analytics_mcp.ingest.event import (
    ACCEPTED_OUTCOME,
    DUPLICATE,
    Outcome,
    PendingEvent,
    PreparedEvent,
    dropped,
)
from analytics_mcp.ingest.identity import SaltStore, identity_key, previous_day, utc_day, visitor_id
from analytics_mcp.ingest.quota import QuotaGate
from analytics_mcp.ingest.rows import RowWriter, next_ids
from analytics_mcp.ingest.sites import SiteInfo, SiteRegistry
from analytics_mcp.ingest.visits import VisitBook
from analytics_mcp.rollups.maintain import RollupBatch
from analytics_mcp.rollups.marks import prune_marks
from analytics_mcp.storage.db import Database, lock_event_writers
from analytics_mcp.storage.schema import events
from analytics_mcp.timeutil import DAY_MS

FINGERPRINT_WINDOW_MS = 10_000
_RECENT_LIMIT = 200_000
_CHUNK = 400
DedupKey = tuple[str, int, str]  # ("event" | "transaction", site id, value)
# The spool's keys not yet stored: a set, so a batch's keys are matched by `intersection` over
# their list in C (`&` needed a set of the batch's keys built first: ~0.03 us an event).
Unsettled = set[DedupKey] | frozenset[DedupKey]


class StoredKeys(Protocol):
    """Which (site_id, value) pairs of an events column are stored, where the events are not in
    the SQL database (ClickHouse: ingest/clickhouse/reads.py)."""

    def existing(
        self, column: str, pairs: list[tuple[int, str | None]], *, purchase_only: bool
    ) -> set[tuple[Any, ...]]: ...


class BatchProcessor:
    """Keeps what outlives one batch: salts, the site cache, recent fingerprints, quotas."""

    def __init__(self, sites: SiteRegistry | None = None, quota: QuotaGate | None = None) -> None:
        self.salts = SaltStore()
        self.sites = sites or SiteRegistry()
        self.quota = quota or QuotaGate()
        self._recent: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self.stored_keys: StoredKeys | None = None  # None: dedup reads the SQL events table

    @classmethod
    def reading_sites_from(cls, accounts: Database | None) -> BatchProcessor:
        """A processor that reads sites and goals from the accounts database when the events
        live in another one (storage/roles.py); None: on the events transaction's connection."""
        engine = accounts.reader if accounts is not None else None
        return cls(SiteRegistry(engine), QuotaGate(engine))

    def process(self, conn: Connection, batch: list[PendingEvent]) -> list[Outcome]:
        """Prepare and store in the caller's transaction."""
        live, outcomes = self.prepare(conn, batch)
        for item, outcome in zip(live, self.store(conn, live), strict=True):
            outcomes[item.index] = outcome
        return outcomes

    def prepare(
        self, conn: Connection, batch: list[PendingEvent], unsettled: Unsettled = frozenset()
    ) -> tuple[list[PreparedEvent], list[Outcome]]:
        """The events to store, and every event's outcome (accepted for those to store).
        `unsettled`: dedup keys accepted earlier and not yet stored (the spool's backlog)."""
        live, outcomes, _keys = self.prepare_keyed(conn, batch, unsettled)
        return live, outcomes

    def prepare_keyed(
        self, conn: Connection, batch: list[PendingEvent], unsettled: Unsettled = frozenset()
    ) -> tuple[list[PreparedEvent], list[Outcome], list[DedupKey]]:
        """`prepare`, and the dedup keys of the events to store (the spool holds them until
        stored), computed once for the unsettled lookup and the spool, not once each."""
        outcomes: list[Outcome | None] = [None] * len(batch)
        self.salts.begin_batch()
        identified = self._identify(conn, batch, outcomes)
        keys = dedup_keys(identified)
        live = self._dedup(conn, identified, outcomes, unsettled, keys)
        live = self.quota.filter(conn, live, outcomes)  # after dedup: a retry costs no quota
        for item in live:
            outcomes[item.index] = ACCEPTED_OUTCOME
        if len(live) != len(identified):  # live is a subsequence of identified: equal if as long
            keys = dedup_keys(live)
        return live, [o if o is not None else dropped("internal") for o in outcomes], keys

    def store(self, conn: Connection, live: list[PreparedEvent]) -> list[Outcome]:
        """Write prepared events; an outcome per event, in the given order (an engagement
        report without an open visit is dropped here)."""
        lock_event_writers(conn)
        ordered = sorted(range(len(live)), key=lambda i: live[i].event.ts)
        next_event, next_visit = next_ids(conn)
        writer = RowWriter(next_event)
        book = VisitBook(next_visit)
        if live:
            keys = {(i.site.id, vid) for i in live for vid in i.visitor_ids}
            book.load(conn, keys, since_ms=live[ordered[0]].event.ts)
        outcomes = [ACCEPTED_OUTCOME] * len(live)
        for position in ordered:
            outcomes[position] = writer.add(conn, book, live[position])
        writer.flush(conn, book, RollupBatch({i.site.id: i.site.zone for i in live}))
        if self.salts.cleanup(conn) is not None:
            prune_marks(conn)
        return outcomes

    def forget_cached_state(self) -> None:
        """After a rolled-back transaction, cached salts may not exist in the database."""
        self.salts = SaltStore()
        self._recent.clear()

    def _identify(
        self, conn: Connection, batch: list[PendingEvent], outcomes: list[Outcome | None]
    ) -> list[PreparedEvent]:
        live: list[PreparedEvent] = []
        # A visitor's events share one domain, address, client and day: its site, client, ids and
        # country are decided once, and its later events only check their URL (one tuple and one
        # dict lookup an event instead of four; the loop runs under the GIL the requests need).
        visitors: dict[tuple[str, str, str, int], _Visitor] = {}
        known = _Known(self, conn)
        for index, event in enumerate(batch):
            who = (event.domain, event.ip, event.user_agent, event.ts // DAY_MS)
            visitor = visitors.get(who)
            if visitor is None:
                found = known.visitor(event, who[3])
                if isinstance(found, Outcome):
                    outcomes[index] = found
                    continue
                visitor = visitors[who] = found
            site, client, ids, event.country = visitor
            try:
                hostname, pathname = _page(event.url, event.hash_routing)
            except ValueError:
                outcomes[index] = dropped("invalid url")
                continue
            live.append(PreparedEvent(index, event, site, client, ids, hostname, pathname))
        return live

    def _dedup(
        self,
        conn: Connection,
        live: list[PreparedEvent],
        outcomes: list[Outcome | None],
        unsettled: Unsettled,
        keys: list[DedupKey],
    ) -> list[PreparedEvent]:
        kept: list[PreparedEvent] = []
        for item, duplicate in self._classify(conn, live, unsettled, fingerprints=True, keys=keys):
            if duplicate:
                outcomes[item.index] = Outcome(DUPLICATE)
            else:
                kept.append(item)
        return kept

    def unstored(self, conn: Connection, live: list[PreparedEvent]) -> list[PreparedEvent]:
        """The events whose event_id or purchase transaction is not stored yet (the writer's
        guard against a frame stored twice; prepare decided the rest)."""
        return [item for item, dup in self._classify(conn, live, frozenset(), fingerprints=False) if not dup]

    def _classify(
        self,
        conn: Connection,
        live: list[PreparedEvent],
        unsettled: Unsettled,
        *,
        fingerprints: bool,
        keys: list[DedupKey] | None = None,
    ) -> Iterator[tuple[PreparedEvent, bool]]:
        """(event, is it a duplicate) in order: of a stored or unsettled key, of an earlier event
        in the batch, or (with fingerprints) of a recent identical event without an id.
        `keys`: dedup_keys(live), when the caller has them."""
        # Unsettled keys are looked up before the tables: a key leaves them only once stored,
        # so an event is seen in one or the other.
        if unsettled and keys is None:
            keys = dedup_keys(live)
        pending_ids, pending_tx = _split_keys(unsettled.intersection(keys) if unsettled and keys else ())
        ids: list[tuple[int, str | None]] = [
            (i.site.id, i.event.event_id) for i in live if i.event.event_id is not None
        ]
        purchases: list[tuple[int, str | None]] = [
            (i.site.id, i.event.transaction_id)
            for i in live
            if i.event.name == "purchase" and i.event.transaction_id is not None  # _is_purchase, inline
        ]
        if self.stored_keys is None:
            stored_ids = _existing(conn, events.c.client_event_id, ids)
            stored_tx = _existing(conn, events.c.transaction_id, purchases, purchase_only=True)
        else:  # the events live elsewhere (ClickHouse)
            stored_ids = self.stored_keys.existing("client_event_id", ids, purchase_only=False)
            stored_tx = self.stored_keys.existing("transaction_id", purchases, purchase_only=True)
        stored_ids |= pending_ids
        stored_tx |= pending_tx
        if len(ids) == len(live) and not purchases and _all_new(ids, stored_ids):
            yield from zip(live, repeat(False))  # the loop below would find no duplicate
            return
        for item in live:
            event, site_id = item.event, item.site.id
            duplicate = False
            if event.event_id is not None:
                key: tuple[Any, ...] = (site_id, event.event_id)
                duplicate = key in stored_ids
                stored_ids.add(key)
            elif fingerprints:
                duplicate = self._seen_recently(
                    (site_id, item.visitor_ids[-1], *event.fingerprint()), event.ts
                )
            if not duplicate and _is_purchase(event):
                tx_key = (site_id, event.transaction_id)
                duplicate = tx_key in stored_tx
                stored_tx.add(tx_key)
            yield item, duplicate

    def _seen_recently(self, key: tuple[Any, ...], ts: int) -> bool:
        previous = self._recent.get(key)
        self._recent[key] = ts
        self._recent.move_to_end(key)
        while len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)
        return previous is not None and abs(ts - previous) <= FINGERPRINT_WINDOW_MS


_Visitor = tuple[SiteInfo, ClientInfo, tuple[int, ...], str | None]  # site, client, ids, country


class _Known:
    """One batch's sites, clients and days, each looked up once (a batch has few of each)."""

    def __init__(self, processor: BatchProcessor, conn: Connection) -> None:
        self._processor, self._conn = processor, conn
        self._sites: dict[str, SiteInfo | None] = {}
        self._clients: dict[str, ClientInfo | None] = {}
        self._salts: dict[int, tuple[str, tuple[bytes | None, bytes]]] = {}

    def visitor(self, event: PendingEvent, day_index: int) -> _Visitor | Outcome:
        """A new visitor's site, client, ids and country, or why its event is dropped (in the
        order each event is checked: domain, bot, URL, time)."""
        if event.domain not in self._sites:
            self._sites[event.domain] = self._processor.sites.lookup(self._conn, event.domain)
        site = self._sites[event.domain]
        if site is None:
            return dropped("unknown domain")
        if event.user_agent not in self._clients:
            self._clients[event.user_agent] = enrich.parse_user_agent(event.user_agent)
        client = self._clients[event.user_agent]
        if client is None:
            return dropped("bot")
        try:  # the URL before the time, as for every event
            _page(event.url, event.hash_routing)
        except ValueError:
            return dropped("invalid url")
        try:  # one event's impossible time must never fail the others in its batch
            day, salts = self._day(day_index, event.ts)
        except (ValueError, OverflowError):
            return dropped("invalid timestamp")
        ids = _visitor_ids(salts, (site.domain, event.ip, event.user_agent, day))
        return site, client, ids, geo.country_of(event.ip)

    def _day(self, day_index: int, ts: int) -> tuple[str, tuple[bytes | None, bytes]]:
        """The UTC day of `ts` (day `day_index`) and its salts: the previous day's if it still
        exists, the day's own. Remembered only once its salts are: a failure fails each event."""
        known = self._salts.get(day_index)
        if known is None:
            day, store = utc_day(ts), self._processor.salts
            own = store.get(self._conn, day, create=True)
            assert own is not None
            previous = store.get(self._conn, previous_day(day), create=False)
            known = self._salts[day_index] = (day, (previous, own))
        return known


def dedup_keys(live: Iterable[PreparedEvent]) -> list[DedupKey]:
    """What later events must not repeat: event ids, and purchases' transaction ids."""
    live = live if isinstance(live, list) else list(live)
    keys: list[Any] = [("event", i.site.id, i.event.event_id) for i in live if i.event.event_id is not None]
    keys += [
        ("transaction", i.site.id, i.event.transaction_id)
        for i in live
        if i.event.name == "purchase" and i.event.transaction_id is not None  # _is_purchase, inline
    ]
    return keys


def event_keys(site_id: int, name: str, event_id: str | None, transaction_id: str | None) -> list[DedupKey]:
    """One event's dedup keys (also read from spool frames, without a PendingEvent)."""
    keys: list[DedupKey] = []
    if event_id is not None:
        keys.append(("event", site_id, event_id))
    if name == "purchase" and transaction_id is not None:
        keys.append(("transaction", site_id, transaction_id))
    return keys


def _all_new(ids: list[tuple[int, str | None]], stored: set[tuple[Any, ...]]) -> bool:
    """No id stored (or unsettled), none twice in the batch: in C."""
    return stored.isdisjoint(ids) and len(set(ids)) == len(ids)


def _split_keys(keys: Iterable[DedupKey]) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    ids: set[tuple[Any, ...]] = set()
    transactions: set[tuple[Any, ...]] = set()
    for kind, site_id, value in keys:
        (ids if kind == "event" else transactions).add((site_id, value))
    return ids, transactions


@lru_cache(maxsize=65536)  # a site has far fewer pages than events
def _page(url: str, hash_routing: bool) -> tuple[str, str]:
    """(hostname, pathname); with hash routing the fragment is part of the path."""
    hostname, pathname = enrich.normalise_pathname(url)
    if hash_routing:
        fragment = urlsplit(url).fragment
        pathname = f"{pathname}#{fragment}" if fragment else pathname
    return hostname, pathname


def _is_purchase(event: PendingEvent) -> bool:
    return event.name == "purchase" and event.transaction_id is not None


def _existing(
    conn: Connection, column: Any, pairs: list[tuple[int, str | None]], *, purchase_only: bool = False
) -> set[tuple[Any, ...]]:
    """Which (site_id, value) pairs are already stored (plain SQL: this runs for every batch)."""
    found: set[tuple[Any, ...]] = set()
    by_site: dict[int, list[str]] = {}
    for site_id, value in pairs:
        if value is not None:
            by_site.setdefault(site_id, []).append(value)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for site_id, values in by_site.items():
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            sql = _lookup_sql(column.name, len(chunk), purchase_only, mark)
            found.update((site_id, row[0]) for row in conn.exec_driver_sql(sql, (site_id, *chunk)))
    return found


@lru_cache(maxsize=256)
def _lookup_sql(column: str, count: int, purchase_only: bool, mark: str) -> str:
    purchase = " AND name = 'purchase'" if purchase_only else ""
    marks = ", ".join([mark] * count)
    return f"SELECT {column} FROM events WHERE site_id = {mark} AND {column} IN ({marks}){purchase}"


def _visitor_ids(salts: tuple[bytes | None, bytes], who: tuple[str, str, str, str]) -> tuple[int, ...]:
    """The previous day's id first (when its salt still exists), then the event's own day's."""
    prev, own = salts
    key = identity_key(*who[:3])
    return (visitor_id(own, key),) if prev is None else (visitor_id(prev, key), visitor_id(own, key))
