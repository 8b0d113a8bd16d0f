"""The figures table of bench/engine.py, and the same figures as JSON."""

from __future__ import annotations

import os
from typing import Any

from engine_data import BenchData
from engine_run import Cell, Timing

TARGET_MS = {"1m": 20.0, "10m": 100.0}
RSS_TARGET_MB = 500.0


def target_met(size: str, cell: Cell) -> bool:
    """10M: p50 <= DuckDB's and < 100 ms; 1M: p50 < 20 ms (issue 3)."""
    p50 = cell.engine.p50_ms
    if size == "10m":
        return p50 < TARGET_MS[size] and cell.duck is not None and p50 <= cell.duck.p50_ms
    return p50 < TARGET_MS.get(size, 20.0)


def _ratio(cell: Cell) -> float | None:
    if cell.duck is None or not cell.duck.samples:
        return None
    return cell.engine.p50_ms / cell.duck.p50_ms


def print_report(
    size: str,
    data: BenchData,
    cells: list[Cell],
    sites: Timing,
    rss: tuple[float, str],
    load_s: float,
    integrity: list[tuple[str, int]],
) -> None:
    meta = data.meta
    print()
    print(
        f"## engine benchmark, {size}: {meta['events']:,} events ({data.db_path}, generated "
        f"{meta.get('build_s', '?')} s build), DuckDB copy loaded in {load_s:.0f} s"
    )
    with_pg = any(cell.pg for cell in cells)
    if with_pg:
        print("eng = the engine on SQLite, pg = the same engine calls on PostgreSQL (pg cpu: this process)")
    pg_head = f" {'pg p50':>9} {'pg p95':>9} {'pg/eng':>7} {'pg num':<8} {'pg cpu':>9}" if with_pg else ""
    header = (
        f"{'tool':<19} {'function':<18} {'scope':<5} {'period':>6} {'eng p50':>9} {'eng p95':>9} "
        f"{'duck p50':>9} {'duck p95':>9} {'ratio':>7} {'n':>3} {'target':>6}  {'numbers':<8} "
        f"{'eng cpu':>9} {'duck cpu':>9}{pg_head}"
    )
    print(header)
    print("-" * len(header))
    met = "yes" if sites.p50_ms < TARGET_MS.get(size, 20.0) else "NO"
    print(
        f"{'list-sites':<19} {'tenant_sites':<18} {'-':<5} {'-':>6} {sites.p50_ms:9.2f} {sites.p95_ms:9.2f} "
        f"{'-':>9} {'-':>9} {'-':>7} {len(sites.samples):>3} {met:>6}  -"
    )
    for cell in cells:
        ratio = _ratio(cell)
        duck50 = f"{cell.duck.p50_ms:9.2f}" if cell.duck else f"{'-':>9}"
        duck95 = f"{cell.duck.p95_ms:9.2f}" if cell.duck else f"{'-':>9}"
        numbers = "-" if cell.duck is None else ("ok" if not cell.problems else "MISMATCH")
        print(
            f"{cell.case.tool:<19} {cell.case.name:<18} {cell.scope:<5} {cell.period:>6} "
            f"{cell.engine.p50_ms:9.2f} {cell.engine.p95_ms:9.2f} {duck50} {duck95} "
            f"{'-' if ratio is None else f'{ratio:.2f}':>7} {len(cell.engine.samples):>3} "
            f"{'yes' if target_met(size, cell) else 'NO':>6}  {numbers:<8} {cell.engine.cpu_p50_ms:9.2f} "
            f"{cell.duck.cpu_p50_ms if cell.duck else float('nan'):9.2f}{pg_columns(cell) if with_pg else ''}"
        )
    count = sum(target_met(size, cell) for cell in cells)
    rule = f"{'<= duckdb and ' if size == '10m' else ''}< {TARGET_MS.get(size)} ms"
    print("-" * len(header))
    print(f"target met: {count}/{len(cells)} cells (engine p50 {rule})")
    peak, now = rss
    print(f"peak RSS of the engine phase: {peak:.0f} MB (target < {RSS_TARGET_MB:.0f} MB); open: {now}")
    cores, load = os.cpu_count(), os.getloadavg()
    print(
        f"machine: {cores} cores, load average now {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)"
    )
    _print_slowest(cells)
    _print_mismatches([(cell, cell.problems) for cell in cells], "engine and DuckDB")
    if with_pg:
        _print_pg(cells)
    _print_integrity(integrity)


def pg_columns(cell: Cell) -> str:
    if cell.pg is None:
        return f" {'-':>9} {'-':>9} {'-':>7} {'-':<8} {'-':>9}"
    ratio = cell.pg.p50_ms / cell.engine.p50_ms
    numbers = "ok" if not cell.pg_problems else "MISMATCH"
    return f" {cell.pg.p50_ms:9.2f} {cell.pg.p95_ms:9.2f} {ratio:7.2f} {numbers:<8} {cell.pg.cpu_p50_ms:9.2f}"


