"""MCP latency benchmark: tools/call over Streamable HTTP against a real server on loopback, next to
the engine functions' own time for the same question, on a database of about a million events.

    python bench/mcp.py [--db PATH] [--events 1000000] [--calls 30] [--period 30d]
    python bench/mcp.py --db demo.db --tenant demo --tokens-only   # an `analytics-mcp demo` file

Without --db (or when the file does not exist yet) the database is generated first with the demo
traffic generator and the real ingestion (a few minutes for 1M events) and kept for the next run.
The server is `analytics-mcp serve` in its own process; the client is the official SDK client
(2026-07-28 era). Per tool, HTTP calls and the same engine work run alternately (in this
process), so both see the same machine load; printed: p50/p95 of each and the p50 difference
(target: at most 10 ms). `list-sites` does almost no engine work: its HTTP time is the fixed
cost of a call (HTTP, token check, tenant check, MCP framing, JSON).

Then the token sizes of every tool's answer at 7d/30d/90d and of the tools/list answer
(bench/mcp_tokens.py; characters / 4). The rate limit of the server is lifted for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

# This file is bench/mcp.py: run as a script, its folder comes first on sys.path and would shadow
# the `mcp` SDK package. Drop that entry before importing anything that imports the SDK.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' race-free server start (servers.py)

import httpx2  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from analytics_mcp import engine  # noqa: E402
from analytics_mcp.config import Settings  # noqa: E402
from analytics_mcp.demo import generate_events  # noqa: E402
from analytics_mcp.ingest.bulk_import import ingest_events  # noqa: E402
from analytics_mcp.services import Services  # noqa: E402
from analytics_mcp.storage import accounts  # noqa: E402
from analytics_mcp.tools import TOOL_NAMES  # noqa: E402
from servers import start_listening  # noqa: E402

sys.path.append(str(HERE))  # after the SDK import: mcp_tokens, beside this file
from mcp_tokens import answer_sizes, token_report, tools_list_size  # noqa: E402

ROOT = HERE.parent
DEFAULT_DB = ROOT / "bench" / "out" / "mcp-1m.db"
TENANT, DOMAIN, DAYS = "bench", "bench.test", 90
Work = Callable[[Any, engine.Query], Awaitable[Any]]


def settings_for(db: Path) -> Settings:
    return Settings(db_url=f"sqlite:///{db}", data_dir=db.parent, _env_file=None)  # type: ignore[call-arg]


def daily_visitors_for(events: int) -> int:
    """The generator's daily_visitors that yields about `events` events over DAYS days."""
    sample = sum(1 for _ in generate_events(DOMAIN, days=DAYS, daily_visitors=100))
    return max(1, round(100 * events / sample))


