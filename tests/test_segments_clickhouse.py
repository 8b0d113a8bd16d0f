"""Segments on the ClickHouse event store (issue 15): the same profiles, identified events and
segments give identical memberships, trends, overlap and totals on SQLite and ClickHouse (chDB).

Identified events of two tenants (east of UTC and west of it, USD purchases on a EUR site, paths
differing in case, UTM tags, referrers) go through the real ingestion into SQLite, then `events
copy` copies them into chDB, where every event and visit row is then written again with a higher
version (as the writer rewrites a changed pageview or visit). The accounts (and with them the
profiles and segments) stay in the install's SQLite file, which is also where profiles live when
the events are in ClickHouse. Every rule type is computed for four days on both stores and compared
member for member; a second tenant's segments and customers never appear. Then the HTTP client
path: the REST routes and the MCP tools of an app whose events are at clickhouse://127.0.0.1:PORT
(the loopback endpoint over chDB, tests/clickhouse_http.py) answer what SQLite's report functions
answer.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analytics_mcp.app import create_app
from analytics_mcp.config import Settings
from analytics_mcp.platform import memberships as ms
from analytics_mcp.platform.compute import compute_segments
from analytics_mcp.platform.profiles import import_profiles
from analytics_mcp.platform.reports import membership_totals, overlap_pairs, segments_with_trend
from analytics_mcp.platform.reports_ops import events_30d
from analytics_mcp.platform.schedule import tenant_today
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_types import Tenant
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from clickhouse_http import clickhouse_endpoint
from clickhouse_support import chdb_url
from conftest import hold_lifespan
from engine_support import add_site, hit, ingest, purchase
from factories import make_token
from segments_support import D, add_segment
from test_differential_clickhouse import run_cli
from test_mcp_numbers import http_tools

DAYS = [D - timedelta(days=back) for back in (3, 2, 1, 0)]
PATHS = ("/", "/pricing", "/Blog/Intro", "/blog/post", "/docs", "/pricing/team")
TAGS = ("", "?utm_source=newsletter&utm_medium=email&utm_campaign=spring", "?utm_source=ads&utm_medium=cpc")
REFERRERS = (None, "https://www.google.com/", "https://news.ycombinator.com/")


def rules(day_before: str, day_after: str) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Every rule type and operator, and both ways of combining them."""
    visit = lambda field, value: {"type": "visit", "field": field, "value": value, "days": 30}  # noqa: E731
    return [
        ("pro", "all", [{"type": "trait", "trait": "plan", "op": "equals", "value": "pro"}]),
        ("not pro", "all", [{"type": "trait", "trait": "plan", "op": "not_equals", "value": "pro"}]),
        ("example mail", "all", [{"type": "trait", "trait": "email", "op": "contains", "value": "EXAMPLE"}]),
        ("ltv over 300", "all", [{"type": "trait", "trait": "ltv", "op": "gt", "value": 300}]),
        ("no ltv", "all", [{"type": "trait", "trait": "ltv", "op": "not_set"}]),
        ("logins 7d", "all", [{"type": "event", "event": "login", "min_count": 2, "days": 7}]),
        ("signup", "all", [{"type": "event", "event": "signup", "days": 30}]),
        ("spent 60", "all", [{"type": "revenue", "op": "gt", "value": 60, "days": 30}]),
        ("spent under 25", "all", [{"type": "revenue", "op": "lt", "value": 25, "days": 14}]),
        ("pricing 5d", "all", [{"type": "visited", "path": "/pricing", "days": 5}]),
        ("blog", "all", [{"type": "visited", "path": "/blog/", "match": "prefix", "days": 30}]),
        ("early", "all", [{"type": "first_seen", "op": "before", "date": day_before}]),
        ("late", "all", [{"type": "first_seen", "op": "after", "date": day_after}]),
        ("from google", "all", [visit("source", "Google")]),
        ("email channel", "all", [visit("channel", "email")]),
        ("newsletter", "all", [visit("utm_source", "newsletter")]),
        ("cpc", "all", [visit("utm_medium", "cpc")]),
        ("spring", "all", [visit("utm_campaign", "spring")]),
        ("pro and login", "all", [{"type": "trait", "trait": "plan", "op": "equals", "value": "pro"},
                                  {"type": "event", "event": "login", "days": 10}]),
        ("big or docs", "any", [{"type": "revenue", "op": "gt", "value": 120, "days": 30},
                                {"type": "visited", "path": "/docs", "days": 3}]),
    ]  # fmt: skip


