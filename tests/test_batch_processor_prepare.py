"""BatchProcessor.prepare_keyed against its rules taken one event at a time (the reference below):
on random batches of known and unknown domains, bots, invalid URLs, impossible times, hash
routing, repeated event ids, purchases and fingerprints, across midnight, with unsettled and
stored keys, both give the same outcomes, prepared events (visitor ids, countries, pages) and
dedup keys, in the same order. prepare caches per batch and reads columns; this does neither."""

from __future__ import annotations

import copy
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from hashlib import blake2b
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, text

from analytics_mcp.ingest import enrich, geo
from analytics_mcp.ingest.batch_processor import BatchProcessor, DedupKey
from analytics_mcp.ingest.bulk_import import plain_body, tenant_check
from analytics_mcp.ingest.event import (
    ACCEPTED_OUTCOME,
    DUPLICATE,
    ColumnBatch,
    Outcome,
    PendingEvent,
    PreparedEvent,
    dropped,
)
from analytics_mcp.ingest.identity import identity_key, previous_day, utc_day
from analytics_mcp.services import Services
from analytics_mcp.timeutil import DAY_MS
from factories import make_site

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
URLS = (
    "https://{d}/",
    "https://{d}/docs/1",
    "https://www.{d}/a?b=c#x",
    "http://{d}/p#/route",
    "https://[::1/x",
    "ftp://{d}/",
)


class Reference:
    """Prepare's rules, event by event: drops (domain, bot, URL, time), ids and country, then
    duplicates (stored, unsettled, earlier in the batch, recent fingerprint) in order."""

    def __init__(self, processor: BatchProcessor) -> None:
        self.processor = processor
        self.recent: dict[tuple[Any, ...], int] = {}

    def prepare(
        self, conn: Connection, batch: list[PendingEvent], unsettled: set[DedupKey]
    ) -> tuple[list[PreparedEvent], list[Outcome], list[DedupKey]]:
        live, outcomes = [], []
        seen: set[DedupKey] = set()
        for index, event in enumerate(batch):
            found = self.identify(conn, index, event)
            if isinstance(found, Outcome):
                outcomes.append(found)
                continue
            duplicate = self.duplicate(conn, found, unsettled, seen)
            outcomes.append(Outcome(DUPLICATE) if duplicate else ACCEPTED_OUTCOME)
            if not duplicate:
                live.append(found)
        keys: list[DedupKey] = [("event", i.site.id, e) for i in live if (e := i.event.event_id) is not None]
        keys += [
            ("transaction", i.site.id, t) for i in live if purchase(i.event) and (t := i.event.transaction_id)
        ]
        return live, outcomes, keys

    def identify(self, conn: Connection, index: int, event: PendingEvent) -> PreparedEvent | Outcome:
        site = self.processor.sites.lookup(conn, event.domain)
        if site is None:
            return dropped("unknown domain")
        client = enrich.parse_user_agent(event.user_agent)
        if client is None:
            return dropped("bot")
        try:
            hostname, pathname = enrich.normalise_pathname(event.url)
        except ValueError:
            return dropped("invalid url")
        if event.hash_routing and (fragment := urlsplit(event.url).fragment):
            pathname = f"{pathname}#{fragment}"
        try:
            day = utc_day(event.ts)
        except (ValueError, OverflowError):
            return dropped("invalid timestamp")
        salts = self.processor.salts
        own = salts.get(conn, day, create=True)
        previous = salts.get(conn, previous_day(day), create=False)
        key = identity_key(site.domain, event.ip, event.user_agent)
        ids = tuple(hashed(salt, key) for salt in (previous, own) if salt is not None)
        event.country = geo.country_of(event.ip)
        return PreparedEvent(index, event, site, client, ids, hostname, pathname)

    def duplicate(
        self, conn: Connection, item: PreparedEvent, unsettled: set[DedupKey], seen: set[DedupKey]
    ) -> bool:
        event, site_id = item.event, item.site.id
        if event.event_id is not None:
            key: DedupKey = ("event", site_id, event.event_id)
            if key in seen or key in unsettled or stored(conn, "client_event_id", site_id, event.event_id):
                return True
            seen.add(key)
        else:
            fingerprint = (site_id, item.visitor_ids[-1], *event.fingerprint())
            previous = self.recent.get(fingerprint)
            self.recent[fingerprint] = event.ts
            if previous is not None and abs(event.ts - previous) <= 10_000:
                return True
        if purchase(event):
            assert event.transaction_id is not None
            tx: DedupKey = ("transaction", site_id, event.transaction_id)
            if tx in seen or tx in unsettled or stored(conn, "transaction_id", site_id, event.transaction_id):
                return True
            seen.add(tx)
        return False


