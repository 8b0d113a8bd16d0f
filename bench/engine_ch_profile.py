"""Per-statement profile of the engine on ClickHouse (chDB): for each cell, the statements the
store sends, with wall and process CPU time and what chDB read (its system.events SelectedRows and
SelectedMarks, before and after each statement: independent of the machine's load). chDB has no
query_log, so this is how a report's cost is split.

    python bench/engine_ch_profile.py bench/out/engine-10m-... overview,top_pages --filters=-,page==/pricing
    --repeat N (best CPU of N runs), --sql CHARS (print each statement's first CHARS characters),
    --check (compare each answer with the engine on the SQLite file), --raw (no kept rollups:
    ClickHouse's raw rows for every cell; else rollup-answered cells read the kept rollups of
    bench/engine_ch.py's own file, brought current first; filtered cells read their kept
    subsets, kept by a first read before the timed runs).

Never run it on a data directory a bench/engine.py is using (one chDB engine per directory)."""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analytics_mcp import engine
from analytics_mcp.engine.store.choice import source_for
from analytics_mcp.engine.store.clickhouse_subsets import ClickHouseSubsetRollups
from analytics_mcp.rollups.clickhouse_subsets import idle
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from engine_cases import CASES, FILTERS
from engine_ch import ch_settings, kept_database
from engine_data import MAIN, TENANT, load_dir

COUNTERS = "SELECT event, value FROM system.events WHERE event IN ('SelectedRows', 'SelectedMarks')"
Statement = tuple[float, float, int, int, str]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Recorder:
    """Wraps ClickHouseEvents.rows: every statement with its time and chDB's read counters."""

    def __init__(self) -> None:
        self.seen: list[Statement] = []
        self.original = ClickHouseEvents.rows

    def install(self) -> None:
        recorder, original = self, self.original

        def rows(
            events: ClickHouseEvents,
            sql: str,
            parameters: Mapping[str, Any] | None = None,
            settings: Mapping[str, Any] | None = None,
        ) -> Sequence[Sequence[Any]]:
            before = dict(original(events, COUNTERS))
            started, cpu = time.perf_counter(), cpu_s()
            out = original(events, sql, parameters, settings)
            wall, used = time.perf_counter() - started, cpu_s() - cpu
            after = dict(original(events, COUNTERS))
            read = [int(after.get(k, 0)) - int(before.get(k, 0)) for k in ("SelectedRows", "SelectedMarks")]
            recorder.seen.append((wall, used, read[0], read[1], sql))
            return out

        ClickHouseEvents.rows = rows  # type: ignore[method-assign]


def chosen_filters(text: str) -> list[Any]:
    return [None if t == "-" else next(f for f in FILTERS if f.text == t) for t in text.split(",")]


async def best_run(recorder: Recorder, case: Any, db: Any, query: Any, repeat: int) -> Any:
    """(wall, cpu, statements, shaped answer) of the run with the least CPU."""
    best = None
    for _ in range(repeat):
        recorder.seen.clear()
        started, cpu = time.perf_counter(), cpu_s()
        answer = await case.run(db, query)
        wall, used = time.perf_counter() - started, cpu_s() - cpu
        if best is None or used < best[1]:
            best = (wall, used, list(recorder.seen), case.shape(answer))
    return best


def report(name: str, text: str, wall: float, used: float, seen: list[Statement], sql_chars: int) -> None:
    rows = sum(s[2] for s in seen)
    print(
        f"{name:10s} {text:30s} wall {wall * 1000:7.1f} ms  cpu {used * 1000:7.1f} ms  "
        f"statements {len(seen)}  rows read {rows:>11,}",
        flush=True,
    )
    for s_wall, s_cpu, s_rows, s_marks, sql in seen:
        shown = f"  {' '.join(sql.split())[:sql_chars]}" if sql_chars else ""
        print(f"    {s_wall * 1000:7.1f} {s_cpu * 1000:7.1f} {s_rows:>11,} rows {s_marks:>6} marks{shown}")


async def profile(args: argparse.Namespace) -> None:
    data = load_dir(Path(args.data_dir))
    sqlite = Services.build(data.settings, migrate=False)
    clickhouse = Services.build(ch_settings(data), migrate=False)
    events = clickhouse.events_db
    assert isinstance(events, ClickHouseEvents)
    # Kept rollups in their own file (bench/engine_ch.py), never in the reference analytics.db.
    events.rollups = None if args.raw else kept_database(data)
    recorder = Recorder()
    recorder.install()
    try:
        with sqlite.db.sync.connect() as conn:
            tenant = accounts.get_tenant(conn, TENANT)
        assert tenant is not None, "benchmark tenant missing"
        for name in args.functions.split(","):
            case = next(c for c in CASES if c.name == name)
            for flt in chosen_filters(args.filters):
                text = None if flt is None else flt.text
                query = await engine.query_for_tenant(
                    sqlite.db, tenant, period=args.period, site=MAIN, limit=10, filters=text
                )
                if isinstance(source_for(events, query), ClickHouseSubsetRollups):
                    for _ in range(2):  # raw: the first registers the subset, the second keeps it
                        await case.run(events, query)
                    idle()  # the runs below read it (docs/rollups.md "Kept subsets")
                wall, used, seen, shaped = await best_run(
                    recorder, case, clickhouse.events_db, query, args.repeat
                )
                report(name, text or "-", wall, used, seen, args.sql)
                if args.check:
                    want = case.shape(await case.run(sqlite.events_db, query))
                    print("    numbers", "equal SQLite's" if want == shaped else "DIFFER from SQLite's")
    finally:
        ClickHouseEvents.rows = recorder.original  # type: ignore[method-assign]
        await clickhouse.close()
        await sqlite.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir")
    parser.add_argument("functions", help="comma-separated: overview,top_pages,referrers,devices,timeseries")
    parser.add_argument("--filters", default="-," + ",".join(f.text for f in FILTERS), help="- for none")
    parser.add_argument("--period", default="30d")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sql", type=int, default=0)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--raw", action="store_true", help="raw rows only (no kept rollups)")
    asyncio.run(profile(parser.parse_args()))


if __name__ == "__main__":
    main()