def traffic(rng: random.Random, tenant: str, domains: tuple[str, ...]) -> list[dict[str, Any]]:
    """Identified events of 40 customers over the 40 days before D (and some anonymous ones)."""
    out: list[dict[str, Any]] = []
    for n in range(400):
        user = f"{tenant}-u{rng.randrange(40)}" if n % 10 else None
        when = datetime.combine(D, datetime.min.time(), UTC) + timedelta(hours=23, minutes=50)
        when -= timedelta(minutes=rng.randrange(40 * 24 * 60))
        stamp, who, domain = when.strftime("%Y-%m-%dT%H:%M:%SZ"), rng.randrange(1, 60), rng.choice(domains)
        extra: dict[str, Any] = {"user_id": user} if user else {}
        kind = rng.randrange(10)
        if kind < 2:
            amount = rng.choice((10.0, 30.0, 55.0, 90.0))
            currency = "USD" if rng.random() < 0.3 else "EUR"
            out.append(purchase(stamp, who, f"{tenant}-t{n}", amount, currency, domain=domain, **extra))
            continue
        name = ("login", "signup", "pageview")[min(kind - 2, 2)] if kind < 5 else "pageview"
        path = rng.choice(PATHS) + rng.choice(TAGS)
        referrer = rng.choice(REFERRERS)
        out.append(hit(stamp, path, who=who, domain=domain, name=name, **extra,
                       **({"referrer": referrer} if referrer else {})))  # fmt: skip
    return out


def profile_lines(rng: random.Random, tenant: str) -> list[dict[str, Any]]:
    """Traits of the 40 customers and of 5 imported only (no events)."""
    lines = []
    for n in range(45):
        traits: dict[str, Any] = {"plan": rng.choice(("pro", "free", "starter"))}
        traits["email"] = f"c{n}@{rng.choice(('Example.com', 'other.org'))}"
        if rng.random() < 0.7:
            traits["ltv"] = rng.randrange(0, 600)
        lines.append({"user_id": f"{tenant}-u{n}", "traits": traits})
    return lines


@dataclass
class Stores:
    sqlite: Services
    clickhouse: Services
    tenants: dict[str, Tenant]
    segments: dict[str, list[int]]
    data_dir: Path


