"""ingest/prepare_columns.prepare_frame against the slow path it stands in for: on random column
batches (known and unknown domains, bots, invalid URLs, impossible times, hash routing, two UTC
days, missing, repeated, unsettled and stored event ids, a tenant whose quota runs out), it answers
exactly `columns.frame(live, batch)`, the outcomes and the keys of `prepare_keyed` on a twin
processor over the same database, and leaves the same quota state; or None, after which
`prepare_keyed` on its own processor answers as the twin's. It answers for every batch whose
events all pass with distinct ids (so it cannot pass by always answering None)."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from analytics_mcp.ingest.batch_processor import BatchProcessor, DedupKey, dedup_keys
from analytics_mcp.ingest.bulk_import import plain_body, tenant_check
from analytics_mcp.ingest.clickhouse.reads import ClickHouseKeys
from analytics_mcp.ingest.event import (
    ACCEPTED_OUTCOME,
    ColumnBatch,
    Outcome,
    PendingEvent,
    PreparedEvent,
    joined_batches,
)
from analytics_mcp.ingest.prepare_columns import prepare_frame
from analytics_mcp.ingest.spool import columns
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from analytics_mcp.timeutil import DAY_MS
from clickhouse_support import chdb_url
from factories import make_site
from platform_support import subscribe
from test_batch_processor_prepare import BOT, BROWSER, PHONE, URLS
from test_ingest_clickhouse_keys import COLUMNS

# The fields plain_columns.column_events gives as columns (the others are None for every event).
GIVEN = (
    "domain", "name", "url", "referrer", "interactive", "event_id", "engagement_ms",
    "scroll_depth", "language", "hash_routing", "ts", "ip", "user_agent",
)  # fmt: skip
IPS = ("81.2.69.160", "8.8.8.8", "198.19.0.1", "2001:db8::1")


def column_batch(events: list[PendingEvent], given: tuple[str, ...] = GIVEN) -> ColumnBatch:
    return ColumnBatch(events, {name: [getattr(e, name) for e in events] for name in given})


def requests(rng: random.Random, events: list[PendingEvent]) -> ColumnBatch:
    """The events as one request's columns, or as several requests joined (group_commit)."""
    cut = rng.randrange(len(events) + 1)
    if rng.random() < 0.5 or not 0 < cut < len(events):
        return column_batch(events)
    joined = joined_batches([column_batch(events[:cut]), column_batch(events[cut:])])
    assert isinstance(joined, ColumnBatch)
    return joined


def random_batch(rng: random.Random, midnight: int, round_: int) -> list[PendingEvent]:
    """Mostly clean batches (each a known site, a browser, a valid URL, a new id); some with one
    kind of fault, so each rule is met alone as well as in company."""
    fault = rng.choice(("none",) * 6 + ("domain", "bot", "url", "time", "no id", "repeat", "old id"))
    size = rng.randrange(1, 60)
    out = []
    for i in range(size):
        domain = rng.choice(("a.test", "a.test", "b.test"))
        url = rng.choice(URLS[:4]).format(d=domain)
        name = rng.choice(("pageview", "pageview", "signup", "engagement"))
        event_id: str | None = f"n{round_}-{i}"
        ts = midnight + rng.randrange(-3_000, 3_000) * 7  # two UTC days
        user_agent = rng.choice((BROWSER, PHONE))
        if rng.random() < 0.3:
            if fault == "domain":
                domain = "unknown.test"
            elif fault == "bot":
                user_agent = BOT
            elif fault == "url":
                url = rng.choice(URLS[4:]).format(d=domain)
            elif fault == "time":
                ts = rng.choice((10**17, -(10**17)))
            elif fault == "no id":
                event_id = None
            elif fault in ("repeat", "old id"):  # the pool: in this batch, unsettled or stored
                event_id = f"e{rng.randrange(40)}"
        if fault == "old id" and i == 0:
            event_id = f"e{rng.randrange(40)}"
        out.append(
            PendingEvent(
                domain=domain, name=name, url=url, referrer=rng.choice((None, "https://r.test/")),
                props=None, interactive=name not in ("pageview", "engagement"), event_id=event_id,
                revenue=None, currency=None, transaction_id=None, items=None,
                engagement_ms=1000 if name == "engagement" else None,
                scroll_depth=rng.choice((None, 50)), language=rng.choice((None, "en")),
                hash_routing=rng.random() < 0.2, ts=ts, ip=rng.choice(IPS), user_agent=user_agent,
            )
        )  # fmt: skip
    return out


