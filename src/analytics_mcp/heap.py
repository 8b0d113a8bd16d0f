"""Garbage-collector settings for the long-running processes (the server, the writer process)."""

from __future__ import annotations

import gc


def tune_collector() -> None:
    """Collect once, freeze what is alive (full collections then skip modules, parser tables and
    schemas), and collect the young generation less often. Under tracker load the young
    collections walked every in-flight request's objects each 700 allocations; together these
    changes took the tracker from 0.41 to 0.70-0.75 x the ceiling (docs/ingestion.md). Batch
    ingestion holds tens of thousands of events in flight and frees almost no cycles: at 10,000 the
    collector took 1.1-1.4 s of a 200,000-event run's 8 s, at 100,000 0.5-0.6 s, then (after the
    other cuts) 0.36-0.40 s in 9-10 young collections of ~36 ms, each under the GIL the requests
    need. The in-flight events (a request's, the spool hand-off's, the writer's gathered batch)
    rise and fall by a few hundred thousand objects; at 1,000,000 the run has no collection at all
    (peak RSS 810 MB against 785) and garbage cycles, which are rare, wait at most that many
    allocations (docs/engine-performance.md, "Ingestion into ClickHouse")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(1_000_000, 20, 20)
