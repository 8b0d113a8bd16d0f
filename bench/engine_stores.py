"""The engine cells again on another events store (bench/engine.py --db, --store clickhouse)."""

from __future__ import annotations

from analytics_mcp.storage.db import Database
from engine_run import Cell, Options, StoreRun, differences, log, timed_async


async def store_phase(name: str, db: Database, cells: list[Cell], opts: Options) -> None:
    """Every cell again on another events store (`name`: postgresql, clickhouse), timed the same
    way, its answer compared with the SQLite one."""
    for cell in cells:
        case, query = cell.case, cell.query
        run = case.run if case.prepare is None else await case.prepare(db, query)
        result, timing = await timed_async(lambda: run(db, query), opts)  # noqa: B023
        answer = case.shape(result)
        problems = differences(cell.engine_answer, answer, names=("sqlite", name))
        cell.stores[name] = StoreRun(timing, answer, problems)
        flag = "ok" if not problems else f"MISMATCH ({len(problems)})"
        log(f"  {name} {cell.label}: p50 {timing.p50_ms:9.1f} ms (n={len(timing.samples)}) {flag}")
