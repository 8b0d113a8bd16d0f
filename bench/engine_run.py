"""The two timed phases of bench/engine.py: the engine on the SQLite file (in-process, as the MCP
tools call it), then DuckDB on a copy of the same rows; and the check that both give the same
numbers."""

from __future__ import annotations

import math
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import engine_ref as ref
from analytics_mcp import engine
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.db import Database
from engine_cases import CASES, FILTERED_FUNCTIONS, FILTERED_PERIODS, FILTERS, Case, FilterSpec
from engine_data import MAIN, TENANT, BenchData
from engine_integrity import GoalRule, run_checks

T = TypeVar("T")
TOOL_LIMIT = 10  # tools/args.py DEFAULT_LIMIT
FLOAT_TOLERANCE = 0.0100001  # money is summed in another order by DuckDB: last-cent rounding only


@dataclass(frozen=True, slots=True)
class Options:
    periods: tuple[str, ...]
    scopes: tuple[str, ...]  # "all" (the tenant's sites) and/or "site" (the main domain)
    repeat: int
    budget_s: float
    functions: tuple[str, ...] = ()  # empty: all
    filters: tuple[FilterSpec, ...] = FILTERS  # the filtered cells' filters (empty: none)


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)  # wall seconds, after the warm-up run
    cpu: list[float] = field(default_factory=list)  # CPU seconds of the process (all threads)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def cpu_p50_ms(self) -> float:
        """Less sensitive than wall time to other processes on a busy machine (but it adds up
        DuckDB's parallel threads)."""
        return statistics.median(self.cpu) * 1000 if self.cpu else float("nan")

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)  # nearest rank
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


@dataclass
class Cell:
    case: Case
    scope: str
    period: str
    query: engine.Query
    engine: Timing = field(default_factory=Timing)
    duck: Timing | None = None
    engine_answer: Any = None
    duck_answer: Any = None
    problems: list[str] = field(default_factory=list)
    flt: FilterSpec | None = None  # a filtered cell's filter
    stores: dict[str, StoreRun] = field(default_factory=dict)  # "postgresql", "clickhouse": the same call

    @property
    def label(self) -> str:
        where = f"{self.case.name}/{self.scope}/{self.period}"
        return where if self.flt is None else f"{where} [{self.flt.text}]"

    @property
    def pg(self) -> Timing | None:
        run = self.stores.get("postgresql")
        return None if run is None else run.timing

    @property
    def pg_problems(self) -> list[str]:
        run = self.stores.get("postgresql")
        return [] if run is None else run.problems


