# ruff: noqa: F811  (the world_copy fixture imported from world_copies is redefined as a parameter)
"""Keyset paging: following cursors until a short page returns every row of the range exactly
once, in id order, while new events keep arriving (before, inside and after the range, behind and
ahead of the cursor), across several sites, chunk boundaries and same-millisecond rows."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.export import queries, stream
from analytics_mcp.services import Services
from engine_support import hit, ingest, purchase
from test_export import World, export, jsonl, on, rows_of, world_in
from world_copies import WorldCopy, db_url, events_url, sqlite_template, world_copies, world_copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends()

TABLES = ["pageviews", "goal_completions", "ecommerce_events"]
RANGE = {"from_": "2026-03-01", "to": "2026-03-07"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit": "10000/minute"})


def traffic(seed: int, count: int, day_from: int = 1, day_to: int = 7, tag: str = "") -> list[dict[str, Any]]:
    """Pageviews (some completing the /signup goal) and purchases on both acme sites, several of
    them in one millisecond."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for n in range(count):
        day, second = rng.randint(day_from, day_to), rng.randrange(86_400)
        when = (
            f"2026-03-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{n % 3:03d}Z"
        )
        if n % 10 == 0:
            when = "2026-03-03T12:00:00.000Z"  # a crowd in one millisecond
        domain = "acme.test" if n % 3 else "shop.acme.test"
        who = rng.randrange(1, 250)
        if n % 7 == 0:
            events.append(purchase(when, who, f"T{seed}-{n}", 5.0, domain=domain, event_id=f"{seed}-{n}"))
        else:
            path = "/signup" if n % 5 == 0 and domain == "acme.test" else f"/p/{n}{tag}"
            events.append(hit(when, path, who=who, domain=domain, event_id=f"{seed}-{n}"))
    return events


def walk_world_in(services: Services) -> World:
    built = world_in(services)
    ingest(services, traffic(1, 240))
    return built


@pytest.fixture(scope="module")
def world_builder() -> Callable[[Services], World]:
    """test_export's world and 240 more events, built once per backend: each test's databases
    are copies (the tests that add events add them to their own copy)."""
    return walk_world_in


@pytest.fixture
def walk_world(app: Starlette, world_copy: WorldCopy) -> World:
    return on(app, world_copy)


async def walk(
    client: httpx2.AsyncClient, world: World, table: str, limit: int, between: Any = None, **params: Any
) -> tuple[list[str], int]:
    """All ids, page by page; `between(page_number)` runs after each page. Returns (ids, pages)."""
    ids: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        extra = {"cursor": cursor} if cursor else {}
        page = jsonl(await export(client, world.acme, table, limit=limit, **RANGE, **params, **extra))
        pages += 1
        ids += [row["id"] for row in page]
        if len(page) < limit:
            return ids, pages
        cursor = page[-1]["id"]
        if between is not None:
            between(pages)


def backfill(services: Services, page: int) -> None:
    """New events meanwhile: behind any cursor, ahead of it, and outside the range."""
    ingest(services, traffic(100 + page, 6, tag=f"-new{page}"))  # anywhere in the range
    ingest(services, [hit("2026-03-08T00:00:01Z", f"/later-{page}", who=page)])  # after `to`
    ingest(services, [hit("2026-02-28T23:59:59Z", f"/earlier-{page}", who=page)])  # before `from`


@pytest.mark.parametrize("table", TABLES)
async def test_every_row_once_while_events_arrive(
    walk_world: World, client: httpx2.AsyncClient, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "CHUNK_ROWS", 3)  # pages of 7 span several chunks
    before = [row["id"] for row in await rows_of(client, walk_world.acme, table, limit=10_000, **RANGE)]
    assert len(before) >= 20 and before == sorted(before)

    ids, pages = await walk(client, walk_world, table, 7, lambda page: backfill(walk_world.services, page))

    assert len(ids) == len(set(ids)), "a row came twice"
    assert ids == sorted(ids), "pages out of id order"
    assert set(before) <= set(ids), "a row that existed before the walk was skipped"
    assert pages >= len(before) // 7
    after = {row["id"] for row in await rows_of(client, walk_world.acme, table, limit=10_000, **RANGE)}
    assert set(ids) <= after  # nothing outside the range, nothing invented
    arrived = after - set(before)
    assert arrived & set(ids) and arrived - set(ids)  # new rows landed both ahead of and behind the cursor


@pytest.mark.parametrize("limit", [1, 2, 5, 10_000])
async def test_walk_equals_one_big_page(walk_world: World, client: httpx2.AsyncClient, limit: int) -> None:
    everything = [row["id"] for row in await rows_of(client, walk_world.acme, "pageviews", **RANGE)]
    ids, pages = await walk(client, walk_world, "pageviews", limit)
    assert ids == everything
    assert pages == len(everything) // limit + 1


