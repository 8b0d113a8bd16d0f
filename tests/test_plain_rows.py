"""The ClickHouse writer's columnar rows (ingest/clickhouse/plain_rows.py) against the per-event
path (`RowWriter.add` for every event): random batches over two sites in two zones (one with an
event goal and a page goal), visits crossing midnight (the visitor id changes with the day),
batches arriving late and joining visits stored by earlier ones, equal timestamps, engagement
reports, custom events, goals, purchases with items and identified events. Each batch is
computed both ways from the same stored state in real chDB and must give the same rows (ids,
gaps, visit fields, entry and exit, counters), outcomes, ends and profiles, and the columnar path
the same again when it reads the fields from the batch's spool frames; then one is stored and the
next batch builds on it."""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analytics_mcp.ingest.clickhouse import batch, fields, state
from analytics_mcp.ingest.enrich import ClientInfo
from analytics_mcp.ingest.event import PendingEvent, PreparedEvent
from analytics_mcp.ingest.goals import build_matcher
from analytics_mcp.ingest.sites import SiteInfo
from analytics_mcp.ingest.spool import columns as spool_columns
from analytics_mcp.ingest.spool.frame_events import framed_events
from analytics_mcp.ingest.wire import Item
from analytics_mcp.storage.clickhouse import open_clickhouse
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from clickhouse_support import chdb_url

DAY = 86_400_000
MINUTE = 60_000
MIDNIGHT = 1_796_601_600_000  # 2026-12-07T00:00:00Z
SITES = (
    SiteInfo(1, 1, "one.example", "EUR", ZoneInfo("Europe/Berlin"), ()),
    SiteInfo(
        2, 1, "two.example", "USD", ZoneInfo("America/New_York"),
        (
            build_matcher("g-signup", "event", None, None, "signup"),
            build_matcher("g-price", "page", "exact", "/pricing", None),
        ),
    ),
)  # fmt: skip
CLIENTS = (ClientInfo("Chrome", "Linux", "desktop"), ClientInfo("Safari", "iOS", "mobile"))
PATHS = ("/", "/docs", "/pricing", "/blog/a", "/blog/b")
REFERRERS = (None, "https://duckduckgo.com/", "https://news.example/item?id=3")


@pytest.fixture(scope="module")
def events() -> Iterator[ClickHouseEvents]:
    store = open_clickhouse(chdb_url("plain_rows"))
    upgrade_clickhouse(store)
    yield store


def _visitor_ids(visitor: int, ts: int) -> tuple[int, ...]:
    """As prepare gives them: the previous day's salt first, then the event's own day."""
    day = ts // DAY
    return (visitor * 1000 + day - 1, visitor * 1000 + day)


def _event(rng: random.Random, index: int, ts: int, visitor: int, serial: int) -> PreparedEvent:
    site = SITES[visitor % 2]
    path = rng.choice(PATHS)
    name = rng.choices(
        ("pageview", "click", "signup", "engagement", "purchase", "identify"), (60, 12, 4, 12, 4, 2)
    )[0]
    extra: dict[str, Any] = {}
    if name == "engagement":
        extra = {"engagement_ms": rng.choice((None, 500, 4000)), "scroll_depth": rng.choice((None, 10, 90))}
    elif name == "purchase":
        extra = {"revenue": 30.0, "currency": "EUR", "transaction_id": f"t{serial}"}
        extra["items"] = [Item(item_id="sku", item_name="Mug", price=15.0, quantity=2)]
    if name == "identify" or rng.random() < 0.03:
        extra["user_id"] = f"u{visitor}"
    event = PendingEvent(
        domain=site.domain, name=name, url=f"https://{site.domain}{path}", referrer=rng.choice(REFERRERS),
        props='{"k":1}' if rng.random() < 0.1 else None,
        interactive=name not in ("pageview", "engagement") and rng.random() < 0.8,
        event_id=f"e{serial}", revenue=extra.get("revenue"), currency=extra.get("currency"),
        transaction_id=extra.get("transaction_id"), items=extra.get("items"),
        engagement_ms=extra.get("engagement_ms"), scroll_depth=extra.get("scroll_depth"),
        language=rng.choice(("en-US", "de", None)), hash_routing=False, ts=ts, ip="", user_agent="",
        country=rng.choice(("DE", "US", None)), user_id=extra.get("user_id"),
    )  # fmt: skip
    return PreparedEvent(
        index, event, site, CLIENTS[visitor % 2], _visitor_ids(visitor, ts), site.domain, path
    )


def _batch(rng: random.Random, start: int, serial: int) -> list[PreparedEvent]:
    """Visitors' runs of events from `start` on (some late: before earlier batches' events),
    with gaps short and long, and some plain visitors (pageviews, clicks and engagement only)."""
    out: list[PreparedEvent] = []
    for _ in range(rng.randint(1, 25)):
        visitor = rng.randint(1, 16)
        ts = start + rng.randint(-90, 240) * MINUTE
        plain = rng.random() < 0.5
        for _ in range(rng.randint(1, 9)):
            item = _event(rng, len(out), ts, visitor, serial + len(out))
            if plain and item.event.name not in ("pageview", "click", "engagement"):
                item.event.name = "pageview"
                item.event.items = item.event.user_id = item.event.revenue = None
            out.append(item)
            ts += rng.choice((0, 1, 15_000, 5 * MINUTE, 29 * MINUTE, 30 * MINUTE, 31 * MINUTE, 3 * 3600_000))
    rng.shuffle(out)
    for index, item in enumerate(out):
        item.index = index
    return out


