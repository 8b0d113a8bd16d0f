"""The figures table of bench/engine.py, and the same figures as JSON."""

from __future__ import annotations

import os
from typing import Any

from engine_data import BenchData
from engine_run import Cell, Timing

TARGET_MS = {"1m": 20.0, "10m": 100.0}
FILTERED_TARGET_MS = 1500.0  # issue 14: every filtered 30d cell on SQLite at 10M
RSS_TARGET_MB = 500.0
STORE_NAMES = {"postgresql": "pg", "clickhouse": "ch"}


def target_met(size: str, cell: Cell) -> bool | None:
    """Unfiltered: 10M p50 <= DuckDB's and < 100 ms, 1M p50 < 20 ms (issue 3). Filtered: 30d p50
    under 1.5 s (issue 14); None where no target applies (filtered 90d)."""
    p50 = cell.engine.p50_ms
    if cell.flt is not None:
        return p50 < FILTERED_TARGET_MS if cell.period == "30d" else None
    if size == "10m":
        return p50 < TARGET_MS[size] and cell.duck is not None and p50 <= cell.duck.p50_ms
    return p50 < TARGET_MS.get(size, 20.0)


def _ratio(cell: Cell, timing: Timing | None = None) -> float | None:
    if cell.duck is None or not cell.duck.samples:
        return None
    return (timing or cell.engine).p50_ms / cell.duck.p50_ms