def quota_state(processor: BatchProcessor) -> dict[int, tuple[Any, ...]]:
    return {t: (a.cap, a.end_ms, a.counted) for t, a in processor.quota._tenants.items()}


def compared(
    conn: Connection, fast: BatchProcessor, twin: BatchProcessor, mine: ColumnBatch, unsettled: set[DedupKey]
) -> tuple[bool, list[PreparedEvent], list[Outcome]]:
    """prepare_frame on `fast` against prepare_keyed + columns.frame on `twin` (the same events as
    one request's columns); after a None, prepare_keyed on `fast` too. Whether it answered, and
    the twin's live events and outcomes."""
    theirs = column_batch(copy.deepcopy(list(mine)))
    got = prepare_frame(fast, conn, mine, frozenset(unsettled))
    live, outcomes, keys = twin.prepare_keyed(conn, theirs, frozenset(unsettled))
    expected = (columns.frame(live, theirs), outcomes, keys)
    ids = [e.event_id for e in theirs]
    if set(outcomes) == {ACCEPTED_OUTCOME} and None not in ids and len(set(ids)) == len(ids):
        assert got is not None  # the common case is taken
    if got is not None:
        assert got == expected
        assert set(outcomes) == {ACCEPTED_OUTCOME}
    else:
        slow = fast.prepare_keyed(conn, mine, frozenset(unsettled))
        assert slow == (live, outcomes, keys)
        assert columns.frame(slow[0], mine) == expected[0]
    return got is not None, live, outcomes


def test_the_fast_path_answers_as_prepare_and_frame_or_none(services: Services) -> None:
    make_site(services, "aa", "a.test")
    tenant, _site = make_site(services, "bb", "b.test")
    today = datetime.now(UTC).date()
    # Cap 110% of 1000 = 1,100 events: b.test's share of the batches runs out of it near the end.
    subscribe(services, tenant.id, "starter", today.replace(day=1), today + timedelta(days=40), events=1000)
    fast, twin, rng = BatchProcessor(), BatchProcessor(), random.Random(14)
    midnight = int(datetime.now(UTC).timestamp() * 1000) // DAY_MS * DAY_MS
    unsettled: set[DedupKey] = set()
    answered = fell_back = 0
    seen: set[Outcome] = set()
    for round_ in range(200):
        events = random_batch(rng, midnight, round_)
        with services.db.sync.begin() as conn:
            took, live, outcomes = compared(conn, fast, twin, requests(rng, copy.deepcopy(events)), unsettled)
            seen.update(outcomes)
            answered, fell_back = answered + took, fell_back + (not took)
            assert quota_state(fast) == quota_state(twin), round_
            if round_ % 3 == 0:  # stored: later batches find their ids in the events table
                twin.store(conn, live)
            else:  # spooled, not yet stored
                unsettled.update(dedup_keys(live))
    assert answered > 60 and fell_back > 60, (answered, fell_back)
    reasons = {"unknown domain", "bot", "invalid url", "invalid timestamp", "quota"}
    assert {o.reason for o in seen if o.status == "dropped"} == reasons  # each rule met
    assert Outcome("duplicate") in seen


def test_the_frame_of_a_plain_body_holds_no_address_or_user_agent(services: Services) -> None:
    """The route's columns carry the IP and User-Agent (for the visitors); the frame never does."""
    make_site(services, "aa", "a.test")
    hour_ago = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    stamp = hour_ago.strftime("%Y-%m-%dT%H:%M")
    addresses = [f"81.2.69.{i}" for i in range(3)]
    lines = [
        f'{{"name":"pageview","url":"https://a.test/p/{i % 5}","domain":"a.test","event_id":"c{i}",'
        f'"timestamp":"{stamp}:{i % 60:02d}.000Z","ip":"{addresses[i % 3]}","user_agent":"{BROWSER}"}}'
        for i in range(50)
    ]
    batch = plain_body("\n".join(lines).encode(), tenant_check(["a.test"]))
    assert isinstance(batch, ColumnBatch) and {"ip", "user_agent"} <= set(batch.columns)
    with services.db.sync.begin() as conn:
        got = prepare_frame(BatchProcessor(), conn, batch, frozenset())
        assert got is not None
        frame, outcomes, keys = got
        assert outcomes == [ACCEPTED_OUTCOME] * 50 and len(keys) == 50
        live, _outcomes, _keys = BatchProcessor().prepare_keyed(conn, copy.deepcopy(list(batch)))
        assert frame == columns.frame(live, batch)
    private = {*addresses, BROWSER}
    found = set(strings_in(frame))
    assert found.isdisjoint(private) and found.isdisjoint({"ip", "user_agent"})
    assert {f.name for f in fields(PendingEvent)} > set(frame["events"]) | set(frame["absent"])


