"""`rollups`: the pre-aggregated report tables (docs/rollups.md). The ingestion writer keeps them
current; `rebuild` recomputes them from the raw tables (databases that predate them, or after
restoring data)."""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import TYPE_CHECKING

from analytics_mcp.cli_commands.common import CliError, emit, group_parser, migrated_databases
from analytics_mcp.config import Settings
from analytics_mcp.rollups.rebuild import rebuild_rollups, site_zones
from analytics_mcp.storage import accounts

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "rollups", "Maintain the pre-aggregated rollup tables.")
    rebuild = group.add_parser(
        "rebuild",
        help="Recompute the rollups from the raw tables; prints a JSON summary.",
        description="Delete the rollup rows of every site (or of --site) and recompute them from "
        "visits, events, goal completions and e-commerce items, in one transaction. Prints one JSON "
        "line: sites, rows written per rollup table, and seconds. On SQLite it holds the write lock "
        "while it runs (about 3 minutes for 10 million events): ingestion waits meanwhile.",
    )
    rebuild.add_argument("--site", metavar="DOMAIN", help="Only this site; default: every site.")
    rebuild.set_defaults(func=rollups_rebuild)


def rollups_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    started = time.perf_counter()
    with migrated_databases(settings) as (accounts_db, events_db):
        with accounts_db.sync.connect() as conn:
            site_ids = None
            if args.site is not None:
                site = accounts.get_site(conn, args.site)
                if site is None:
                    raise CliError("site", "not found")
                site_ids = [site.id]
            zones = site_zones(conn, site_ids)
        with events_db.sync.begin() as conn:
            summary = rebuild_rollups(conn, site_ids, zones=zones)
    # Wall time of the whole command, commit included.
    emit({**dataclasses.asdict(summary), "seconds": round(time.perf_counter() - started, 3)})
    return 0