def purchase(event: PendingEvent) -> bool:
    return event.name == "purchase" and event.transaction_id is not None


def hashed(salt: bytes, key: bytes) -> int:
    return int.from_bytes(blake2b(key, key=salt, digest_size=8).digest(), "big", signed=True)


def stored(conn: Connection, column: str, site_id: int, value: str) -> bool:
    purchase_only = " AND name = 'purchase'" if column == "transaction_id" else ""
    sql = f"SELECT 1 FROM events WHERE site_id = :s AND {column} = :v{purchase_only}"
    return conn.execute(text(sql), {"s": site_id, "v": value}).first() is not None


def random_event(rng: random.Random, midnight: int) -> PendingEvent:
    domain = rng.choice(("a.test", "a.test", "b.test", "unknown.test"))
    name = rng.choice(("pageview", "pageview", "signup", "purchase", "engagement"))
    url = rng.choice(URLS).format(d=domain)
    ts = rng.choice((midnight + rng.randrange(-3_000, 3_000) * 7, 10**17, -(10**17)))
    return PendingEvent(
        domain=domain, name=name, url=url, referrer=None, props=rng.choice((None, '{"k":1}')),
        interactive=name not in ("pageview", "engagement"),
        event_id=rng.choice((None, f"e{rng.randrange(40)}")), revenue=None, currency=None,
        transaction_id=rng.choice((None, f"t{rng.randrange(8)}")) if name == "purchase" else None,
        items=None, engagement_ms=1000 if name == "engagement" else None, scroll_depth=None,
        language=None, hash_routing=rng.random() < 0.2, ts=ts,
        ip=rng.choice(("81.2.69.160", "8.8.8.8", "198.19.0.1", "2001:db8::1")),
        user_agent=rng.choice((BROWSER, PHONE, BOT)),
    )  # fmt: skip


def test_prepare_gives_what_its_rules_give_one_event_at_a_time(services: Services) -> None:
    make_site(services, "aa", "a.test")
    make_site(services, "bb", "b.test")
    processor, rng = BatchProcessor(), random.Random(14)
    reference = Reference(processor)
    midnight = int(datetime.now(UTC).timestamp() * 1000) // DAY_MS * DAY_MS  # ids span two days
    unsettled: set[DedupKey] = set()
    seen: set[Outcome] = set()
    for round_ in range(150):
        batch = [random_event(rng, midnight) for _ in range(rng.randrange(1, 60))]
        mine = copy.deepcopy(batch)
        with services.db.sync.begin() as conn:
            expected = reference.prepare(conn, batch, unsettled)
            live, outcomes, keys = processor.prepare_keyed(conn, mine, frozenset(unsettled))
            assert (live, outcomes, keys) == expected, round_
            seen.update(outcomes)
            if round_ % 3 == 0:  # stored: later batches find their ids in the events table
                processor.store(conn, live)
            else:  # spooled, not yet stored
                unsettled.update(keys)
    reasons = ("unknown domain", "bot", "invalid url", "invalid timestamp")
    assert seen == {ACCEPTED_OUTCOME, Outcome(DUPLICATE), *map(dropped, reasons)}  # each rule met


def test_a_plain_column_batch_is_prepared_as_its_events_are(services: Services) -> None:
    """The route's columns (a ColumnBatch) give what the same events as a list give."""
    make_site(services, "aa", "a.test")
    hour_ago = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    stamp = hour_ago.strftime("%Y-%m-%dT%H:%M")
    lines = [
        f'{{"name":"pageview","url":"https://a.test/p/{i % 5}","domain":"a.test","event_id":"c{i}",'
        f'"timestamp":"{stamp}:{i % 60:02d}.000Z","ip":"81.2.69.{i % 3}","user_agent":"{BROWSER}"}}'
        for i in range(50)
    ]
    columns = plain_body("\n".join(lines).encode(), tenant_check(["a.test"]))
    assert isinstance(columns, ColumnBatch)
    events = [replace(e) for e in columns]
    with services.db.sync.begin() as conn:
        from_columns = BatchProcessor().prepare_keyed(conn, columns)
        from_events = BatchProcessor().prepare_keyed(conn, events)
    assert from_columns == from_events and len(from_columns[0]) == 50