def build_db(db: Path, events: int) -> None:
    services = Services.build(settings_for(db))
    with services.db.sync.begin() as conn:
        accounts.create_tenant(conn, TENANT, plan="business")
        accounts.add_site(conn, TENANT, DOMAIN)
        accounts.add_goal(conn, DOMAIN, "Signup page", path="/signup")
        accounts.add_goal(conn, DOMAIN, "Signup", event="Signup")
    visitors = daily_visitors_for(events)
    print(
        f"generating ~{events:,} events ({visitors} daily visitors, {DAYS} days) into {db}", file=sys.stderr
    )
    started = time.perf_counter()
    summary = ingest_events(services.ingestor, generate_events(DOMAIN, days=DAYS, daily_visitors=visitors))
    print(f"stored {summary.accepted:,} events in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    services.db.sync.dispose()


def new_token(db: Path, tenant: str) -> str:
    services = Services.build(settings_for(db))
    with services.db.sync.begin() as conn:
        _token, plaintext = accounts.create_token(conn, tenant, name=f"bench-{int(time.time())}")
    services.db.sync.dispose()
    return plaintext


def start_server(db: Path, data_dir: str) -> tuple[subprocess.Popen[bytes], int]:
    env = {
        **os.environ,
        "ANALYTICS_DB_URL": f"sqlite:///{db}",
        "ANALYTICS_DATA_DIR": data_dir,
        "ANALYTICS_RATE_LIMIT": "1000000/minute",  # the bench calls far more than 60 a minute
    }
    serve = [sys.executable, "-m", "analytics_mcp.cli", "serve", "--host", "127.0.0.1", "--port"]
    return start_listening(
        lambda port: [*serve, str(port)],
        env=env,
        output=Path(data_dir) / "server.log",
    )


async def goals_work(db: Any, query: engine.Query) -> None:
    report = await engine.goals_report(db, query)
    recent = query.model_copy(update={"limit": 5})
    for goal in report.goals[: query.limit]:
        if goal.completions:
            await engine.goal_completions(db, recent, goal.id)


def all_of(*fns: Work) -> Work:
    async def run(db: Any, query: engine.Query) -> None:
        for fn in fns:
            await fn(db, query)

    return run


# Seed 002's twelve tools and the engine work each one does for its answer.
ENGINE_WORK: dict[str, Work] = {
    "list-sites": lambda db, query: engine.tenant_sites(db, query.sites[0].tenant_id),
    "analytics-overview": engine.overview,
    "top-pages": engine.top_pages,
    "traffic-sources": all_of(engine.channels, engine.referrers),
    "device-and-browser": all_of(engine.devices, engine.browsers, engine.operating_systems),
    "languages": engine.languages,
    "campaigns": engine.campaigns,
    "goals": goals_work,
    "ecommerce-overview": engine.ecommerce_overview,
    "ecommerce-products": all_of(engine.products, engine.funnel, engine.revenue_by_source),
    "daily-breakdown": engine.timeseries,
    "hourly-breakdown": engine.hour_of_day,
}


Timings = dict[str, list[float]]


async def measure(
    client: Client, services: Services, tenant: accounts.Tenant, period: str, calls: int
) -> tuple[Timings, Timings]:
    """Per tool, alternate one HTTP tools/call and the same engine work in this process, so both
    see the same machine load; the first round of each warms caches and is not counted."""

    async def engine_once(name: str) -> None:
        # The parse is part of the engine's own time: every door does it.
        query = await engine.query_for_tenant(services.db, tenant, period=period)
        await ENGINE_WORK[name](services.db, query)

    http_times: Timings = {name: [] for name in ENGINE_WORK}
    engine_times: Timings = {name: [] for name in ENGINE_WORK}
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ENGINE_WORK:
        args = {"tenant": tenant.slug} | (
            {"period": period} if "period" in tools[name].input_schema["properties"] else {}
        )
        for attempt in range(calls + 1):
            started = time.perf_counter()
            result = await client.call_tool(name, args)
            middle = time.perf_counter()
            await engine_once(name)
            ended = time.perf_counter()
            if result.is_error:
                raise SystemExit(f"{name}: {result.content}")
            if attempt:
                http_times[name].append((middle - started) * 1000)
                engine_times[name].append((ended - middle) * 1000)
    return http_times, engine_times


async def run(url: str, token: str, db: Path, options: argparse.Namespace) -> None:
    """The latency table (unless --tokens-only), then the token sizes."""
    services = Services.build(settings_for(db), migrate=False)
    with services.db.sync.connect() as conn:
        tenant = accounts.get_tenant(conn, options.tenant)
    assert tenant is not None, f"no tenant {options.tenant!r} in {db}"
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120)
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        if not options.tokens_only:
            timings = await measure(client, services, tenant, options.period, options.calls)
            print(f"period {options.period}, {options.calls} calls per tool")
            report(*timings)
        print()
        token_report(await answer_sizes(client, tenant.slug), await tools_list_size(client))
    await services.db.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(http: dict[str, list[float]], local: dict[str, list[float]]) -> None:
    print(
        f"{'tool':<20} {'http p50':>9} {'http p95':>9} {'engine p50':>11} {'engine p95':>11} {'p50 diff':>9}"
    )
    diffs = []
    for name in ENGINE_WORK:
        h50, h95 = percentile(http[name], 0.5), percentile(http[name], 0.95)
        e50, e95 = percentile(local[name], 0.5), percentile(local[name], 0.95)
        diffs.append(h50 - e50)
        print(f"{name:<20} {h50:9.1f} {h95:9.1f} {e50:11.1f} {e95:11.1f} {h50 - e50:+9.1f}")
    print(f"p50 difference: median {statistics.median(diffs):+.1f} ms, worst {max(diffs):+.1f} ms")
    others = [name for name in TOOL_NAMES if name not in ENGINE_WORK]
    if others:
        print(f"not measured (this benchmark generates no data for them): {', '.join(others)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite file (generated if missing)")
    parser.add_argument("--tenant", default=TENANT, help="tenant slug to ask about (demo files: demo)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to generate for a new file")
    parser.add_argument("--calls", type=int, default=30, help="timed calls per tool (after one warm-up)")
    parser.add_argument("--period", default="30d", choices=["24h", "7d", "30d", "90d", "12m"])
    parser.add_argument("--tokens-only", action="store_true", help="only the token sizes, no latency")
    options = parser.parse_args()
    db = options.db.resolve()
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        build_db(db, options.events)
    token = new_token(db, options.tenant)
    with tempfile.TemporaryDirectory() as data_dir:
        server, port = start_server(db, data_dir)
        try:
            print(f"database: {db} ({db.stat().st_size / 2**20:.0f} MiB), tenant {options.tenant}")
            asyncio.run(run(f"http://127.0.0.1:{port}/mcp/analytics", token, db, options))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