def seed(services: Services) -> tuple[dict[str, Tenant], dict[str, list[int]]]:
    rng = random.Random(15)
    tenants, segments = {}, {}
    before, after = str(D - timedelta(days=37)), str(D - timedelta(days=36))
    for slug, zone, domains in (
        ("east", "Asia/Tokyo", ("east.test", "east2.test")),
        ("west", "America/Los_Angeles", ("west.test",)),
    ):
        for number, domain in enumerate(domains):
            tenant, _site = add_site(
                services, domain, slug=slug, tenant_timezone=zone, currency=("EUR", "USD")[number]
            )
        tenants[slug] = tenant
        ingest(services, traffic(rng, slug, domains))
        with services.db.sync.connect() as conn:
            sites = accounts.list_sites(conn, tenant.id)
        asyncio.run(import_profiles(services, tenant.id, sites, profile_lines(rng, slug)))
        names = [(f"{slug.upper()}-MARKER {name}", match, r) for name, match, r in rules(before, after)]
        segments[slug] = [add_segment(services, tenant, name, r, match) for name, match, r in names]
    return tenants, segments


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    data_dir = tmp_path_factory.mktemp("segments-ch") / "data"
    sqlite = Services.build(Settings(data_dir=data_dir, secret_key="t", ingest_process=False, _env_file=None))  # type: ignore[call-arg]
    tenants, segments = seed(sqlite)
    url = chdb_url("segments")
    code, _out, err = run_cli(data_dir, "events", "copy", "--to", url)
    assert code == 0, err
    settings = Settings(
        data_dir=data_dir, secret_key="t", ingest_process=False, events_url=url, _env_file=None
    )  # type: ignore[call-arg]
    clickhouse = Services.build(settings)
    house = clickhouse.events_db
    assert isinstance(house, ClickHouseEvents)
    # Every event and visit written again as the writer rewrites them (same id, higher version, an
    # engaged time changed): the rules read without FINAL, so each id must still count once.
    for table, changed in (("events", ", coalesce(engaged_ms, 0) + 1 AS engaged_ms"), ("visits", "")):
        house.command(
            f"INSERT INTO {house.table(table)} SELECT * REPLACE (version + 1 AS version{changed}) "
            f"FROM {house.table(table)}"
        )
    for services in (sqlite, clickhouse):
        for day in DAYS:
            for tenant in tenants.values():
                asyncio.run(compute_segments(services, tenant.id, day))
    yield Stores(sqlite, clickhouse, tenants, segments, data_dir)
    for services in (sqlite, clickhouse):
        for db in services.sql_databases():
            db.sync.dispose()
            db.reader.dispose()
            asyncio.run(db.aio.dispose())


def members(services: Services, segment_id: int) -> list[set[str]]:
    return [asyncio.run(ms.members_on(services, segment_id, day)) for day in DAYS]


def test_every_rule_has_the_same_members_on_every_day(stores: Stores) -> None:
    sizes = []
    for slug, ids in stores.segments.items():
        for segment_id in ids:
            on_sqlite = members(stores.sqlite, segment_id)
            assert members(stores.clickhouse, segment_id) == on_sqlite, segment_id
            assert all(user.startswith(f"{slug}-") for day in on_sqlite for user in day)  # its own only
            sizes.append(len(on_sqlite[-1]))
    assert sum(1 for n in sizes if 0 < n < 45) >= len(sizes) - 2, sizes  # the rules tell customers apart


def test_trend_overlap_and_totals_are_alike(stores: Stores) -> None:
    for slug, tenant in stores.tenants.items():
        today = tenant_today(tenant.timezone)
        trend = asyncio.run(segments_with_trend(stores.clickhouse, tenant.id, today))
        assert trend == asyncio.run(segments_with_trend(stores.sqlite, tenant.id, today))
        assert all(len(row["trend"]) == 4 for row in trend) and all(
            row["name"].startswith(slug.upper()) for row in trend
        )
        pairs = asyncio.run(overlap_pairs(stores.clickhouse, tenant.id))
        assert pairs == asyncio.run(overlap_pairs(stores.sqlite, tenant.id)) and len(pairs) == 20
        assert {p["seg_a_id"] for p in pairs} <= set(stores.segments[slug])
        totals = asyncio.run(membership_totals(stores.clickhouse, tenant.id))
        assert totals == asyncio.run(membership_totals(stores.sqlite, tenant.id)) and totals[1] > 0
        now = datetime.now(UTC)
        assert asyncio.run(events_30d(stores.clickhouse, tenant, now)) == asyncio.run(
            events_30d(stores.sqlite, tenant, now)
        )


