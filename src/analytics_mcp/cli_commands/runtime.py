"""`serve`, `migrate`, `import`, `demo` and `mcp`: the commands that run things. Heavy or
optional modules are imported inside each command so the rest of the CLI never depends on them."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import inspect
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.runtime.migration import MigrationContext

from analytics_mcp.cli_commands.common import CliError, day_count, emit, migrated, port_number
from analytics_mcp.config import Settings
from analytics_mcp.storage import accounts
from analytics_mcp.storage.clickhouse import is_clickhouse_url, open_clickhouse
from analytics_mcp.storage.db import open_database
from analytics_mcp.storage.migrate import upgrade

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers


def register(sub: Subparsers) -> None:
    serve = sub.add_parser(
        "serve",
        help="Run the HTTP server (tracker, API, dashboard, MCP).",
        description="Run the HTTP server (tracker, API, dashboard, MCP). Settings come from ANALYTICS_* "
        "environment variables (README). Ingestion: ANALYTICS_INGEST_PROCESS, ANALYTICS_INGEST_SPOOL_LIMIT, "
        "and with chdb:// events ANALYTICS_CHDB_WRITER=thread|process (the spool's writer in a thread "
        "of the server, or a process reaching its chDB over a loopback ClickHouse HTTP endpoint).",
    )
    _host_port(serve)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="Apply database migrations; prints the revision.").set_defaults(
        func=cmd_migrate
    )
    imp = sub.add_parser(
        "import",
        help="Import an NDJSON file of events; prints a JSON summary.",
        description="Import an NDJSON file of batch-format events for one site. Lines without "
        "event_id get one derived from their content, so importing a file again stores nothing "
        "twice. Lines for another site are rejected. Exits 1 when any line was rejected.",
    )
    imp.add_argument("file", help="NDJSON file, one batch-format event per line.")
    imp.add_argument("--site", required=True, help="Domain of the site the events belong to.")
    imp.set_defaults(func=cmd_import)
    demo = sub.add_parser("demo", help="Load generated demo data and (by default) serve it.")
    demo.add_argument(
        "--days", type=day_count, default=400, help="Days of history to generate (400: 13 months)."
    )
    _host_port(demo)
    demo.add_argument("--no-serve", action="store_true", help="Only load the data, then exit.")
    demo.set_defaults(func=cmd_demo)
    mcp = sub.add_parser("mcp", help="Run the MCP server on stdin/stdout (for local AI clients).")
    mcp.set_defaults(func=cmd_mcp)


def _host_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="Interface to bind (default $ANALYTICS_HOST or 127.0.0.1).")
    parser.add_argument("--port", type=port_number, help="TCP port (default $ANALYTICS_PORT or 8000).")


def _finish(delegate: Callable[[], object]) -> None:
    """Run a delegate, sync or async: a returned coroutine runs to completion."""
    result = delegate()
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


async def _await(awaitable: Any) -> None:
    await awaitable


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from analytics_mcp import app as app_module

    application = app_module.create_app(settings, freeze_heap=True)  # applies migrations too
    uvicorn.run(
        application,
        host=args.host or settings.host,
        port=args.port or settings.port,
        access_log=False,  # uvicorn's access log prints client IPs; we keep none
        proxy_headers=False,  # X-Forwarded-For is trusted only per settings.trusted_proxies
        server_header=False,
    )
    return 0


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    """Both databases: Alembic's revision; with the events in ClickHouse, the accounts database's
    revision and then `clickhouse <schema version>`."""
    if not is_clickhouse_url(settings.events_database_url):
        with migrated(settings) as db, db.sync.connect() as conn:
            print(MigrationContext.configure(conn).get_current_revision())
        return 0
    from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse

    accounts_db = open_database(settings.database_url)
    try:
        upgrade(accounts_db.sync)
        with accounts_db.sync.connect() as conn:
            print(MigrationContext.configure(conn).get_current_revision())
    finally:
        accounts_db.sync.dispose()
    events = open_clickhouse(settings.events_database_url)
    try:
        print(f"clickhouse {upgrade_clickhouse(events)}")
    finally:
        events.close()
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise CliError("file", "not found")
    from analytics_mcp.ingest.bulk_import import import_file
    from analytics_mcp.services import Services

    services = Services.build(settings)
    try:
        with services.db.sync.connect() as conn:
            if accounts.get_site(conn, args.site) is None:
                raise CliError("site", "not found")
        progress = ProgressLine() if sys.stderr.isatty() else None
        summary = import_file(services.ingestor, path, args.site, progress=progress)
        if progress is not None:
            progress.done()
    finally:
        asyncio.run(services.close())
    emit(dataclasses.asdict(summary))
    return 1 if summary.rejected else 0


class ProgressLine:
    """A one-line counter on stderr, redrawn in place with \\r (used only when stderr is a TTY)."""

    def __init__(self) -> None:
        self._shown = False

    def __call__(self, lines: int) -> None:
        sys.stderr.write(f"\rimporting: {lines:,} lines")
        sys.stderr.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            sys.stderr.write(" - done\n")
            sys.stderr.flush()


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from analytics_mcp.demo import run_demo

    host, port = args.host or settings.host, args.port or settings.port
    _finish(partial(run_demo, settings, days=args.days, serve=not args.no_serve, host=host, port=port))
    return 0


def cmd_mcp(_args: argparse.Namespace, settings: Settings) -> int:
    from analytics_mcp.tools.stdio import run_stdio

    with migrated(settings):
        pass  # migrate before the protocol owns stdout (alembic logs nothing at this level)
    _finish(partial(run_stdio, settings))
    return 0