def _compare(events: ClickHouseEvents, live: list[PreparedEvent]) -> batch.BatchRows:
    """Both ways from the same stored state: the same rows, outcomes, ends and profiles."""
    version, bases = state.next_free(events)
    columnar = batch.compute(events, live, bases, version)
    per_event = batch.compute(events, live, bases, version, plain=False)
    assert per_event.plain == 0
    assert _table_rows(columnar) == _table_rows(per_event)
    assert [c for c, _ in columnar.tables.values()] == [c for c, _ in per_event.tables.values()]
    assert columnar.outcomes == per_event.outcomes
    assert columnar.ends == per_event.ends
    assert _profiles(columnar) == _profiles(per_event)
    frames = _frames(live)
    assert fields.columns(live, frames).given is not None  # the fields are the frames' columns
    from_frames = batch.compute(events, live, bases, version, frames=frames)
    assert from_frames.plain == columnar.plain
    assert _table_rows(from_frames) == _table_rows(per_event)
    assert (from_frames.outcomes, from_frames.ends) == (per_event.outcomes, per_event.ends)
    # As the server's writer reads them: the events built from the frames on demand.
    lazy = framed_events(frames, spool_columns.sites_now(frames, None, _Sites(live)))  # type: ignore[arg-type]
    assert lazy is not None
    from_lazy = batch.compute(events, lazy, bases, version, frames=frames)
    assert from_lazy.plain == columnar.plain
    assert _table_rows(from_lazy) == _table_rows(per_event)
    assert (from_lazy.outcomes, from_lazy.ends) == (per_event.outcomes, per_event.ends)
    assert _profiles(from_lazy) == _profiles(per_event)
    return columnar


class _Sites:
    """The writer's site registry: the batch's sites by domain."""

    def __init__(self, live: list[PreparedEvent]) -> None:
        self.by_domain = {item.site.domain: item.site for item in live}

    def lookup(self, _conn: object, domain: str) -> SiteInfo | None:
        return self.by_domain.get(domain)


def _frames(live: list[PreparedEvent]) -> list[dict[str, Any]]:
    """`live` as the writer gets it from three spool frames: the gather thread's frames (handed)
    and decoded ones alternately (each frame's absent fields its own)."""
    cut = [0, len(live) // 3, 2 * len(live) // 3, len(live)]
    parts = [live[cut[i] : cut[i + 1]] for i in range(3)]
    return [
        spool_columns.frame(part) if i % 2 else pickle.loads(spool_columns.encode(part))
        for i, part in enumerate(parts)
    ]


def _table_rows(rows: batch.BatchRows) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows as the Arrow table inserted holds them (columns come as lists, numpy or
    pyarrow arrays): values and types both compared."""
    return {
        table: sorted(
            tuple((type(v), v) for v in row.values()) for row in batch._arrow(names, data).to_pylist()
        )
        for table, (names, data) in rows.tables.items()
    }


def _profiles(rows: batch.BatchRows) -> dict[Any, Any]:
    return dict(rows.profiles.changes)  # ProfileChange is a dataclass: compared by value


@pytest.mark.parametrize("seed", range(8))
def test_columnar_rows_equal_the_per_event_rows(events: ClickHouseEvents, seed: int) -> None:
    rng = random.Random(seed)
    start = MIDNIGHT - 2 * 3600_000 + seed * 7 * DAY  # crosses midnight in every run
    serial, plain_events = 0, 0
    for number in range(8):
        live = _batch(rng, start + number * 20 * MINUTE, serial)
        serial += len(live)
        version, bases = state.next_free(events)
        columnar = _compare(events, live)
        plain_events += columnar.plain
        name = f"plain-{seed}"
        state.write(events, state.Plan(name, number, number + 1, version, bases, columnar.ends).done())
        batch.insert(
            events, columnar, lambda table, at=f"{name}:{number}": f"{at}:{table}", lambda _table: None
        )
    assert plain_events > 0  # the columnar path was taken, not only the per-event one


def test_an_engagement_report_after_a_dropped_one_finds_no_visit(events: ClickHouseEvents) -> None:
    """A report 31 minutes after a pageview finds no open visit and is dropped; one 9 minutes
    later would have found the first report's visit, but that one moved nothing: dropped too."""
    rng = random.Random(7)
    start = MIDNIGHT + 400 * DAY
    kinds = (("pageview", 0), ("engagement", 31), ("engagement", 40), ("pageview", 41), ("engagement", 42))
    live = []
    for index, (name, minute) in enumerate(kinds):
        item = _event(rng, index, start + minute * MINUTE, 3, 900_000 + index)
        item.event.name, item.event.user_id, item.event.items = name, None, None
        item.event.engagement_ms, item.event.scroll_depth = (
            (1000, 50) if name == "engagement" else (None, None)
        )
        item.pathname = "/docs"
        live.append(item)
    rows = _compare(events, live)
    assert rows.plain == 3
    assert [o.status for o in rows.outcomes] == ["accepted", "dropped", "dropped", "accepted", "accepted"]
