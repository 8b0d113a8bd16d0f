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
from collections.abc import Iterable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import Connection

from analytics_mcp.ingest.batch_identify import identify
from analytics_mcp.ingest.event import (
    ACCEPTED_OUTCOME,
    DUPLICATE,
    Outcome,
    PendingEvent,
    PreparedEvent,
    dropped,
)
from analytics_mcp.ingest.identity import SaltStore
from analytics_mcp.ingest.quota import QuotaGate
from analytics_mcp.ingest.rows import RowWriter, next_ids
from analytics_mcp.ingest.sites import SiteRegistry
from analytics_mcp.ingest.visits import VisitBook
from analytics_mcp.rollups.maintain import RollupBatch
from analytics_mcp.rollups.marks import prune_marks
from analytics_mcp.storage.db import Database, lock_event_writers
from analytics_mcp.storage.schema import events

FINGERPRINT_WINDOW_MS = 10_000
_RECENT_LIMIT = 200_000
_CHUNK = 400
DedupKey = tuple[str, int, str]  # ("event" | "transaction", site id, value)
# The spool's keys not yet stored: a set, so a batch's keys are matched by `intersection` over
# their list in C (`&` needed a set of the batch's keys built first: ~0.03 us an event).
Unsettled = set[DedupKey] | frozenset[DedupKey]
_Pairs = list[tuple[int, str | None]]  # (site id, event id or transaction id)


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

    def process(self, conn: Connection, batch: Sequence[PendingEvent]) -> list[Outcome]:
        """Prepare and store in the caller's transaction."""
        live, outcomes = self.prepare(conn, batch)
        for item, outcome in zip(live, self.store(conn, live), strict=True):
            outcomes[item.index] = outcome
        return outcomes

    def prepare(
        self, conn: Connection, batch: Sequence[PendingEvent], unsettled: Unsettled = frozenset()
    ) -> tuple[list[PreparedEvent], list[Outcome]]:
        """The events to store, and every event's outcome (accepted for those to store).
        `unsettled`: dedup keys accepted earlier and not yet stored (the spool's backlog)."""
        live, outcomes, _keys = self.prepare_keyed(conn, batch, unsettled)
        return live, outcomes

    def prepare_keyed(
        self, conn: Connection, batch: Sequence[PendingEvent], unsettled: Unsettled = frozenset()
    ) -> tuple[list[PreparedEvent], list[Outcome], list[DedupKey]]:
        """`prepare`, and the dedup keys of the events to store (the spool holds them until
        stored), computed once for the unsettled lookup and the spool, not once each."""
        outcomes: list[Outcome | None] = [None] * len(batch)
        self.salts.begin_batch()
        identified = identify(self.sites, self.salts, conn, batch, outcomes)
        pairs = _key_pairs(identified)
        keys = _keys_of(*pairs)
        live = self._dedup(conn, identified, outcomes, unsettled, pairs, keys)
        live = self.quota.filter(conn, live, outcomes)  # after dedup: a retry costs no quota
        if len(live) != len(identified):  # live is a subsequence of identified: equal if as long
            keys = dedup_keys(live)
        if len(live) == len(batch):  # every event accepted (the usual batch): no loop an event
            return live, [ACCEPTED_OUTCOME] * len(batch), keys
        for item in live:
            outcomes[item.index] = ACCEPTED_OUTCOME
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

    def _dedup(
        self,
        conn: Connection,
        live: list[PreparedEvent],
        outcomes: list[Outcome | None],
        unsettled: Unsettled,
        pairs: tuple[_Pairs, _Pairs],
        keys: list[DedupKey],
    ) -> list[PreparedEvent]:
        duplicates = self._classify(conn, live, unsettled, fingerprints=True, pairs=pairs, keys=keys)
        if duplicates is None:
            return live
        kept: list[PreparedEvent] = []
        for item, duplicate in zip(live, duplicates, strict=True):
            if duplicate:
                outcomes[item.index] = Outcome(DUPLICATE)
            else:
                kept.append(item)
        return kept

    def unstored(self, conn: Connection, live: list[PreparedEvent]) -> list[PreparedEvent]:
        """The events whose event_id or purchase transaction is not stored yet (the writer's
        guard against a frame stored twice; prepare decided the rest)."""
        duplicates = self._classify(conn, live, frozenset(), fingerprints=False)
        if duplicates is None:
            return list(live)
        return [item for item, duplicate in zip(live, duplicates, strict=True) if not duplicate]

    def _classify(
        self,
        conn: Connection,
        live: list[PreparedEvent],
        unsettled: Unsettled,
        *,
        fingerprints: bool,
        pairs: tuple[_Pairs, _Pairs] | None = None,
        keys: list[DedupKey] | None = None,
    ) -> list[bool] | None:
        """Whether each event is a duplicate, in order: of a stored or unsettled key, of an earlier
        event in the batch, or (with fingerprints) of a recent identical event without an id.
        None: none is (decided in C for a batch of new ids). `pairs`, `keys`: _key_pairs(live)
        and dedup_keys(live), when the caller has them."""
        ids, purchases = pairs if pairs is not None else _key_pairs(live)
        # Unsettled keys are looked up before the tables: a key leaves them only once stored,
        # so an event is seen in one or the other.
        if unsettled and keys is None:
            keys = _keys_of(ids, purchases)
        pending_ids, pending_tx = _split_keys(unsettled.intersection(keys) if unsettled and keys else ())
        stored_ids = self.stored_event_ids(conn, ids)
        if self.stored_keys is None:
            stored_tx = _existing(conn, events.c.transaction_id, purchases, purchase_only=True)
        else:  # the events live elsewhere (ClickHouse)
            stored_tx = self.stored_keys.existing("transaction_id", purchases, purchase_only=True)
        stored_ids |= pending_ids
        stored_tx |= pending_tx
        if len(ids) == len(live) and not purchases and _all_new(ids, stored_ids):
            return None  # the loop below would find no duplicate
        duplicates: list[bool] = []
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
            duplicates.append(duplicate)
        return duplicates

    def stored_event_ids(self, conn: Connection, pairs: _Pairs) -> set[tuple[Any, ...]]:
        """Which (site id, event id) pairs are stored: in the SQL events table, or in the store
        the events live in (`stored_keys`: ClickHouse)."""
        if self.stored_keys is None:
            return _existing(conn, events.c.client_event_id, pairs)
        return self.stored_keys.existing("client_event_id", pairs, purchase_only=False)

    def _seen_recently(self, key: tuple[Any, ...], ts: int) -> bool:
        previous = self._recent.get(key)
        self._recent[key] = ts
        self._recent.move_to_end(key)
        while len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)
        return previous is not None and abs(ts - previous) <= FINGERPRINT_WINDOW_MS


