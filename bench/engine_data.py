"""The benchmark database for bench/engine.py: realistic events through the real ingestion pipeline.

One tenant (Europe/Berlin) with a main site and a small second site (about 5 % of the events), three
goals (url exact /signup, url prefix /blog/, event purchase), 90 days of demo traffic ending now.
Databases are cached under bench/out/ by size and generator version (a hash of the demo generator,
the schema and the migrations), and rebuilt when older than `max_age_hours` (periods are relative to
today, so stale data would leave the last days empty).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect

from analytics_mcp.config import Settings
from analytics_mcp.demo import generate_events
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts, schema

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "analytics_mcp"
TENANT, MAIN, SMALL, TIMEZONE, DAYS = "bench", "bench.test", "small.test", "Europe/Berlin", 90
SMALL_SHARE = 0.05
SIZES = {"1m": 1_000_000, "10m": 10_000_000}
VERSION_FILES = ("demo/*.py", "storage/schema.py", "storage/migrations/versions/*.py")


@dataclass(frozen=True, slots=True)
class BenchData:
    directory: Path
    meta: dict[str, Any]

    @property
    def db_path(self) -> Path:
        return self.directory / "analytics.db"

    @property
    def settings(self) -> Settings:
        return settings_for(self.directory)


def settings_for(directory: Path) -> Settings:
    return Settings(data_dir=directory, _env_file=None)  # type: ignore[call-arg]


def generator_version() -> str:
    digest = hashlib.sha256()
    for pattern in VERSION_FILES:
        for path in sorted(SRC.glob(pattern)):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def events_per_visitor_day() -> float:
    """Measured on the generator itself (it changes with the demo model)."""
    sample = sum(1 for _ in generate_events(MAIN, days=DAYS, daily_visitors=500, seed=99))
    return sample / (DAYS * 500)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def directory_for(out: Path, size: str) -> Path:
    return out / f"engine-{size}-{generator_version()}"


def cached(out: Path, size: str, max_age_hours: float) -> BenchData | None:
    """The cached database of this size and generator version, if it is recent enough."""
    directory = directory_for(out, size)
    meta_path = directory / "meta.json"
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    age_h = (time.time() - meta["end_s"]) / 3600
    if age_h > max_age_hours:
        log(f"{directory} is {age_h:.1f} h old: rebuilding")
        return None
    log(f"using {directory} ({meta['events']:,} events, generated {age_h:.1f} h ago)")
    return BenchData(directory, meta)


def ensure_indexes(data: BenchData) -> None:
    """Create the indexes of the events and visits tables that storage/schema.py declares and the
    cached database lacks (a data set built before a migration that added one, e.g. 0007, 0008):
    the engine's plans rely on them. Indexes on columns the data set does not have are left out.
    Timed and logged, as a build of one can take minutes at 10M."""
    engine = create_engine(f"sqlite:///{data.db_path}")
    try:
        with engine.begin() as conn:
            found = inspect(conn)
            present = {ix["name"] for table in ("events", "visits") for ix in found.get_indexes(table)}
            columns = {(t, c["name"]) for t in ("events", "visits") for c in found.get_columns(t)}
            for index in (*schema.events.indexes, *schema.visits.indexes):
                readable = all((index.table.name, c.name) in columns for c in index.columns)  # type: ignore[union-attr]
                if index.name not in present and readable:
                    started = time.perf_counter()
                    index.create(conn)
                    log(f"created index {index.name} in {time.perf_counter() - started:.0f} s")
    finally:
        engine.dispose()


def load_dir(directory: Path) -> BenchData:
    """An existing benchmark directory, as is (`--data-dir`)."""
    meta = json.loads((directory / "meta.json").read_text())
    return BenchData(directory, meta)


def build(directory: Path, target_events: int) -> BenchData:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    services = Services.build(settings_for(directory))
    with services.db.sync.begin() as conn:
        accounts.create_tenant(conn, TENANT, plan="business", timezone=TIMEZONE)
        accounts.add_site(conn, TENANT, MAIN)
        accounts.add_site(conn, TENANT, SMALL)
        accounts.add_goal(conn, MAIN, "Signup page", path="/signup")
        accounts.add_goal(conn, MAIN, "Blog", path="/blog/", match_type="prefix")
        accounts.add_goal(conn, MAIN, "Purchase", event="purchase")
    per_visitor_day = events_per_visitor_day()
    main_daily = round(target_events * (1 - SMALL_SHARE) / (per_visitor_day * DAYS))
    small_daily = max(10, round(target_events * SMALL_SHARE / (per_visitor_day * DAYS)))
    log(
        f"building {directory}: ~{target_events:,} events ({per_visitor_day:.2f} events per visitor-day; "
        f"daily_visitors {MAIN}={main_daily}, {SMALL}={small_daily}, {DAYS} days ending now)"
    )
    started = time.perf_counter()
    end_s = time.time()
    stored = 0
    for domain, daily, seed in ((MAIN, main_daily, 1), (SMALL, small_daily, 2)):
        stored += _ingest(services, domain, daily, seed, started, stored)
    elapsed = time.perf_counter() - started
    services.db.checkpoint()
    services.db.sync.dispose()
    meta = {
        "events": stored,
        "target": target_events,
        "daily_visitors": {MAIN: main_daily, SMALL: small_daily},
        "end_s": end_s,
        "build_s": round(elapsed, 1),
        "version": generator_version(),
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=2))
    log(f"stored {stored:,} events in {elapsed:.0f} s ({stored / elapsed:,.0f}/s)")
    return BenchData(directory, meta)


def _ingest(services: Services, domain: str, daily: int, seed: int, started: float, before: int) -> int:
    last = [0.0]

    def progress(seen: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 15:
            last[0] = now
            rate = (before + seen) / (now - started)
            log(f"  {domain}: {seen:,} events read ({before + seen:,} total, {rate:,.0f}/s)")

    events = generate_events(domain, days=DAYS, daily_visitors=daily, seed=seed)
    summary = ingest_events(services.ingestor, events, progress=progress)
    if summary.rejected or summary.errors:
        log(f"  {domain}: {summary.rejected} rejected, first errors {summary.errors[:3]}")
    log(f"  {domain}: {summary.accepted:,} accepted, {summary.dropped:,} dropped")
    return int(summary.accepted)


if __name__ == "__main__":
    # python bench/engine_data.py OUT 1m|10m : (re)build that database (bench/engine.py runs this).
    build(directory_for(Path(sys.argv[1]), sys.argv[2]), SIZES[sys.argv[2]])