async def test_csv_walk_equals_jsonl_walk(walk_world: World, client: httpx2.AsyncClient) -> None:
    jsonl_ids, _ = await walk(client, walk_world, "pageviews", 25)
    csv_ids: list[str] = []
    cursor: dict[str, str] = {}
    while True:
        response = await export(
            client, walk_world.acme, "pageviews", format="csv", limit=25, **RANGE, **cursor
        )
        page = [line.split(",", 1)[0] for line in response.text.splitlines()[1:]]
        csv_ids += page
        if len(page) < 25:
            break
        cursor = {"cursor": page[-1]}
    assert csv_ids == jsonl_ids


async def test_sites_are_merged_in_id_order(walk_world: World, client: httpx2.AsyncClient) -> None:
    rows = await rows_of(client, walk_world.acme, "pageviews", **RANGE)
    assert {row["site"] for row in rows} == {"acme.test", "shop.acme.test"}
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    for site in ("acme.test", "shop.acme.test"):
        own = await rows_of(client, walk_world.acme, "pageviews", site=site, **RANGE)
        assert own == [row for row in rows if row["site"] == site]


@pytest.mark.parametrize("table", TABLES)
async def test_many_sites_read_with_in_lists_give_the_same_rows(
    walk_world: World, client: httpx2.AsyncClient, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged = await rows_of(client, walk_world.acme, table, **RANGE)
    monkeypatch.setattr(queries, "MAX_ARMS", 1)
    monkeypatch.setattr(stream, "CHUNK_ROWS", 4)
    assert await rows_of(client, walk_world.acme, table, **RANGE) == merged
    ids, _ = await walk(client, walk_world, table, 5)
    assert ids == [row["id"] for row in merged]


async def test_same_millisecond_rows_page_by_id(walk_world: World, client: httpx2.AsyncClient) -> None:
    rows = await rows_of(client, walk_world.acme, "pageviews", **RANGE)
    crowd = [row["id"] for row in rows if row["created_at"] == "2026-03-03T12:00:00Z"]
    assert len(crowd) >= 10 and len({row_id[:10] for row_id in crowd}) == 1  # one ULID time
    ids, _ = await walk(client, walk_world, "pageviews", 3)
    assert [row_id for row_id in ids if row_id in crowd] == crowd


async def test_a_cursor_past_the_range_gives_an_empty_page(
    walk_world: World, client: httpx2.AsyncClient
) -> None:
    last = (await rows_of(client, walk_world.acme, "pageviews", **RANGE))[-1]["id"]
    response = await export(client, walk_world.acme, "pageviews", cursor=last, **RANGE)
    assert response.status_code == 200 and response.text == ""
    csv_page = await export(client, walk_world.acme, "pageviews", cursor=last, format="csv", **RANGE)
    assert csv_page.text.count("\r\n") == 1  # just the header


def test_visits_are_read_by_id_range_or_list(walk_world: World) -> None:
    with walk_world.services.db.sync.connect() as conn:
        cursor = conn.connection.cursor()
        ids = [row[0] for row in cursor.execute("SELECT id FROM visits ORDER BY id").fetchall()]
        reference = {row[0]: row for row in queries.visit_rows(conn, ids)}
        assert sorted(reference) == ids
        dense = ids[3:40:2]  # neighbours: one id range, filtered
        sparse = [ids[0], ids[-1]]  # far apart: an IN list
        for wanted in (dense, sparse, ids[5:6]):
            rows = queries.visit_rows(conn, wanted)
            assert sorted(row[0] for row in rows) == wanted
            assert all(row == reference[row[0]] for row in rows)
        assert queries.visit_rows(conn, []) == []


@pytest.mark.parametrize(
    ("statement", "index", "arms"),
    [
        (queries.pageviews_sql, "ix_events_site_name_ts", 1),
        (queries.completions_sql, "ix_goal_completions_site_ts", 1),
        (queries.ecommerce_sql, "ix_events_site_name_ts", 4),
    ],
)
@pytest.mark.backends("sqlite")  # reads SQLite's EXPLAIN QUERY PLAN
def test_chunks_walk_an_index_in_id_order(walk_world: World, statement: Any, index: str, arms: int) -> None:
    """Each arm is an index range read in (ts, id) order: never a table scan, and for one arm no
    sort at all (the rowid ends every SQLite index entry)."""
    with walk_world.services.db.sync.connect() as conn:
        query = queries.RawQuery(statement([1]), conn.dialect)
        values = {"lo": 0, "hi": 1 << 50, "ts": 0, "id": 0, "n": 100}
        cursor = conn.connection.cursor()
        plan = [
            row[-1] for row in cursor.execute("EXPLAIN QUERY PLAN " + query.sql, query.parameters(values))
        ]
    index_reads = [step for step in plan if step.startswith("SEARCH") and f"INDEX {index} " in step]
    assert len(index_reads) == arms and all("ts>?" in step for step in index_reads), plan
    assert not any(step.startswith("SCAN") and "anon" not in step for step in plan), plan  # no table scan
    if arms == 1:
        assert not any("TEMP B-TREE" in step for step in plan), plan