def _print_pg(cells: list[Cell]) -> None:
    timed = [(cell, cell.pg) for cell in cells if cell.pg is not None]
    slower = sum(1 for cell, pg in timed if pg.p50_ms > cell.engine.p50_ms)
    print(f"PostgreSQL slower than SQLite (p50) in {slower} of {len(timed)} cells")
    worst = sorted(timed, key=lambda pair: pair[1].p50_ms, reverse=True)[:8]
    print("slowest PostgreSQL cells: " + ", ".join(f"{_name(c)} {pg.p50_ms:.0f} ms" for c, pg in worst))
    ranked = sorted(timed, key=lambda pair: pair[1].p50_ms / pair[0].engine.p50_ms, reverse=True)[:8]
    print(
        "highest postgresql/sqlite ratios: "
        + ", ".join(f"{_name(c)} {pg.p50_ms / c.engine.p50_ms:.1f}x" for c, pg in ranked)
    )
    _print_mismatches([(cell, cell.pg_problems) for cell, _ in timed], "PostgreSQL and SQLite")


def _name(cell: Cell) -> str:
    return f"{cell.case.name}/{cell.scope}/{cell.period}"


def _print_integrity(integrity: list[tuple[str, int]]) -> None:
    bad = sum(1 for _, count in integrity if count)
    print(f"stored layout vs raw events ({len(integrity) - bad}/{len(integrity)} checks clean):")
    for label, count in integrity:
        print(f"  {'ok ' if not count else '!!!'} {count:>8,}  {label}")


def _print_slowest(cells: list[Cell]) -> None:
    worst = sorted(cells, key=lambda c: c.engine.p50_ms, reverse=True)[:8]
    print(
        "slowest engine cells: "
        + ", ".join(f"{c.case.name}/{c.scope}/{c.period} {c.engine.p50_ms:.0f} ms" for c in worst)
    )
    ranked = sorted(
        (c for c in cells if _ratio(c) is not None), key=lambda c: _ratio(c) or 0.0, reverse=True
    )[:8]
    print(
        "highest engine/duckdb ratios: "
        + ", ".join(f"{c.case.name}/{c.scope}/{c.period} {_ratio(c):.1f}x" for c in ranked)
    )


def _print_mismatches(found: list[tuple[Cell, list[str]]], pair: str) -> None:
    """The cells whose answers differ between `pair` (e.g. "engine and DuckDB"), with their problems."""
    bad = [(cell, problems) for cell, problems in found if problems]
    if not bad:
        print(f"numbers: {pair} agree on every cell")
        return
    print(f"!!! NUMBERS MISMATCH in {len(bad)} cells: {pair} disagree !!!")
    for cell, problems in bad:
        print(f"  {cell.case.name} / {cell.scope} / {cell.period}:")
        for problem in problems[:6]:
            print(f"    {problem[:400]}")
        if len(problems) > 6:
            print(f"    ... {len(problems) - 6} more")


def results_json(
    size: str,
    data: BenchData,
    cells: list[Cell],
    sites: Timing,
    rss_mb: float,
    integrity: list[tuple[str, int]],
) -> dict[str, Any]:
    return {
        "integrity": [{"check": label, "disagreeing": count} for label, count in integrity],
        "size": size,
        "events": data.meta["events"],
        "directory": str(data.directory),
        "peak_rss_mb": round(rss_mb, 1),
        "list_sites": {"p50_ms": sites.p50_ms, "p95_ms": sites.p95_ms},
        "cells": [
            {
                "tool": cell.case.tool,
                "function": cell.case.name,
                "scope": cell.scope,
                "period": cell.period,
                "engine_p50_ms": round(cell.engine.p50_ms, 3),
                "engine_p95_ms": round(cell.engine.p95_ms, 3),
                "duckdb_p50_ms": round(cell.duck.p50_ms, 3) if cell.duck else None,
                "duckdb_p95_ms": round(cell.duck.p95_ms, 3) if cell.duck else None,
                "engine_cpu_p50_ms": round(cell.engine.cpu_p50_ms, 3),
                "duckdb_cpu_p50_ms": round(cell.duck.cpu_p50_ms, 3) if cell.duck else None,
                "runs": len(cell.engine.samples),
                "postgresql_p50_ms": round(cell.pg.p50_ms, 3) if cell.pg else None,
                "postgresql_p95_ms": round(cell.pg.p95_ms, 3) if cell.pg else None,
                "postgresql_cpu_p50_ms": round(cell.pg.cpu_p50_ms, 3) if cell.pg else None,
                "postgresql_problems": cell.pg_problems,
                "target_met": target_met(size, cell),
                "problems": cell.problems,
            }
            for cell in cells
        ],
    }
