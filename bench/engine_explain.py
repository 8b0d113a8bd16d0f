"""`--explain N`: the SQLite query plans of the statements the N slowest engine cells run.

Statements are captured from one more run of the cell's engine call (a SQLAlchemy cursor-execute
listener), then each is explained on a plain sqlite3 connection with the same parameters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from engine_data import BenchData
from engine_run import Cell


async def captured_statements(settings: Settings, cell: Cell) -> list[tuple[str, Any]]:
    services = Services.build(settings, migrate=False)
    db = services.events_db
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(db.aio.sync_engine, "before_cursor_execute", record)
    try:
        case = cell.case
        run = case.run if case.prepare is None else await case.prepare(db, cell.query)
        seen.clear()
        await run(db, cell.query)
    finally:
        event.remove(db.aio.sync_engine, "before_cursor_execute", record)
        await services.close()
    return seen


def plan(data: BenchData, statement: str, parameters: Sequence[Any] | dict[str, Any]) -> list[str]:
    con = sqlite3.connect(f"file:{data.db_path}?mode=ro", uri=True)
    try:
        rows = con.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    finally:
        con.close()
    depth: dict[int, int] = {0: 0}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, 0) + 1
        lines.append("  " * depth[node] + str(detail))
    return lines


async def explain_slowest(data: BenchData, cells: list[Cell], count: int) -> None:
    slowest = sorted(cells, key=lambda c: c.engine.p50_ms, reverse=True)[:count]
    for cell in slowest:
        where = f"{cell.case.name} / {cell.scope} / {cell.period}"
        print(f"\n### EXPLAIN QUERY PLAN: {where} ({cell.engine.p50_ms:.0f} ms)")
        statements = await captured_statements(data.settings, cell)
        for index, (statement, parameters) in enumerate(statements, start=1):
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            print(f"-- statement {index}: {' '.join(statement.split())[:300]}")
            for line in plan(data, statement, parameters):
                print(line)
