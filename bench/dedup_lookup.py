"""prepare's dedup lookup on chDB as the events table grows: 10,000 new event ids of one site
asked of ClickHouse alone (`ClickHouseKeys`, the lookup of every `clickhouse://` server) and
through the stored-key filter (`FilteredKeys`, chDB's default), with the filter's load (a scan of
the stored keys, at a server's start) timed too.

    python bench/dedup_lookup.py [--sizes 0,200000,1000000,2000000] [--repeat 5]

Prints, per stored size, CPU (process_time: Python and chDB's threads) and wall per lookup, the
minimum over the repeats, and what the load cost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analytics_mcp.ingest.clickhouse.key_filter import FilteredKeys, StoredKeyFilter
from analytics_mcp.ingest.clickhouse.reads import ClickHouseKeys
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse

ASKED = 10_000


def grow(events: ClickHouseEvents, stored: int, target: int) -> None:
    """Events of site 1 with ids s<n> up to `target` stored, as the writer's batches would."""
    table = events.table("events")
    for start in range(stored, target, 500_000):
        end = min(target, start + 500_000)
        events.command(
            f"INSERT INTO {table} (id, site_id, visit_id, visitor_id, ts, name, hostname, pathname, "
            "interactive, client_event_id, version) SELECT number, 1, number, number, "
            "toDateTime64(1700000000 + number, 3), 'pageview', 'bench.test', '/', true, "
            f"concat('s', toString(number)), 1 FROM numbers({start}, {end - start})"
        )


def timed(lookup: object, pairs: list[tuple[int, str | None]], repeat: int) -> tuple[float, float]:
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        found = lookup.existing("client_event_id", pairs, purchase_only=False)  # type: ignore[attr-defined]
        best_cpu, best_wall = (
            min(best_cpu, time.process_time() - cpu),
            min(best_wall, time.perf_counter() - wall),
        )
        assert not found
    return best_cpu * 1000, best_wall * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="0,200000,1000000,2000000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    events = open_clickhouse(f"chdb://{tempfile.mkdtemp(prefix='bench-dedup-')}?database=bench")
    upgrade_clickhouse(events)
    stored = 0
    for size in (int(s) for s in args.sizes.split(",")):
        grow(events, stored, size)
        stored = size
        pairs: list[tuple[int, str | None]] = [(1, f"new{size}-{n}") for n in range(ASKED)]
        keys = StoredKeyFilter()
        cpu, wall = time.process_time(), time.perf_counter()
        keys.load(events)
        load = (time.process_time() - cpu, time.perf_counter() - wall)
        plain = timed(ClickHouseKeys(events), pairs, args.repeat)
        filtered = timed(FilteredKeys(ClickHouseKeys(events), keys), pairs, args.repeat)
        print(
            f"{size:>9,} stored: ClickHouse alone {plain[0]:6.1f} ms CPU {plain[1]:6.1f} ms wall; "
            f"filtered {filtered[0]:5.1f} ms CPU {filtered[1]:5.1f} ms wall "
            f"(10,000 ids); filter load {load[0]:.2f} s CPU {load[1]:.2f} s wall"
        )


if __name__ == "__main__":
    main()