def strings_in(value: Any) -> list[str]:
    """Every string in a frame, keys included, however deep."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings_in(k), *strings_in(v))]
    if isinstance(value, list | tuple | set):
        return [s for v in value for s in strings_in(v)]
    return []


def test_columns_a_joined_part_lacked_go_the_slow_way(services: Services) -> None:
    """Joined requests give None for a column one of them lacks: the events still have it."""
    make_site(services, "aa", "a.test")
    now = int(datetime.now(UTC).timestamp() * 1000)
    events = [
        PendingEvent(
            domain="a.test", name="pageview", url="https://a.test/", referrer=None, props=None,
            interactive=False, event_id=f"j{i}", revenue=None, currency=None, transaction_id=None,
            items=None, engagement_ms=None, scroll_depth=None, language=None, hash_routing=False,
            ts=now, ip=IPS[i % 2], user_agent=BROWSER,
        )
        for i in range(4)
    ]  # fmt: skip
    without_ip = tuple(name for name in GIVEN if name != "ip")
    batch = joined_batches([column_batch(events[:2]), column_batch(events[2:], without_ip)])
    assert isinstance(batch, ColumnBatch) and batch.columns["ip"][2:] == [None, None]
    processor = BatchProcessor()
    with services.db.sync.begin() as conn:
        assert prepare_frame(processor, conn, batch, frozenset()) is None
        _live, outcomes, _keys = processor.prepare_keyed(conn, batch, frozenset())
    assert outcomes == [ACCEPTED_OUTCOME] * 4


@pytest.fixture(scope="module")
def clickhouse() -> Iterator[ClickHouseEvents]:
    opened = open_clickhouse(chdb_url("prepare_columns"))
    upgrade_clickhouse(opened)
    yield opened


def test_ids_stored_in_clickhouse_are_looked_up_as_prepare_does(
    services: Services, clickhouse: ClickHouseEvents
) -> None:
    """With the events in ClickHouse (`processor.stored_keys`, chDB here) the fast path asks it
    what `_classify` asks: a stored id sends the batch the slow way, where it is a duplicate."""
    make_site(services, "aa", "a.test")
    make_site(services, "bb", "b.test")
    fast, twin, rng = BatchProcessor(), BatchProcessor(), random.Random(15)
    fast.stored_keys = twin.stored_keys = ClickHouseKeys(clickhouse)
    midnight = int(datetime.now(UTC).timestamp() * 1000) // DAY_MS * DAY_MS
    answered, duplicates = 0, 0
    for round_ in range(60):
        events = random_batch(rng, midnight, round_)
        with services.db.sync.begin() as conn:
            took, live, outcomes = compared(conn, fast, twin, column_batch(copy.deepcopy(events)), set())
        answered += took
        duplicates += outcomes.count(Outcome("duplicate"))
        # stored in ClickHouse (row ids of their own: the table keeps one row an id): later
        # batches of the pool's ids find them there
        rows = [
            (1000 * round_ + n, item.site.id, n, n, item.event.ts, "pageview", "x.test", "/", True,
             item.event.event_id, None, 1)
            for n, item in enumerate(live)
        ]  # fmt: skip
        clickhouse.insert("events", rows, COLUMNS)
    assert answered > 20 and duplicates > 10, (answered, duplicates)


def test_the_quota_admits_a_batch_whole_or_not_at_all(services: Services) -> None:
    """QuotaGate.admit: every tenant's count fits (and is counted) or none is counted."""
    today = datetime.now(UTC).date()
    first, _ = make_site(services, "aa", "a.test")
    second, _ = make_site(services, "bb", "b.test")
    free, _ = make_site(services, "cc", "c.test")  # no subscription: no cap
    for tenant in (first, second):  # cap: 110% of 10 = 11 events
        subscribe(services, tenant.id, "starter", today.replace(day=1), today + timedelta(days=40), events=10)
    gate = BatchProcessor().quota
    with services.db.sync.begin() as conn:
        assert not gate.admit(conn, {first.id: 5, second.id: 12, free.id: 10**6})
        assert [gate._tenants[t].counted for t in (first.id, second.id)] == [0, 0]
        assert gate.admit(conn, {first.id: 5, second.id: 11, free.id: 10**6})
        assert [gate._tenants[t].counted for t in (first.id, second.id)] == [5, 11]
        assert gate.admit(conn, {first.id: 6, free.id: 1}) and gate._tenants[first.id].counted == 11
        assert not gate.admit(conn, {first.id: 1}) and gate.admit(conn, {second.id: 0})
