"""Timeseries by day, week and month over 12m (issue 17 item 2): how long each takes from the
rollups and from the raw tables, and that both stores give the same buckets.

    python bench/intervals.py [--db PATH] [--days 400] [--visitors 200] [--repeat 7]

Without --db (or when the file does not exist yet) a SQLite file is filled first with the demo
traffic generator through the real ingestion (site in Europe/Berlin) and kept for the next run.
Printed per interval and store: buckets, p50 wall ms and p50 CPU ms (time.process_time) of
engine.timeseries for period 12m; the run fails when rollups and raw tables disagree.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analytics_mcp import engine
from analytics_mcp.config import Settings
from analytics_mcp.demo import generate_events
from analytics_mcp.engine.store.choice import raw_tables
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts

DOMAIN = "intervals.test"
INTERVALS = ("day", "week", "month")


def build(db: Path, days: int, visitors: int) -> Services:
    settings = Settings(data_dir=db.parent, secret_key="bench", ingest_process=False, _env_file=None)
    fresh = not (db.parent / "analytics.db").exists()
    services = Services.build(settings)
    if fresh:
        with services.db.sync.begin() as conn:
            accounts.create_tenant(conn, "bench", timezone="Europe/Berlin")
            accounts.add_site(conn, "bench", DOMAIN)
        started = time.perf_counter()
        events = generate_events(DOMAIN, days=days, daily_visitors=visitors)
        summary = ingest_events(services.ingestor, events)
        print(f"ingested {summary.accepted:,} events in {time.perf_counter() - started:.0f} s")
    return services


async def timed(run: Callable[[], Awaitable[Any]], repeat: int) -> tuple[Any, float, float]:
    """(last answer, p50 wall ms, p50 CPU ms)."""
    walls, cpus, answer = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        answer = await run()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return answer, statistics.median(walls), statistics.median(cpus)


async def measure(services: Services, repeat: int) -> None:
    with services.db.sync.connect() as conn:
        tenant = accounts.get_tenant(conn, "bench")
    assert tenant is not None
    now = datetime.now(UTC)
    print(f"{'interval':8} {'store':7} {'buckets':>7} {'wall p50 ms':>12} {'CPU p50 ms':>11}")
    for interval in INTERVALS:
        query = await engine.query_for_tenant(services.db, tenant, period="12m", interval=interval, now=now)
        answers = {}
        for store in ("rollups", "raw"):

            async def run(query: engine.Query = query) -> engine.Timeseries:
                return await engine.timeseries(services.events_db, query)

            if store == "raw":
                with raw_tables():
                    answer, wall, cpu = await timed(run, repeat)
            else:
                answer, wall, cpu = await timed(run, repeat)
            answers[store] = answer
            print(f"{interval:8} {store:7} {len(answer.rows):>7} {wall:>12.1f} {cpu:>11.1f}")
        assert answers["rollups"] == answers["raw"], f"{interval}: rollups and raw tables differ"


def main() -> None:
    layout = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=layout)
    parser.add_argument("--db", type=Path, default=None, help="a folder for the SQLite file (kept)")
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--visitors", type=int, default=200, help="mean daily visitors")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    folder = args.db or Path(tempfile.mkdtemp(prefix="bench-intervals-"))
    services = build(folder / "analytics.db", args.days, args.visitors)
    asyncio.run(measure(services, args.repeat))


if __name__ == "__main__":
    main()