def test_recomputing_a_day_replaces_it(stores: Stores) -> None:
    east = stores.tenants["east"]
    pro = stores.segments["east"][0]
    before = asyncio.run(ms.members_on(stores.clickhouse, pro, D))
    with stores.sqlite.db.sync.connect() as conn:
        sites = accounts.list_sites(conn, east.id)
    leaving = sorted(before)[:2]
    lines = [{"user_id": user, "traits": {"plan": "free"}} for user in leaving]
    asyncio.run(import_profiles(stores.clickhouse, east.id, sites, lines))  # the same accounts file
    for services in (stores.sqlite, stores.clickhouse):
        asyncio.run(compute_segments(services, east.id, D, [pro]))
    after = asyncio.run(ms.members_on(stores.clickhouse, pro, D))
    assert after == before - set(leaving) == asyncio.run(ms.members_on(stores.sqlite, pro, D))
    for _ in range(2):  # the overlap and totals of before were kept: a new snapshot set, new counts
        totals = asyncio.run(membership_totals(stores.clickhouse, east.id))
        assert totals == asyncio.run(membership_totals(stores.sqlite, east.id))
        pairs = asyncio.run(overlap_pairs(stores.clickhouse, east.id))
        assert pairs == asyncio.run(overlap_pairs(stores.sqlite, east.id))
    house = stores.clickhouse.events_db
    assert isinstance(house, ClickHouseEvents)
    sql = f"SELECT count() FROM {house.table('segment_memberships')} "
    sql += "WHERE segment_id = {s:UInt32} AND day = {d:Int32}"
    assert house.rows(sql, {"s": pro, "d": ms.day_number(D)})[0][0] == len(after)  # the old run is gone


async def test_rest_and_mcp_over_the_clickhouse_http_endpoint(stores: Stores, tmp_path: Path) -> None:
    with clickhouse_endpoint(tmp_path / "chdb", tmp_path / "clickhouse.log") as (_proc, port):
        url = f"clickhouse://127.0.0.1:{port}/segments_http"
        code, _out, err = await asyncio.to_thread(run_cli, stores.data_dir, "events", "copy", "--to", url)
        assert code == 0, err
        settings = Settings(  # type: ignore[call-arg]
            data_dir=tmp_path / "served", db_url=stores.sqlite.settings.database_url, events_url=url,
            secret_key="t", ingest_process=False, allowed_hosts=["testserver"], rate_limit="100000/minute",
            _env_file=None,
        )  # fmt: skip
        app = create_app(settings)
        stop, task = await hold_lifespan(app)
        try:
            await _served_answers_like_sqlite(app, stores)
        finally:
            stop.set()
            await task


async def _served_answers_like_sqlite(app: Any, stores: Stores) -> None:
    services: Services = app.state.services
    west = stores.tenants["west"]
    admin = {"Authorization": f"Bearer {make_token(services, 'west', ('read', 'admin'))}"}
    async with http_tools(app, make_token(services, "west")) as (client, http):
        for day in DAYS:  # computed through the admin API, over HTTP into ClickHouse
            for segment_id in stores.segments["west"]:
                done = await http.post(
                    f"/api/v1/segments/{segment_id}/compute", json={"day": str(day)}, headers=admin
                )
                assert done.status_code == 200, done.text
        today = tenant_today(west.timezone)
        trend = (await http.get("/api/analytics/segments/")).json()
        assert trend == await segments_with_trend(stores.sqlite, west.id, today)
        overlap = (await http.get("/api/analytics/overlap/")).json()
        assert overlap == await overlap_pairs(stores.sqlite, west.id) and overlap
        overview = (await http.get("/api/analytics/overview/")).json()
        count, total = await membership_totals(stores.sqlite, west.id)
        assert (overview["segment_count"], overview["total_members"]) == (count, total)
        assert overview["events_30d"] == await events_30d(stores.sqlite, west, datetime.now(UTC))
        tool = await client.call_tool("segments", {})
        assert not tool.is_error and tool.structured_content is not None
        assert [s["member_count"] for s in tool.structured_content["segments"]] == [
            s["member_count"] for s in trend
        ]
        pairs = await client.call_tool("segment-overlap", {})
        assert not pairs.is_error and pairs.structured_content is not None
        assert [p["overlap"] for p in pairs.structured_content["pairs"]] == [p["overlap"] for p in overlap]
        assert "EAST-MARKER" not in str(trend) + str(overlap) + str(tool.structured_content)
