"""Segments at scale on the ClickHouse event store (issue 15): bench/segments.py's data set and
segments with the events in ClickHouse (chDB by default, or --events-url clickhouse://...).

The same scale and shape as bench/segments.py: one tenant (UTC) and site, 200,000 profiles (traits
plan, ltv, email, newsletter, country; first seen up to 120 days back) in the accounts database,
5,000,000 identified events in 1,000,000 visits over the 60 days before D (pageviews of six
paths, signups, logins, add_to_cart, purchases of 5-150 EUR), sources and UTM per visit. Visits
and events are generated inside ClickHouse (INSERT ... SELECT over numbers(), from hashes of the
row number, so a run is repeatable), then:

1. all 20 segments of bench/segments.py are computed for D (timed, wall and CPU of this process,
   which runs chDB's threads too: target under 30 s);
2. the 29 days before D get snapshots derived from D's (a different 1/31 of the members left out
   each day; member rows and segment_days), so the reports read 30 days and ~35 M member rows;
3. `segments_with_trend`, `overlap_pairs` and `membership_totals` and the endpoints
   `/api/analytics/segments/`, `/overlap/`, `/overview/` through the ASGI app are timed (p50 of 20;
   target under 200 ms), with bench/segments.py's timers.

    .venv/bin/python bench/segments_clickhouse.py [--reuse] [--profiles 200000] [--events 5000000] \
        [--dir bench/out/segments-ch] [--events-url chdb:///abs/dir | clickhouse://...]

--reuse keeps the data set of an earlier run in --dir (profiles, events, the 29 older days): D is
computed again (a new run replaces D's members) and the reports are timed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import random
import resource
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# This folder's mcp.py would shadow the `mcp` SDK the app imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import orjson  # noqa: E402

from analytics_mcp.config import Settings  # noqa: E402
from analytics_mcp.platform import memberships as ms  # noqa: E402
from analytics_mcp.platform.compute import compute_segments  # noqa: E402
from analytics_mcp.platform.segment_rules import SegmentDefinition  # noqa: E402
from analytics_mcp.platform.segments import create_segment  # noqa: E402
from analytics_mcp.services import Services  # noqa: E402
from analytics_mcp.storage import accounts  # noqa: E402
from analytics_mcp.storage.clickhouse import ClickHouseEvents  # noqa: E402
from analytics_mcp.timeutil import DAY_MS, local_midnight_ms  # noqa: E402


def _bench_segments() -> Any:
    spec = importlib.util.spec_from_file_location("bench_segments", HERE / "segments.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SQL_BENCH = _bench_segments()
D = SQL_BENCH.D


def cpu_s() -> float:
    """CPU seconds of this process and its threads (chDB's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def profiles(services: Services, tenant_id: int, site_id: int, count: int, end: int) -> None:
    """Profiles with bench/segments.py's traits, in the accounts database."""
    rng, now = random.Random(15), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    for i in range(count):
        traits: dict[str, Any] = {
            "plan": rng.choice(SQL_BENCH.PLANS),
            "ltv": rng.randrange(0, 1000),
            "email": f"user{i}@{rng.choice(('gmail.com', 'example.com', 'mail.de'))}",
            "newsletter": rng.random() < 0.3,
        }
        if rng.random() < 0.9:
            traits["country"] = rng.choice(SQL_BENCH.COUNTRIES)
        seen = end - rng.randrange(1, 120) * DAY_MS - rng.randrange(DAY_MS)
        rows.append((i + 1, tenant_id, site_id, f"c{i}", orjson.dumps(traits).decode(), seen, end, now, now))
    with ms.profiles_db(services).sync.begin() as conn:
        conn.exec_driver_sql("INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _pick(values: tuple[Any, ...], hash_of: str) -> str:
    """values[hash % len] as a ClickHouse array element (the tuples are the bench's constants)."""
    items = ", ".join("NULL" if v is None else f"'{v}'" for v in values)
    return f"[{items}][{hash_of} % {len(values)} + 1]"


def visits_and_events(house: ClickHouseEvents, site_id: int, count: int, events: int, end: int) -> None:
    """Visits of 5 events each, from a profile, starting in the 60 days before `end`."""
    n_visits, span = events // 5, 60 * DAY_MS
    who = f"cityHash64(v, 1) % {count}"
    start = f"fromUnixTimestamp64Milli(toInt64({end} - cityHash64(v, 2) % {span}), 'UTC')"
    names, pages = SQL_BENCH.NAMES, SQL_BENCH.PAGES
    source, channel, utm = (
        _pick(tuple(s[k] for s in SQL_BENCH.SOURCES), "cityHash64(v, 3)") for k in range(3)
    )
    house.command(
        f"INSERT INTO {house.table('visits')} SELECT number + 1, {site_id}, {who}, {start}, "
        f"{start} + toIntervalSecond(600), NULL, NULL, 5, 5, 1, '/', '/', {source}, NULL, {channel}, "
        f"{utm}, NULL, NULL, NULL, NULL, 'desktop', 'Chrome', 'Linux', 'en', 'de', 1 "
        f"FROM (SELECT number, number AS v FROM numbers({n_visits}))"
    )
    name = _pick(names, "cityHash64(number, 4)")
    house.command(
        f"INSERT INTO {house.table('events')} SELECT id, {site_id}, v + 1, {who}, "
        f"{start} + toIntervalMinute(number % 5), nm, 'bench.test', "
        f"if(nm = 'pageview', {_pick(pages, 'cityHash64(number, 5)')}, '/app'), NULL, nm != 'pageview', "
        "NULL, NULL, NULL, if(nm = 'purchase', round(5 + (cityHash64(number, 6) % 14500) / 100, 2), NULL), "
        "if(nm = 'purchase', 'EUR', NULL), if(nm = 'purchase', concat('t', toString(id)), NULL), NULL, "
        f"concat('c', toString({who})), 1 "
        f"FROM (SELECT number, intDiv(number, 5) AS v, number + 1 AS id, {name} AS nm FROM numbers({events}))"
    )


def make_data(services: Services, count: int, events: int) -> int:
    house = services.events_db
    assert isinstance(house, ClickHouseEvents)
    with services.db.sync.begin() as conn:
        tenant = accounts.create_tenant(conn, "bench", timezone="UTC")
        site = accounts.add_site(conn, "bench", "bench.test", currency="EUR")
        for name, match, rules in SQL_BENCH.SEGMENTS:
            definition = SegmentDefinition.model_validate({"name": name, "match": match, "rules": rules})
            create_segment(conn, tenant.id, definition)
    end = local_midnight_ms(D + timedelta(days=1), UTC)  # type: ignore[arg-type]
    started = time.perf_counter()
    profiles(services, tenant.id, site.id, count, end)
    visits_and_events(house, site.id, count, events, end)
    print(f"data: {count:,} profiles, {events:,} identified events in {time.perf_counter() - started:.1f} s")
    return tenant.id


def older_days(house: ClickHouseEvents) -> None:
    """D-1 .. D-29 from D's snapshot (its run), a different 1/31 share left out each day."""
    m, days, today = house.table("segment_memberships"), house.table("segment_days"), ms.day_number(D)
    for back in range(1, 30):
        house.command(
            f"INSERT INTO {m} SELECT segment_id, day - {back}, profile_id, run FROM {m} "
            f"WHERE day = {today} AND profile_id % 31 >= {back}"
        )
    house.command(
        f"INSERT INTO {days} SELECT segment_id, day, count(), '2026-01-01T03:00:00Z', any(run) "
        f"FROM {m} WHERE day < {today} GROUP BY segment_id, day"
    )


def reused(services: Services) -> int | None:
    """The bench tenant of an earlier run's data set in --dir, if any."""
    with services.db.sync.connect() as conn:
        tenant = accounts.get_tenant(conn, "bench")
    return None if tenant is None else tenant.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--dir", type=Path, default=Path("bench/out/segments-ch"))
    parser.add_argument("--events-url", help="default: chDB in DIR/chdb")
    parser.add_argument("--reuse", action="store_true", help="keep the data set already in --dir")
    args = parser.parse_args()
    if not args.reuse:
        shutil.rmtree(args.dir, ignore_errors=True)
    url = args.events_url or f"chdb://{(args.dir / 'chdb').resolve()}"
    settings = Settings(  # type: ignore[call-arg]
        data_dir=args.dir, secret_key="bench", ingest_process=False, events_url=url,
        rate_limit="100000/minute", _env_file=None,
    )  # fmt: skip
    services = Services.build(settings)
    house = services.events_db
    assert isinstance(house, ClickHouseEvents)
    found = reused(services) if args.reuse else None
    tenant_id = found if found is not None else make_data(services, args.profiles, args.events)
    started, cpu = time.perf_counter(), cpu_s()
    done = asyncio.run(compute_segments(services, tenant_id, D))
    print(f"compute 20 segments for {D}: {time.perf_counter() - started:.1f} s wall, "
          f"{cpu_s() - cpu:.1f} s CPU (target < 30 s)")  # fmt: skip
    for c in done:
        print(f"  {c.name:<24} {c.member_count:>7,}")
    if found is None:
        started = time.perf_counter()
        older_days(house)
        print(f"29 older days derived in {time.perf_counter() - started:.1f} s")
    rows = house.rows(f"SELECT count() FROM {house.table('segment_memberships')}")[0][0]
    print(f"segment_memberships rows: {rows:,}")
    asyncio.run(SQL_BENCH.time_reports(services, tenant_id, D))
    asyncio.run(SQL_BENCH.time_endpoints(services))


if __name__ == "__main__":
    main()
