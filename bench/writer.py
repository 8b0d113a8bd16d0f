"""The ClickHouse writer's own cost, without the server: prepared events (as the spool hands them
to the writer) computed into rows (`batch.compute`) and inserted (`batch.insert`) into a fresh chDB
directory, batch after batch, as the writer stores gathered spool frames.

The events are `bench/ingest.py`'s batch load (pageviews, 7 per visitor, 37 ms apart), built
before the clock; `--mixed` adds custom events, engagement reports, a goal and purchases with
items (the per-event path's work); `--tracker` only the engagement reports (a tracker's visits).
Each batch comes with its spool frames' columns (frames of 10,000 events, bench/ingest.py's
requests), and its events are read from them on demand, as the server's writer gets handed frames
(spool/frame_events.py); `--no-frames` reads every field from prepared events.
Printed per batch and in total, per event: the process's CPU (Python and chDB's threads), this
thread's CPU (Python, and chDB's work on the calling thread), split into computing rows and
inserting them.

    python bench/writer.py [--events 200000] [--batch 100000] [--mixed | --tracker] [--no-frames]
                           [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analytics_mcp.heap import tune_collector
from analytics_mcp.ingest.clickhouse import batch, state
from analytics_mcp.ingest.enrich import ClientInfo
from analytics_mcp.ingest.event import PendingEvent, PreparedEvent
from analytics_mcp.ingest.goals import build_matcher
from analytics_mcp.ingest.sites import SiteInfo
from analytics_mcp.ingest.spool import columns
from analytics_mcp.ingest.spool.frame_events import framed_events
from analytics_mcp.ingest.wire import Item
from analytics_mcp.storage.clickhouse import open_clickhouse
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse

DOMAIN = "bench.example"
FRAME = 10_000  # events a spool frame
CLIENT = ClientInfo("Chrome", "Linux", "desktop")


def prepared_events(total: int, mixed: bool, tracker: bool = False) -> list[PreparedEvent]:
    """bench/ingest.py's batch events as prepare leaves them (one visitor id per 7 events)."""
    goals = (build_matcher("g1", "event", None, None, "signup"),) if mixed else ()
    site = SiteInfo(1, 1, DOMAIN, "EUR", ZoneInfo("Europe/Berlin"), goals)
    start = int(time.time() * 1000) - 6 * 3600 * 1000
    out = []
    for i in range(total):
        name, path, extra = "pageview", f"/docs/{i % 300}", {}
        if (mixed or tracker) and i % 7 == 3:
            name, extra = "engagement", {"engagement_ms": 1200, "scroll_depth": 40}
            path = f"/docs/{(i - 1) % 300}"
        elif mixed and i % 7 == 5:
            name = "signup" if i % 2 else "purchase"
            if name == "purchase":
                extra = {"revenue": 12.5, "currency": "EUR", "transaction_id": f"t{i}"}
                extra["items"] = [Item(item_id="sku1", item_name="Socks", price=12.5, quantity=1)]
        event = PendingEvent(
            domain=DOMAIN, name=name, url=f"https://{DOMAIN}{path}",
            referrer="https://duckduckgo.com/" if i % 3 else None, props=None,
            interactive=name not in ("pageview", "engagement"), event_id=f"b{i}",
            revenue=extra.get("revenue"), currency=extra.get("currency"),
            transaction_id=extra.get("transaction_id"), items=extra.get("items"),
            engagement_ms=extra.get("engagement_ms"), scroll_depth=extra.get("scroll_depth"),
            language="en-US", hash_routing=False, ts=start + i * 37, ip="", user_agent="",
            country="DE",
        )  # fmt: skip
        out.append(PreparedEvent(i, event, site, CLIENT, (10_000_000 + i // 7,), DOMAIN, path))
    return out


class OneSite:
    """The writer's site registry for the one bench site."""

    def __init__(self, site: SiteInfo) -> None:
        self.site = site

    def lookup(self, _conn: object, domain: str) -> SiteInfo | None:
        return self.site if domain == self.site.domain else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--batch", type=int, default=100_000, help="events per writer batch (a multiple of 10,000)"
    )
    parser.add_argument("--mixed", action="store_true", help="custom events, engagement, goals, purchases")
    parser.add_argument(
        "--tracker", action="store_true", help="an engagement report in every visit, no goals"
    )
    parser.add_argument("--no-frames", action="store_true", help="fields read from the events")
    parser.add_argument("--profile", type=Path, help="cProfile of the batches, to this .prof file")
    args = parser.parse_args()
    if args.batch % FRAME:
        parser.error(f"--batch must be a multiple of {FRAME}")
    live = prepared_events(args.events, args.mixed, args.tracker)
    frames = [columns.frame(live[at : at + FRAME]) for at in range(0, len(live), FRAME)]
    directory = tempfile.mkdtemp(prefix="bench-writer-")
    events = open_clickhouse(f"chdb://{directory}?database=bench")
    upgrade_clickhouse(events)
    tune_collector()  # as the server and the writer process do (and the events built above frozen)
    profile = cProfile.Profile() if args.profile else None
    totals = [0.0, 0.0, 0.0, 0.0]  # process CPU, thread CPU of compute, of insert, wall
    registry = OneSite(live[0].site) if live else None
    for n, offset in enumerate(range(0, len(live), args.batch)):
        chunk: Sequence[PreparedEvent] = [*live[offset : offset + args.batch]]
        framed = None if args.no_frames else frames[offset // FRAME : (offset + len(chunk)) // FRAME]
        cpu0, wall0, thread0 = time.process_time(), time.perf_counter(), time.thread_time()
        if profile is not None:
            profile.enable()
        if framed is not None and registry is not None:  # as the writer reads handed frames
            chunk = framed_events(framed, columns.sites_now(framed, None, registry)) or chunk
        version, bases = state.next_free(events)
        rows = batch.compute(events, chunk, bases, version, frames=framed)
        thread1 = time.thread_time()
        batch.insert(events, rows, lambda table, n=n: f"bench:{n}:{table}", lambda _t: None)
        if profile is not None:
            profile.disable()
        spent = (time.process_time() - cpu0, thread1 - thread0, time.thread_time() - thread1)
        wall = time.perf_counter() - wall0
        for i, value in enumerate((*spent, wall)):
            totals[i] += value
        us = [1e6 * s / len(chunk) for s in spent]
        print(
            f"batch {n}: {len(chunk)} events, process CPU {us[0]:.2f} us/event, "
            f"thread: compute {us[1]:.2f} + insert {us[2]:.2f} us/event, wall {wall * 1000:.0f} ms"
        )
    stored = events.rows(f"SELECT count() FROM {events.table('events')} FINAL")[0][0]
    per = [1e6 * t / len(live) for t in totals]
    print(
        f"total: {len(live)} events ({stored} stored), process CPU {per[0]:.2f} us/event, thread: "
        f"compute {per[1]:.2f} + insert {per[2]:.2f} us/event, wall {totals[3]:.2f} s"
    )
    if profile is not None:
        profile.dump_stats(args.profile)


if __name__ == "__main__":
    main()
