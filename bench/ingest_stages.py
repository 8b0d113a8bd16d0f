"""The server's Python per batch event, stage by stage, on one pre-built 10,000-line body
(bench/ingest.py's lines): less noisy than the whole benchmark on a shared machine.

    python bench/ingest_stages.py [--repeat 7]

Prints CPU (process_time) per event, the minimum over the repeats, for:
- route: the body to the events as the route does it (`plain_body`, else `parse_batch_lines` +
  `split_lines`, with a tenant check; since 2026-12-08 a plain body's `ColumnBatch` builds its
  `PendingEvent`s only when read, so they are not built here);
- prepare: `BatchProcessor.prepare_keyed` (the store's id lookup answers "none stored": with
  chDB it runs in ClickHouse with the GIL released, so it is left out here; since 2026-12-08 it
  includes building a plain batch's `PendingEvent`s, which the route did before);
- encode: the spool frame (`codec.encode`, given the route's events as the spooler gives them);
- to_frame: prepare and frame at once from the route's columns (`prepare_columns.prepare_frame`, what
  replaces prepare + the frame part of encode for a plain batch), and pickle: that frame pickled;
- decode: the writer's side of the frame (`codec.decode`, the writer's process once split);
- reader: of the route, pyarrow's NDJSON reader alone (the GIL released), where the tree has it.
The collector runs as in the server (`heap.tune_collector`).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from analytics_mcp.config import Settings
from analytics_mcp.heap import tune_collector
from analytics_mcp.ingest.batch_processor import BatchProcessor
from analytics_mcp.ingest.bulk_import import ImportSummary, split_lines, tenant_check

try:  # the columns read by pyarrow (absent from trees before it, which the A/B runs compare)
    from analytics_mcp.ingest.bulk_import import plain_body
    from analytics_mcp.ingest.plain_arrow import read_table
except ImportError:
    plain_body = read_table = None  # type: ignore[assignment]
try:  # a plain batch prepared to its frame from columns (absent from trees before it)
    from analytics_mcp.ingest.prepare_columns import prepare_frame
except ImportError:
    prepare_frame = None  # type: ignore[assignment]
from analytics_mcp.ingest.spool import codec, columns
from analytics_mcp.ingest.wire import parse_batch_lines
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import DOMAIN, batch_bodies

# The frame from the route's columns, as the spooler asks for it (trees before take the events only).
_TAKES_BATCH = len(inspect.signature(codec.encode).parameters) > 1


class NoneStored:
    """The store's answer for new ids (ClickHouse's lookup runs outside the GIL)."""

    def existing(self, column: str, pairs: list[tuple[int, str | None]], *, purchase_only: bool) -> set[Any]:
        return set()


def per_event(work: Callable[[int], Any], count: int, repeat: int) -> float:
    """Minimum CPU microseconds an event over `repeat` runs (the run's number given)."""
    best = float("inf")
    for run in range(repeat):
        start = time.process_time()
        work(run)
        best = min(best, time.process_time() - start)
    return best / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key="bench", ingest_process=False, _env_file=None)  # type: ignore[call-arg]
        services = Services.build(settings)
        with services.db.sync.begin() as conn:
            accounts.create_tenant(conn, "bench", plan="business", timezone="UTC")
            accounts.add_site(conn, "bench", DOMAIN, currency="EUR")
        # A body per run, as the server sees them: new ids, new addresses (caches of the last
        # run's do not help).
        bodies = [body for _ids, body in batch_bodies(10_000 * (args.repeat + 1), 10_000)]
        check = tenant_check([DOMAIN])
        processor = BatchProcessor()
        processor.stored_keys = NoneStored()
        tune_collector()

        def route(run: int) -> list[Any]:  # as the route does it
            body = bodies[run]
            pending = plain_body(body, check) if plain_body is not None else None
            if pending is None:
                pending = list(split_lines(parse_batch_lines(body), ImportSummary(), check=check))
            return pending

        pending = route(args.repeat)
        count = len(pending)
        with services.db.sync.begin() as conn:
            live, _outcomes, _keys = processor.prepare_keyed(conn, pending)
            encode = partial(codec.encode, live, pending) if _TAKES_BATCH else partial(codec.encode, live)
            payload = encode()
            figures = {
                "route": per_event(route, count, args.repeat),
                "prepare": per_event(lambda _: processor.prepare_keyed(conn, pending), count, args.repeat),
                "encode": per_event(lambda _: encode(), count, args.repeat),
                "decode": per_event(
                    lambda _: codec.decode(payload, conn, processor.sites), count, args.repeat
                ),
            }
            if prepare_frame is not None:
                answered = prepare_frame(processor, conn, pending, frozenset())
                assert answered is not None, "the bench's batch is plain and all accepted"
                figures["to_frame"] = per_event(
                    lambda _: prepare_frame(processor, conn, pending, frozenset()), count, args.repeat
                )
                figures["pickle"] = per_event(lambda _: columns.pickled(answered[0]), count, args.repeat)
        if read_table is not None:  # the part of the route that releases the GIL
            figures["reader"] = per_event(lambda run: read_table(bodies[run]), count, args.repeat)
        for stage, micros in figures.items():
            print(f"{stage:8} {micros:6.2f} us CPU an event")
        server = figures["route"] + figures["prepare"] + figures["encode"]
        print(f"server   {server:6.2f} us (route + prepare + encode)")
        if "to_frame" in figures:
            fast = figures["route"] + figures["to_frame"] + figures["pickle"]
            print(f"server   {fast:6.2f} us (route + to_frame + pickle: a plain batch's fast path)")
        print(f"frame    {len(payload) / count:6.1f} bytes an event")


if __name__ == "__main__":
    main()
