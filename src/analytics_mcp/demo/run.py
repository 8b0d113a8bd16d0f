"""`analytics-mcp demo`: a demo tenant with 13 months of realistic traffic, a fresh API token, the
connection details an AI client needs, then the server.

The traffic goes through the real ingestion pipeline (the batch format of `POST /api/v1/events`),
so the demo exercises the same enrichment, visit and goal logic as production data. A second run
finds the tenant and keeps its data; it only issues a new token (tokens are stored hashed, so an
old one can never be shown again).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analytics_mcp.config import Settings
from analytics_mcp.demo.banner import DemoAccess, render_banner
from analytics_mcp.demo.experiment import add_demo_experiment
from analytics_mcp.demo.traffic import generate_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts

TENANT = "demo"
MAIN_SITE = "demo.analytics-mcp.local"
SHOP_SITE = "shop.analytics-mcp.local"
EMAIL = "demo@analytics-mcp.local"
DEFAULT_PASSWORD = "demo-password"
DAILY_VISITORS = 800
# 13 months: 12m has a whole year and part of the year before it to compare with (the dashboard
# marks the rest of that previous year as before the site's data).
DEMO_DAYS = 400
SHOP_SHARE = 0.1  # the second site gets about a tenth of the main site's traffic
# Events per transaction while loading: 10x the import default, a tenth of the commits. The 400 days
# (1.0M events): 123.5 s CPU and 3.6 GB written instead of 150.1 s and 10.6 GB; 417 MB resident.
LOAD_CHUNK = 50_000

# (site, goal name, add_goal keyword arguments)
GOALS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (MAIN_SITE, "Signup Page Visit", {"path": "/signup"}),
    (MAIN_SITE, "Blog Reader", {"path": "/blog/", "match_type": "prefix"}),
    (MAIN_SITE, "Docs (wildcard)", {"path": "/docs/*/install", "match_type": "wildcard"}),
    (MAIN_SITE, "Newsletter", {"event": "Newsletter"}),
    (MAIN_SITE, "Purchase", {"event": "purchase"}),
    (SHOP_SITE, "Purchase", {"event": "purchase"}),
)


def run_demo(
    settings: Settings,
    *,
    days: int = DEMO_DAYS,
    serve: bool = True,
    host: str | None = None,
    port: int | None = None,
) -> None:
    """Set up (once) and show the demo tenant, then serve the app unless `serve` is False."""
    host = host or settings.host
    port = port or settings.port
    password = os.environ.get("ANALYTICS_PASSWORD") or DEFAULT_PASSWORD
    services = Services.build(settings)
    try:
        if create_demo_accounts(services, password):
            load_demo_traffic(services, days)
            add_demo_experiment(services, MAIN_SITE)  # one running A/B test with traffic
        else:
            _log(f"tenant {TENANT!r} already exists: keeping its data")
        token = new_demo_token(services)
    finally:
        services.db.sync.dispose()  # the server builds its own services
    access = DemoAccess(
        _base_url(host, port),
        EMAIL,
        password,
        token,
        settings.database_url,
        _command(),
        chat=bool(settings.anthropic_api_key),
    )
    print(render_banner(access), flush=True)
    if serve:
        _serve(settings, host, port)


def create_demo_accounts(services: Services, password: str) -> bool:
    """The demo tenant, its two sites, user and goals; False when the tenant already exists."""
    with services.db.sync.begin() as conn:
        if accounts.get_tenant(conn, TENANT) is not None:
            return False
        accounts.create_tenant(conn, TENANT, name="Demo Company", plan="business", timezone="Europe/Berlin")
        accounts.add_site(conn, TENANT, MAIN_SITE, currency="EUR")
        accounts.add_site(conn, TENANT, SHOP_SITE, currency="EUR")
        accounts.create_user(conn, EMAIL, TENANT, password, role="owner")
        for site, name, target in GOALS:
            accounts.add_goal(conn, site, name, **target)
    _log(f"created tenant {TENANT!r} with sites {MAIN_SITE} and {SHOP_SITE}")
    return True


def load_demo_traffic(services: Services, days: int, *, end: datetime | None = None) -> None:
    """Generate and ingest `days` of traffic for both demo sites through the batch pipeline."""
    end = end or datetime.now(UTC)
    plan = ((MAIN_SITE, DAILY_VISITORS, 7), (SHOP_SITE, round(DAILY_VISITORS * SHOP_SHARE), 8))
    for domain, visitors, seed in plan:
        events = generate_events(domain, days=days, end=end, daily_visitors=visitors, seed=seed)
        _ingest(services, domain, events)


def _ingest(services: Services, domain: str, events: Iterable[dict[str, Any]]) -> None:
    from analytics_mcp.ingest.bulk_import import ingest_events  # the pipeline's entry for batches

    started = time.monotonic()
    shown = 0

    def progress(done: int) -> None:
        nonlocal shown
        if done - shown >= 50_000:
            shown = done
            _log(f"  {domain}: {done:,} events ...")

    _log(f"{domain}: generating and ingesting traffic")
    summary = ingest_events(services.ingestor, events, progress=progress, chunk_size=LOAD_CHUNK)
    elapsed = time.monotonic() - started
    _log(
        f"{domain}: {summary.accepted:,} stored, {summary.duplicate:,} duplicate, "
        f"{summary.dropped:,} dropped, {summary.rejected:,} rejected in {elapsed:.1f}s"
    )
    for error in summary.errors[:3]:
        _log(f"  rejected line {error['line']}: {error['field']}: {error['message']}")


def new_demo_token(services: Services) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with services.db.sync.begin() as conn:
        _token, plaintext = accounts.create_token(
            conn, TENANT, name=f"demo-{stamp}", scopes=("read", "ingest", "admin")
        )
    return plaintext


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from analytics_mcp.app import create_app

    application = create_app(settings, freeze_heap=True)
    uvicorn.run(application, host=host, port=port, access_log=False, proxy_headers=False)


def _base_url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _command() -> str:
    """Absolute path of the `analytics-mcp` script, for the stdio client config."""
    beside = Path(sys.executable).parent / "analytics-mcp"
    if beside.exists():
        return str(beside.absolute())
    found = shutil.which("analytics-mcp")
    return str(Path(found).absolute()) if found else "analytics-mcp"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
