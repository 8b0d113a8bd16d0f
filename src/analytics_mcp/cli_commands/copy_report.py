"""`db copy`'s verification: rows per table in the source and in the target, as a table on
stderr for people and in the JSON line on stdout for scripts."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from analytics_mcp.storage.copy_state import count_rows
from analytics_mcp.storage.copy_tables import Route


@dataclass(frozen=True)
class TableCount:
    table: str
    database: str  # the table's role: accounts | events
    source_rows: int
    target_rows: int

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows


def count_tables(routes: Sequence[Route]) -> list[TableCount]:
    counts = []
    for route in routes:
        with route.source.reader.connect() as src, route.target.sync.connect() as dst:
            counts.append(
                TableCount(
                    route.table.name, route.role, count_rows(src, route.table), count_rows(dst, route.table)
                )
            )
    return counts


def print_counts(counts: Sequence[TableCount], stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    width = max(len(count.table) for count in counts)
    out.write(f"{'table':<{width}}  {'database':<8}  {'source':>12}  {'target':>12}\n")
    for count in counts:
        flag = "" if count.matches else "  MISMATCH"
        out.write(
            f"{count.table:<{width}}  {count.database:<8}  {count.source_rows:>12,}  "
            f"{count.target_rows:>12,}{flag}\n"
        )
    wrong = [count.table for count in counts if not count.matches]
    verdict = (
        f"{len(wrong)} table(s) differ: {', '.join(wrong)}" if wrong else f"all {len(counts)} tables match"
    )
    out.write(verdict + "\n")
    out.flush()


def counts_json(counts: Sequence[TableCount]) -> list[dict[str, object]]:
    return [
        {
            "table": count.table,
            "database": count.database,
            "source_rows": count.source_rows,
            "target_rows": count.target_rows,
        }
        for count in counts
    ]
