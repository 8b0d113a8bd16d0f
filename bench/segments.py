"""Segments at scale (issue 15): 200,000 profiles with 5 million identified events, 20 segments,
30 days of snapshots, on SQLite (or --db URL).

Data: one tenant (UTC) and site; profiles with traits (plan, ltv, country, email, newsletter) and
first seen up to 120 days back; identified events over the 60 days before the computed day D
(pageviews of /, /pricing, /blog/..., signups, logins, add_to_cart and purchases with revenue), in
visits with sources and UTM. Rows are written straight into the tables (the ingestion pipeline's
speed is bench/ingest.py's subject), then:

1. all 20 segments are computed for D through `compute_segments` (timed, wall and CPU: target
   under 30 s);
2. the 29 days before D get `segment_days` rows derived from D's counts, so the trend reads 30
   days (with --member-history also their member rows, a share of D's members left out per day:
   35 M rows, which took over 40 minutes on a loaded machine);
3. `segments_with_trend`, `overlap_pairs` and `membership_totals` are timed (p50 of 20 runs), and
   the endpoints `/api/analytics/segments/`, `/overlap/` and `/overview/` through the ASGI app
   (httpx, a real API token; p50 of 20: target under 200 ms).

--reuse keeps the data set of an earlier run in --dir (writing it took 40 minutes under load; its
day D is read back from the profiles) and computes D again: the day's 1.2 M member rows are
replaced, the heavier case of a daily run.

    .venv/bin/python bench/segments.py [--reuse] [--profiles 200000] [--events 5000000] \
        [--dir bench/out/segments] [--member-history]

With --events-url (chdb:///abs/dir or clickhouse://...) the events are in ClickHouse: the run is
bench/segments_clickhouse.py's, with the same data set, segments and timers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import runpy
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path and its mcp.py would shadow the `mcp` SDK
# the app imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx2  # noqa: E402
import orjson  # noqa: E402

from analytics_mcp.app import create_app  # noqa: E402
from analytics_mcp.config import Settings  # noqa: E402
from analytics_mcp.platform import memberships as ms  # noqa: E402
from analytics_mcp.platform.compute import compute_segments  # noqa: E402
from analytics_mcp.platform.reports import membership_totals, overlap_pairs, segments_with_trend  # noqa: E402
from analytics_mcp.platform.segment_rules import SegmentDefinition  # noqa: E402
from analytics_mcp.platform.segments import create_segment  # noqa: E402
from analytics_mcp.services import Services  # noqa: E402
from analytics_mcp.storage import accounts  # noqa: E402
from analytics_mcp.timeutil import DAY_MS, local_midnight_ms  # noqa: E402

D = datetime.now(UTC).date() - timedelta(days=1)
PLANS = ("free", "starter", "pro", "enterprise")
COUNTRIES = ("de", "us", "fr", "gb", "nl")
PAGES = ("/", "/pricing", "/blog/a", "/blog/b", "/docs", "/features")
SOURCES = (
    ("direct", "direct", None),
    ("google", "organic search", None),
    ("newsletter", "email", "newsletter"),
    ("twitter", "social", None),
    ("adwords", "paid", "adwords"),
)
NAMES = ("pageview",) * 6 + ("signup", "login", "login", "add_to_cart", "purchase")


def trait(name: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"type": "trait", "trait": name, "op": op, **({} if value is None else {"value": value})}


def visit(field: str, value: str) -> dict[str, Any]:
    return {"type": "visit", "field": field, "value": value, "days": 30}


SEGMENTS: list[tuple[str, str, list[dict[str, Any]]]] = [
    ("Pro plan", "all", [trait("plan", "equals", "pro")]),
    ("Enterprise or pro", "any", [trait("plan", "equals", "enterprise"), trait("plan", "equals", "pro")]),
    ("High LTV Buyers", "all", [trait("ltv", "gt", 800)]),
    ("Low LTV", "all", [trait("ltv", "lt", 100)]),
    ("Newsletter subscribers", "all", [trait("newsletter", "equals", True)]),
    ("Gmail users", "all", [trait("email", "contains", "gmail")]),
    ("No country", "all", [trait("country", "not_set")]),
    ("Germans", "all", [trait("country", "equals", "de")]),
    ("Active 7d", "all", [{"type": "event", "event": "login", "min_count": 2, "days": 7}]),
    ("Signed up 30d", "all", [{"type": "event", "event": "signup", "days": 30}]),
    ("Carts 30d", "all", [{"type": "event", "event": "add_to_cart", "min_count": 3, "days": 30}]),
    ("Spent 200+ 30d", "all", [{"type": "revenue", "op": "gt", "value": 200, "days": 30}]),
    ("Spent under 50 30d", "all", [{"type": "revenue", "op": "lt", "value": 50, "days": 30}]),
    ("Saw pricing 14d", "all", [{"type": "visited", "path": "/pricing", "days": 14}]),
    ("Blog readers 30d", "all", [{"type": "visited", "path": "/blog/", "match": "prefix", "days": 30}]),
    ("Old customers", "all", [{"type": "first_seen", "op": "before", "date": str(D - timedelta(days=90))}]),
    ("New customers", "all", [{"type": "first_seen", "op": "after", "date": str(D - timedelta(days=30))}]),
    ("From newsletter 30d", "all", [visit("utm_source", "newsletter")]),
    ("Paid channel 30d", "all", [visit("channel", "paid")]),
    ("Pro and active", "all", [trait("plan", "equals", "pro"), {"type": "event", "event": "login"}]),
]  # fmt: skip


def build(services: Services, profiles: int, events: int, rng: random.Random) -> int:
    """Tenant, site, profiles, visits and events; returns the tenant id."""
    with services.db.sync.begin() as conn:
        tenant = accounts.create_tenant(conn, "bench", timezone="UTC")
        site = accounts.add_site(conn, "bench", "bench.test", currency="EUR")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = local_midnight_ms(D + timedelta(days=1), UTC)  # type: ignore[arg-type]
    first_seen = [end - rng.randrange(1, 120) * DAY_MS - rng.randrange(DAY_MS) for _ in range(profiles)]
    profile_rows = []
    for i in range(profiles):
        traits: dict[str, Any] = {"plan": rng.choice(PLANS), "ltv": rng.randrange(0, 1000)}
        traits["email"] = f"user{i}@{rng.choice(('gmail.com', 'example.com', 'mail.de'))}"
        traits["newsletter"] = rng.random() < 0.3
        if rng.random() < 0.9:
            traits["country"] = rng.choice(COUNTRIES)
        profile_rows.append(
            (i + 1, tenant.id, site.id, f"c{i}", orjson.dumps(traits).decode(), first_seen[i], end, now, now)
        )
    sync = services.events_db.sync  # type: ignore[union-attr]
    with sync.begin() as conn:
        conn.exec_driver_sql("INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", profile_rows)
    per_visit, visit_rows, event_rows, next_id = 5, [], [], 1
    for v in range(1, events // per_visit + 1):
        who = rng.randrange(profiles)
        start = end - rng.randrange(60 * DAY_MS)
        source, channel, utm = rng.choice(SOURCES)
        visit_rows.append((v, site.id, who, start, start + 600_000, None, None, per_visit, per_visit, 1,
                           "/", "/", source, None, channel, utm, None, None, None, None, "desktop", "Chrome",
                           "Linux", "en", "de"))  # fmt: skip
        for k in range(per_visit):
            name = rng.choice(NAMES)
            path = rng.choice(PAGES) if name == "pageview" else "/app"
            revenue = round(rng.uniform(5, 150), 2) if name == "purchase" else None
            event_rows.append((next_id, site.id, v, who, start + k * 60_000, name, "bench.test", path, None,
                               name != "pageview", None, None, None, revenue, "EUR" if revenue else None,
                               f"t{next_id}" if revenue else None, None, f"c{who}"))  # fmt: skip
            next_id += 1
        if len(event_rows) >= 200_000 or v == events // per_visit:
            with sync.begin() as conn:
                conn.exec_driver_sql(f"INSERT INTO visits VALUES ({', '.join(['?'] * 25)})", visit_rows)
                conn.exec_driver_sql(f"INSERT INTO events VALUES ({', '.join(['?'] * 18)})", event_rows)
            visit_rows, event_rows = [], []
    return tenant.id


def reused(services: Services) -> tuple[int, date] | None:
    """The bench tenant and day D of an earlier run's data set, if --dir holds one."""
    with services.db.sync.connect() as conn:
        tenant = accounts.get_tenant(conn, "bench")
    if tenant is None:
        return None
    with services.events_db.sync.connect() as conn:  # type: ignore[union-attr]
        end = conn.exec_driver_sql("SELECT max(last_seen_ms) FROM profiles").scalar()
    return (tenant.id, ms.day_date(end // DAY_MS - 1)) if end else None


def older_days(services: Services, day: date, member_rows: bool) -> None:
    """segment_days of D-1 .. D-29 from D's counts (a different 1/31 share left out each day);
    with member_rows also their member rows, from D's members."""
    sync = services.events_db.sync  # type: ignore[union-attr]
    today = ms.day_number(day)
    with sync.begin() as conn:
        for back in range(1, 30):
            if member_rows:
                conn.exec_driver_sql(
                    "INSERT OR IGNORE INTO segment_memberships SELECT segment_id, ?, profile_id "
                    "FROM segment_memberships WHERE day = ? AND profile_id % 31 >= ?",
                    (today - back, today, back),
                )
            conn.exec_driver_sql(
                "INSERT OR REPLACE INTO segment_days SELECT segment_id, ?, member_count * (31 - ?) / 31, "
                "'2026-01-01T03:00:00Z' FROM segment_days WHERE day = ?",
                (today - back, back, today),
            )


async def p50(fn: Callable[[], Awaitable[Any]], runs: int = 20) -> tuple[float, float]:
    """Median wall and CPU milliseconds of `runs` calls (CPU: this process, SQLite included)."""
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        await fn()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


async def time_reports(services: Services, tenant_id: int, day: date) -> None:
    for name, fn in (
        ("segments_with_trend", lambda: segments_with_trend(services, tenant_id, day)),
        ("overlap_pairs", lambda: overlap_pairs(services, tenant_id)),
        ("membership_totals", lambda: membership_totals(services, tenant_id)),
    ):
        wall, cpu = await p50(fn)
        print(f"{name:<26} p50 {wall:7.1f} ms wall {cpu:7.1f} ms CPU (target < 200 ms)")
    print(f"(segments, total_members): {await membership_totals(services, tenant_id)}")


async def time_endpoints(services: Services) -> None:
    """The seed's endpoints through the app (routing, auth, JSON), as a client sees them."""
    with services.db.sync.begin() as conn:
        _token, plaintext = accounts.create_token(conn, "bench", name="bench", scopes=("read",))
    transport = httpx2.ASGITransport(app=create_app(services=services))
    headers = {"Authorization": f"Bearer {plaintext}"}
    async with httpx2.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as http:
        for path in ("/api/analytics/segments/", "/api/analytics/overlap/", "/api/analytics/overview/"):

            async def get(path: str = path) -> None:
                answer = await http.get(path)
                assert answer.status_code == 200, answer.text

            wall, cpu = await p50(get)
            print(f"GET {path:<24} p50 {wall:7.1f} ms wall {cpu:7.1f} ms CPU (target < 200 ms)")
        print(f"overview: {(await http.get('/api/analytics/overview/')).json()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--dir", type=Path, default=Path("bench/out/segments"))
    parser.add_argument("--reuse", action="store_true", help="keep the data set already in --dir")
    parser.add_argument("--member-history", action="store_true", help="member rows of the 29 older days")
    parser.add_argument("--events-url", help="events in ClickHouse (chdb:///dir, clickhouse://...)")
    args = parser.parse_args()
    if args.events_url:  # the same data set and timers with the events in ClickHouse
        runpy.run_path(str(Path(__file__).with_name("segments_clickhouse.py")), run_name="__main__")
        return
    if not args.reuse:
        shutil.rmtree(args.dir, ignore_errors=True)
    settings = Settings(  # type: ignore[call-arg]
        data_dir=args.dir,
        secret_key="bench",
        ingest_process=False,
        rate_limit="100000/minute",
        _env_file=None,
    )
    started = time.perf_counter()
    services = Services.build(settings)
    print(f"open and migrate: {time.perf_counter() - started:.1f} s")
    found = reused(services) if args.reuse else None
    if found is None:
        found = (make_data(services, args.profiles, args.events), D)
    tenant_id, day = found
    started, cpu = time.perf_counter(), time.process_time()
    done = asyncio.run(compute_segments(services, tenant_id, day))
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    print(f"compute 20 segments for {day}: {wall_s:.1f} s wall, {cpu_s:.1f} s CPU (target < 30 s)")
    for c in done:
        print(f"  {c.name:<24} {c.member_count:>7,}")
    started = time.perf_counter()
    older_days(services, day, args.member_history)
    print(f"29 older days derived in {time.perf_counter() - started:.1f} s")
    with services.events_db.sync.connect() as conn:  # type: ignore[union-attr]
        rows = conn.exec_driver_sql("SELECT count(*) FROM segment_memberships").scalar()
    print(f"segment_memberships rows: {rows:,}")
    asyncio.run(time_reports(services, tenant_id, day))
    asyncio.run(time_endpoints(services))


def make_data(services: Services, profiles: int, events: int) -> int:
    started = time.perf_counter()
    tenant_id = build(services, profiles, events, random.Random(15))
    print(
        f"data: {profiles:,} profiles, {events:,} identified events in {time.perf_counter() - started:.1f} s"
    )
    with services.db.sync.begin() as conn:
        for name, match, rules in SEGMENTS:
            create_segment(
                conn,
                tenant_id,
                SegmentDefinition.model_validate({"name": name, "match": match, "rules": rules}),
            )
    return tenant_id


if __name__ == "__main__":
    main()
