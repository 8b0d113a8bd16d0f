"""Engine benchmark: every engine function behind the 12 MCP tools on 1M / 10M realistic events,
with DuckDB on the same rows as the reference, in the same run.

    python bench/engine.py [--events 1m|10m|both] [--out bench/out] [--repeat 15]
                           [--periods 7d,30d,90d] [--scopes all,site] [--budget 20]
                           [--functions overview,funnel] [--data-dir DIR] [--rebuild] [--explain 3]
                           [--raw] [--db postgresql://...|postgresql-local] [--store clickhouse]
                           [--no-filtered]

Data: 90 days ending now of demo traffic (one main site, a small second site with ~5 % of the
events, tenant time zone Europe/Berlin, goals /signup exact, /blog/ prefix, event purchase),
stored through the real ingestion pipeline, cached under --out by size and generator version
(bench/engine_data.py; a build runs in a child process so it does not count in this one's memory).

Per function x scope (all the tenant's sites / site=bench.test) x period: p50 and p95 over --repeat
runs after a warm-up (fewer once a cell has spent --budget seconds: at least 3, or 1 when the
warm-up alone took longer), first on the engine (in-process, `asyncio.run`, called as the tools
call it), then on DuckDB (bench/engine_ref.py). Wall time is what the targets use; CPU time of the
process is shown too, as it is less disturbed by other load on the machine. Each cell's numbers are
compared between the two; a difference is printed as MISMATCH, and bench/engine_integrity.py checks
the stored visit counters, time-on-page inputs and goal completions against the raw events. Peak
RSS is read after the engine phase, before DuckDB is loaded into the process.

--db: the same cells on a PostgreSQL database holding the same rows (copied from the SQLite data set
with `analytics-mcp db copy`, bench/engine_pg.py), each answer compared with SQLite's; `--db
postgresql-local` runs a throwaway cluster on loopback for the run (bench/pg_local.py). The table
shows both side by side with DuckDB; `--explain N` then also prints PostgreSQL's EXPLAIN ANALYZE of
the N cells where it is slowest relative to SQLite.

Filtered cells (issue 14, bench/engine_cases.py FILTERS): overview, top pages, referrers, devices
and timeseries with source==google, page==/pricing, device==mobile and source==google;device==mobile,
30d and 90d, each answered by DuckDB with the same filter (engine_ref.Ask.where); --no-filtered
leaves them out.

--store clickhouse: the same cells on an embedded ClickHouse (chDB) holding the same rows, copied
with `analytics-mcp events copy` (bench/engine_ch.py), each answer compared with SQLite's; the table
shows SQLite, ClickHouse and DuckDB side by side, with ClickHouse's ratio to DuckDB.

Unfiltered day-bucket reports read the rollup tables (analytics_mcp.engine.store.source_for); --raw
times the same calls on the raw tables only (`raw_tables()`), for a before/after comparison.

Targets (issue 3): at 10M every p50 <= DuckDB's and < 100 ms; at 1M < 20 ms; server RSS < 500 MB.
Issue 14: on SQLite every filtered 30d cell under 1.5 s at 10M; on ClickHouse every cell at or under
DuckDB's p50.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine_ch  # noqa: E402
import engine_data  # noqa: E402
import engine_pg  # noqa: E402
import engine_run  # noqa: E402
import pg_local  # noqa: E402
from analytics_mcp.engine.store import raw_tables  # noqa: E402
from engine_explain import explain_slowest  # noqa: E402
from engine_report import print_report, results_json  # noqa: E402

DEFAULT_OUT = HERE / "out"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", choices=("1m", "10m", "both"), default="1m")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--periods", default="7d,30d,90d")
    parser.add_argument("--scopes", default="all,site", help="all: the tenant's sites; site: the main domain")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per cell before stopping early")
    parser.add_argument("--functions", default="", help="comma-separated engine function names (default all)")
    parser.add_argument("--data-dir", type=Path, default=None, help="use this benchmark directory as is")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data even if cached")
    parser.add_argument("--max-age-hours", type=float, default=24.0)
    parser.add_argument("--explain", type=int, default=3, help="query plans of the N slowest engine cells")
    parser.add_argument("--raw", action="store_true", help="read the raw tables only, never the rollups")
    parser.add_argument(
        "--db", default=None, help=f"also run on PostgreSQL: a postgresql:// URL, or {pg_local.LOCAL}"
    )
    parser.add_argument("--store", choices=("clickhouse",), default=None, help="also run on chDB")
    parser.add_argument("--no-filtered", action="store_true", help="leave out the filtered cells")
    parser.add_argument(
        "--ch-raw", action="store_true", help="ClickHouse: raw rows for every cell (no kept rollups)"
    )
    return parser.parse_args(argv)


def ensure_data(args: argparse.Namespace) -> engine_data.BenchData:
    data = _find_data(args)
    engine_data.ensure_indexes(data)
    return data


def _find_data(args: argparse.Namespace) -> engine_data.BenchData:
    if args.data_dir is not None:
        return engine_data.load_dir(args.data_dir)
    cached = None if args.rebuild else engine_data.cached(args.out, args.events, args.max_age_hours)
    if cached is not None:
        return cached
    command = [sys.executable, str(HERE / "engine_data.py"), str(args.out), args.events]
    subprocess.run(command, check=True)
    found = engine_data.cached(args.out, args.events, float("inf"))
    assert found is not None, "the build did not leave a database"
    return found


def _without_events(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip or arg.startswith("--events="):
            skip = False
        elif arg == "--events":
            skip = True
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.events == "both":  # one process per size: each gets its own peak RSS
        rest = _without_events(sys.argv[1:] if argv is None else argv)
        runs = [subprocess.run([sys.executable, __file__, *rest, "--events", size]) for size in ("1m", "10m")]
        return max(run.returncode for run in runs)
    data = ensure_data(args)
    with pg_local.database_url(args.db, "bench") if args.db else nullcontext(None) as pg_url:
        return _run(args, data, pg_url)


def _run(args: argparse.Namespace, data: engine_data.BenchData, pg_url: str | None) -> int:
    opts = engine_run.Options(
        periods=tuple(p for p in args.periods.split(",") if p),
        scopes=tuple(s for s in args.scopes.split(",") if s),
        repeat=args.repeat,
        budget_s=args.budget,
        functions=tuple(f for f in args.functions.split(",") if f),
        filters=() if args.no_filtered else engine_run.FILTERS,
    )
    engine_run.log(f"engine phase on {data.db_path} ({data.meta['events']:,} events)")
    started = time.perf_counter()
    with raw_tables() if args.raw else nullcontext():
        cells, sites_timing, rss_now = asyncio.run(engine_run.engine_phase(data, opts))
    rss_mb = engine_run.peak_rss_mb()
    engine_s = time.perf_counter() - started
    engine_run.log(f"engine phase: {engine_s:.0f} s, peak RSS {rss_mb:.0f} MB (open: {rss_now})")
    pg = None
    if pg_url is not None:
        pg = engine_pg.pg_settings(data, pg_url)
        engine_pg.ensure_copy(data, pg_url, fresh=args.db == pg_local.LOCAL)
        engine_run.log(f"engine phase on PostgreSQL ({pg_url})")
        with raw_tables() if args.raw else nullcontext():
            asyncio.run(engine_pg.pg_phase(pg, cells, opts))
    if args.store == "clickhouse":
        engine_ch.ensure_copy(data)
        engine_run.log("engine phase on ClickHouse (chDB)")
        asyncio.run(engine_ch.ch_phase(data, cells, opts, kept=not args.ch_raw))
    engine_run.log("loading DuckDB")
    load_s, integrity = engine_run.duck_phase(data, cells, opts)
    size = args.events if args.data_dir is None else ("10m" if data.meta["events"] > 5_000_000 else "1m")
    print_report(size, data, cells, sites_timing, (rss_mb, rss_now), load_s, integrity)
    out = args.out / f"engine-results-{data.directory.name}{'-raw' if args.raw else ''}.json"
    out.write_text(json.dumps(results_json(size, data, cells, sites_timing, rss_mb, integrity), indent=1))
    engine_run.log(f"results written to {out}")
    if args.explain:
        with raw_tables() if args.raw else nullcontext():
            asyncio.run(explain_slowest(data, cells, args.explain))
            if pg is not None:
                asyncio.run(engine_pg.explain_pg(pg, cells, args.explain))
    wrong = any(cell.problems or any(run.problems for run in cell.stores.values()) for cell in cells)
    return 1 if wrong or any(n for _, n in integrity) else 0


if __name__ == "__main__":
    sys.exit(main())