def dedup_keys(live: Iterable[PreparedEvent]) -> list[DedupKey]:
    """What later events must not repeat: event ids, and purchases' transaction ids."""
    return _keys_of(*_key_pairs(live if isinstance(live, list) else list(live)))


def _key_pairs(live: list[PreparedEvent]) -> tuple[_Pairs, _Pairs]:
    """(site id, event id) of the events with an id, (site id, transaction id) of the purchases
    with one, in order: read once for the lookups and the keys."""
    ids: _Pairs = [(i.site.id, i.event.event_id) for i in live if i.event.event_id is not None]
    purchases: _Pairs = [
        (i.site.id, i.event.transaction_id)
        for i in live
        if i.event.name == "purchase" and i.event.transaction_id is not None  # _is_purchase, inline
    ]
    return ids, purchases


def _keys_of(ids: _Pairs, purchases: _Pairs) -> list[DedupKey]:
    """The dedup keys of `_key_pairs`' pairs, event ids first."""
    keys: list[Any] = [("event", site_id, value) for site_id, value in ids]
    keys += [("transaction", site_id, value) for site_id, value in purchases]
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
    """No id stored (or unsettled), none twice in the batch: in C. Nothing stored (the usual
    answer) skips hashing every pair; ids distinct as strings are distinct pairs, and a string
    keeps its hash where a pair computes it again."""
    if stored and not stored.isdisjoint(ids):
        return False
    return len(set(map(itemgetter(1), ids))) == len(ids) or len(set(ids)) == len(ids)


def _split_keys(keys: Iterable[DedupKey]) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    ids: set[tuple[Any, ...]] = set()
    transactions: set[tuple[Any, ...]] = set()
    for kind, site_id, value in keys:
        (ids if kind == "event" else transactions).add((site_id, value))
    return ids, transactions


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