@dataclass
class StoreRun:
    """A cell's engine call on another events store, its answer compared with SQLite's."""

    timing: Timing
    answer: Any
    problems: list[str]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    assert "duckdb" not in sys.modules, "duckdb must not be loaded before the engine phase is measured"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_breakdown() -> str:
    """Current RSS split into anonymous memory (heap, SQLite page cache) and file pages (SQLite's
    mmap of the database file, shared libraries), from /proc/self/status (Linux)."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return "n/a"
    fields = {k: v.split()[0] for k, _, v in (line.partition(":") for line in lines) if v.strip()}
    wanted = ("VmRSS", "RssAnon", "RssFile")
    return ", ".join(f"{k} {int(fields[k]) / 1024:.0f} MB" for k in wanted if k in fields)


class _Clock:
    """Collects one sample per `with` block: --repeat runs, or fewer once the budget is spent (at
    least 3; just 1 when the warm-up alone took longer than the budget)."""

    def __init__(self, opts: Options, warmup_s: float) -> None:
        self.timing, self.opts = Timing(), opts
        self.deadline = time.perf_counter() + opts.budget_s
        self.least = 1 if warmup_s > opts.budget_s else 3

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *_exc: object) -> None:
        self.timing.samples.append(time.perf_counter() - self.wall)
        self.timing.cpu.append(time.process_time() - self.cpu)

    @property
    def done(self) -> bool:
        n = len(self.timing.samples)
        return n >= self.opts.repeat or (time.perf_counter() > self.deadline and n >= self.least)


async def timed_async(run: Callable[[], Awaitable[T]], opts: Options) -> tuple[T, Timing]:
    started = time.perf_counter()
    result = await run()  # warm-up
    clock_ = _Clock(opts, time.perf_counter() - started)
    while not clock_.done:
        with clock_:
            result = await run()
    return result, clock_.timing


def timed(run: Callable[[], T], opts: Options) -> tuple[T, Timing]:
    started = time.perf_counter()
    result = run()  # warm-up
    clock_ = _Clock(opts, time.perf_counter() - started)
    while not clock_.done:
        with clock_:
            result = run()
    return result, clock_.timing


async def engine_phase(data: BenchData, opts: Options) -> tuple[list[Cell], Timing, str]:
    """Every case x scope x period on the engine. Returns the cells, the timing of the list-sites
    read (the tenant's sites, what every tool loads first) and the RSS split before the database
    connections are closed."""
    services = Services.build(data.settings, migrate=False)
    db = services.db
    try:
        with db.sync.connect() as conn:
            tenant = accounts.get_tenant(conn, TENANT)
        assert tenant is not None, "benchmark tenant missing"
        _, sites_timing = await timed_async(lambda: engine.tenant_sites(db, tenant.id), opts)
        cells: list[Cell] = []
        for case, scope, period, flt in cell_plan(opts):
            site = MAIN if scope == "site" else None
            filters = None if flt is None else flt.text
            query = await engine.query_for_tenant(
                db, tenant, period=period, site=site, limit=TOOL_LIMIT, filters=filters
            )
            cell = Cell(case, scope, period, query, flt=flt)
            cells.append(await _engine_cell(services.events_db, cell, opts))
        return cells, sites_timing, rss_breakdown()
    finally:
        await services.close()


def cell_plan(opts: Options) -> list[tuple[Case, str, str, FilterSpec | None]]:
    """Every case x scope x period unfiltered, then the filtered cells (FILTERED_FUNCTIONS x scope x
    those of FILTERED_PERIODS among the periods x filter)."""
    wanted = [case for case in CASES if not opts.functions or case.name in opts.functions]
    plan: list[tuple[Case, str, str, FilterSpec | None]] = [
        (case, scope, period, None) for case in wanted for scope in opts.scopes for period in opts.periods
    ]
    filtered = [case for case in wanted if case.name in FILTERED_FUNCTIONS]
    plan += [
        (case, scope, period, flt)
        for case in filtered
        for scope in opts.scopes
        for period in FILTERED_PERIODS
        if period in opts.periods
        for flt in opts.filters
    ]
    return plan


async def _engine_cell(db: Database, cell: Cell, opts: Options) -> Cell:
    case, query = cell.case, cell.query
    run = case.run if case.prepare is None else await case.prepare(db, query)
    result, cell.engine = await timed_async(lambda: run(db, query), opts)
    cell.engine_answer = case.shape(result)
    log(f"  engine {cell.label}: p50 {cell.engine.p50_ms:9.1f} ms (n={len(cell.engine.samples)})")
    return cell


def duck_phase(data: BenchData, cells: list[Cell], opts: Options) -> tuple[float, list[tuple[str, int]]]:
    """Load the copy, run the integrity checks, answer every cell on DuckDB and compare. Returns
    the load time in seconds and the integrity results."""
    import engine_duck  # here, not at the top: duckdb stays out of the engine phase's memory

    started = time.perf_counter()
    con = engine_duck.load(data.db_path, data.directory / "reference.duckdb")
    loaded = time.perf_counter() - started
    goals, rules = _goals(data, cells)
    try:
        log("  integrity checks of the stored layout against the raw events")
        integrity = run_checks(con, rules)
        for cell in cells:
            if cell.case.reference is None:
                continue
            ask = ask_for(cell.query, goals, cell.flt)
            reference = cell.case.reference
            cell.duck_answer, cell.duck = timed(lambda: reference(con, ask), opts)  # noqa: B023
            cell.problems = check_range(cell.query) + differences(cell.engine_answer, cell.duck_answer)
            flag = "ok" if not cell.problems else f"MISMATCH ({len(cell.problems)})"
            log(f"  duckdb {cell.label}: p50 {cell.duck.p50_ms:9.1f} ms {flag}")
    finally:
        con.close()
        for leftover in data.directory.glob("reference.duckdb*"):
            leftover.unlink(missing_ok=True)
    return loaded, integrity


GoalsBySites = dict[tuple[int, ...], tuple[tuple[str, str], ...]]


def _goals(data: BenchData, cells: list[Cell]) -> tuple[GoalsBySites, list[GoalRule]]:
    """(id, name) of the goals of each cell's sites in the engine's order, and the rule of every
    goal of the tenant."""
    db = Services.build(data.settings, migrate=False).db
    try:
        with db.sync.connect() as conn:
            tenant = accounts.get_tenant(conn, TENANT)
            assert tenant is not None, "benchmark tenant missing"
            every = accounts.list_goals(conn, [site.id for site in accounts.list_sites(conn, tenant.id)])
            wanted = {tuple(cell.query.site_ids) for cell in cells}
            by_sites = {ids: accounts.list_goals(conn, list(ids)) for ids in wanted}
    finally:
        db.sync.dispose()
    rules = [(g.id, g.site_id, g.type, g.match_type, g.path, g.event_name) for g in every]
    return {ids: tuple((g.id, g.name) for g in goals) for ids, goals in by_sites.items()}, rules


def ask_for(query: engine.Query, goals: GoalsBySites, flt: FilterSpec | None = None) -> ref.Ask:
    site_ids = tuple(query.site_ids)
    return ref.Ask(
        site_ids=site_ids,
        start=query.range.start_ms,
        end=query.range.end_ms,
        prev_start=query.comparison.start_ms,
        prev_end=query.comparison.end_ms,
        tz=query.timezone,
        limit=query.limit,
        currency=query.currency,
        goals=goals[site_ids],
        visit_filter="" if flt is None else flt.visit_sql,
        page=None if flt is None else flt.page,
    )


def check_range(query: engine.Query) -> list[str]:
    """The UTC window of `Nd` computed here from the definition (N local days ending today)."""
    if not query.period.endswith("d"):
        return []
    zone, days = ZoneInfo(query.timezone), int(query.period[:-1])
    today = datetime.now(zone).date()

    def midnight(day: Any) -> int:
        return int(datetime.combine(day, clock(), tzinfo=zone).timestamp() * 1000)

    first = today - timedelta(days=days - 1)
    expected = (midnight(first), midnight(today + timedelta(days=1)))
    previous = (midnight(first - timedelta(days=days)), midnight(first))
    found = (query.range.start_ms, query.range.end_ms)
    found_prev = (query.comparison.start_ms, query.comparison.end_ms)
    problems = [f"range {found} != {expected}"] if found != expected else []
    return problems + ([f"comparison {found_prev} != {previous}"] if found_prev != previous else [])


def differences(a: Any, b: Any, path: str = "", names: tuple[str, str] = ("engine", "duckdb")) -> list[str]:
    """Where the engine's answer `a` and the reference's `b` differ (empty when they agree)."""
    x_, y_ = names
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(f"{path}/{key}: {x_} {a.get(key, '<missing>')!r} {y_} {b.get(key, '<missing>')!r}")
            else:
                out += differences(a[key], b[key], f"{path}/{key}", names)
        return out
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {len(a)} rows ({x_}) vs {len(b)} ({y_}): {x_} {a!r} {y_} {b!r}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{path}[{i}]", names)]
    if isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
        return [] if abs(a - b) <= FLOAT_TOLERANCE else [f"{path}: {x_} {a!r} {y_} {b!r}"]
    return [] if a == b else [f"{path}: {x_} {a!r} {y_} {b!r}"]