def _mark(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


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
    stores = sorted({name for cell in cells for name in cell.stores})
    print(
        "eng = the engine on SQLite; "
        + "; ".join(f"{STORE_NAMES[n]} = the same calls on {n}" for n in stores)
    )
    store_head = "".join(
        f" {STORE_NAMES[n] + ' p50':>9} {STORE_NAMES[n] + '/duck':>8} {STORE_NAMES[n] + '/eng':>7} "
        f"{STORE_NAMES[n] + ' num':<8} {STORE_NAMES[n] + ' cpu':>9}"
        for n in stores
    )
    header = (
        f"{'tool':<19} {'function':<18} {'scope':<5} {'period':>6} {'filter':<29} {'eng p50':>9} "
        f"{'eng p95':>9} {'duck p50':>9} {'eng/duck':>8} {'n':>3} {'target':>6}  {'numbers':<8} "
        f"{'eng cpu':>9} {'duck cpu':>9}{store_head}"
    )
    print(header)
    print("-" * len(header))
    met = "yes" if sites.p50_ms < TARGET_MS.get(size, 20.0) else "NO"
    print(
        f"{'list-sites':<19} {'tenant_sites':<18} {'-':<5} {'-':>6} {'-':<29} {sites.p50_ms:9.2f} "
        f"{sites.p95_ms:9.2f} {'-':>9} {'-':>8} {len(sites.samples):>3} {met:>6}  -"
    )
    for cell in cells:
        ratio = _ratio(cell)
        duck50 = f"{cell.duck.p50_ms:9.2f}" if cell.duck else f"{'-':>9}"
        numbers = "-" if cell.duck is None else ("ok" if not cell.problems else "MISMATCH")
        print(
            f"{cell.case.tool:<19} {cell.case.name:<18} {cell.scope:<5} {cell.period:>6} "
            f"{cell.flt.text if cell.flt else '-':<29} {cell.engine.p50_ms:9.2f} {cell.engine.p95_ms:9.2f} "
            f"{duck50} {'-' if ratio is None else f'{ratio:.2f}':>8} {len(cell.engine.samples):>3} "
            f"{_mark(target_met(size, cell)):>6}  {numbers:<8} {cell.engine.cpu_p50_ms:9.2f} "
            f"{cell.duck.cpu_p50_ms if cell.duck else float('nan'):9.2f}"
            + "".join(store_columns(cell, name) for name in stores)
        )
    print("-" * len(header))
    _print_targets(size, cells, stores)
    peak, now = rss
    print(f"peak RSS of the engine phase: {peak:.0f} MB (target < {RSS_TARGET_MB:.0f} MB); open: {now}")
    cores, load = os.cpu_count(), os.getloadavg()
    print(
        f"machine: {cores} cores, load average now {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)"
    )
    _print_slowest(cells)
    _print_mismatches([(cell, cell.problems) for cell in cells], "engine and DuckDB")
    for name in stores:
        _print_store(cells, name)
    _print_integrity(integrity)


def _print_targets(size: str, cells: list[Cell], stores: list[str]) -> None:
    plain = [cell for cell in cells if cell.flt is None]
    rule = f"{'<= duckdb and ' if size == '10m' else ''}< {TARGET_MS.get(size)} ms"
    count = sum(bool(target_met(size, c)) for c in plain)
    print(f"target met: {count}/{len(plain)} unfiltered cells (eng p50 {rule})")
    filtered = [cell for cell in cells if cell.flt is not None and cell.period == "30d"]
    if filtered:
        under = sum(bool(target_met(size, c)) for c in filtered)
        print(f"filtered 30d cells on SQLite under {FILTERED_TARGET_MS:.0f} ms: {under}/{len(filtered)}")
    for name in stores:
        timed = [c for c in cells if name in c.stores and c.duck is not None]
        at_or_under = sum(c.stores[name].timing.p50_ms <= c.duck.p50_ms for c in timed if c.duck)
        print(f"{name} p50 at or under DuckDB's: {at_or_under}/{len(timed)} cells")


def store_columns(cell: Cell, name: str) -> str:
    run = cell.stores.get(name)
    if run is None:
        return f" {'-':>9} {'-':>8} {'-':>7} {'-':<8} {'-':>9}"
    duck = _ratio(cell, run.timing)
    numbers = "ok" if not run.problems else "MISMATCH"
    return (
        f" {run.timing.p50_ms:9.2f} {'-' if duck is None else f'{duck:.2f}':>8} "
        f"{run.timing.p50_ms / cell.engine.p50_ms:7.2f} {numbers:<8} {run.timing.cpu_p50_ms:9.2f}"
    )


def _print_store(cells: list[Cell], name: str) -> None:
    timed = [(cell, cell.stores[name].timing) for cell in cells if name in cell.stores]
    slower = sum(1 for cell, run in timed if run.p50_ms > cell.engine.p50_ms)
    print(f"{name} slower than SQLite (p50) in {slower} of {len(timed)} cells")
    worst = sorted(timed, key=lambda pair: pair[1].p50_ms, reverse=True)[:8]
    print(f"slowest {name} cells: " + ", ".join(f"{c.label} {run.p50_ms:.0f} ms" for c, run in worst))
    ranked = sorted(timed, key=lambda pair: pair[1].p50_ms / pair[0].engine.p50_ms, reverse=True)[:8]
    print(
        f"highest {name}/sqlite ratios: "
        + ", ".join(f"{c.label} {run.p50_ms / c.engine.p50_ms:.1f}x" for c, run in ranked)
    )
    _print_mismatches([(cell, cell.stores[name].problems) for cell, _ in timed], f"{name} and SQLite")


def _print_integrity(integrity: list[tuple[str, int]]) -> None:
    bad = sum(1 for _, count in integrity if count)
    print(f"stored layout vs raw events ({len(integrity) - bad}/{len(integrity)} checks clean):")
    for label, count in integrity:
        print(f"  {'ok ' if not count else '!!!'} {count:>8,}  {label}")


def _print_slowest(cells: list[Cell]) -> None:
    worst = sorted(cells, key=lambda c: c.engine.p50_ms, reverse=True)[:8]
    print("slowest engine cells: " + ", ".join(f"{c.label} {c.engine.p50_ms:.0f} ms" for c in worst))
    ranked = sorted(
        (c for c in cells if _ratio(c) is not None), key=lambda c: _ratio(c) or 0.0, reverse=True
    )[:8]
    print("highest engine/duckdb ratios: " + ", ".join(f"{c.label} {_ratio(c):.1f}x" for c in ranked))


def _print_mismatches(found: list[tuple[Cell, list[str]]], pair: str) -> None:
    """The cells whose answers differ between `pair` (e.g. "engine and DuckDB"), with their problems."""
    bad = [(cell, problems) for cell, problems in found if problems]
    if not bad:
        print(f"numbers: {pair} agree on every cell")
        return
    print(f"!!! NUMBERS MISMATCH in {len(bad)} cells: {pair} disagree !!!")
    for cell, problems in bad:
        print(f"  {cell.label}:")
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
                "filter": cell.flt.text if cell.flt else None,
                "engine_p50_ms": round(cell.engine.p50_ms, 3),
                "engine_p95_ms": round(cell.engine.p95_ms, 3),
                "duckdb_p50_ms": round(cell.duck.p50_ms, 3) if cell.duck else None,
                "duckdb_p95_ms": round(cell.duck.p95_ms, 3) if cell.duck else None,
                "engine_cpu_p50_ms": round(cell.engine.cpu_p50_ms, 3),
                "duckdb_cpu_p50_ms": round(cell.duck.cpu_p50_ms, 3) if cell.duck else None,
                "runs": len(cell.engine.samples),
                **{
                    f"{name}_{key}": value
                    for name, run in cell.stores.items()
                    for key, value in (
                        ("p50_ms", round(run.timing.p50_ms, 3)),
                        ("p95_ms", round(run.timing.p95_ms, 3)),
                        ("cpu_p50_ms", round(run.timing.cpu_p50_ms, 3)),
                        ("problems", run.problems),
                    )
                },
                "target_met": target_met(size, cell),
                "problems": cell.problems,
            }
            for cell in cells
        ],
    }
