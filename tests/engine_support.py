"""Helpers for the engine tests: accounts, events through the real ingestion pipeline, and a
fixed "now" so periods are reproducible."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from analytics_mcp import engine
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_types import Site, Tenant
from factories import CHROME_WIN, event

R = TypeVar("R")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def add_site(
    services: Services,
    domain: str = "acme.test",
    *,
    slug: str = "acme",
    tenant_timezone: str = "UTC",
    timezone: str | None = None,
    currency: str = "EUR",
) -> tuple[Tenant, Site]:
    """A site (and its tenant on first use) with its own time zone and currency."""
    with services.db.sync.begin() as conn:
        tenant = accounts.get_tenant(conn, slug) or accounts.create_tenant(
            conn, slug, timezone=tenant_timezone
        )
        site = accounts.add_site(conn, slug, domain, timezone=timezone, currency=currency)
    return tenant, site


def hit(
    when: str,
    path: str = "/",
    *,
    who: int = 1,
    domain: str = "acme.test",
    name: str = "pageview",
    ua: str = CHROME_WIN,
    **extra: Any,
) -> dict[str, Any]:
    """A batch-format event at `when` (ISO UTC) from visitor number `who` (one IP per number)."""
    return event(when, path, domain=domain, ip=f"198.51.100.{who}", ua=ua, name=name, **extra)


def purchase(
    when: str, who: int, tx: str, amount: float, currency: str = "EUR", **extra: Any
) -> dict[str, Any]:
    revenue = {"amount": amount, "currency": currency}
    return hit(when, "/checkout/done", who=who, name="purchase", transaction_id=tx, revenue=revenue, **extra)


def ingest(services: Services, events: Iterable[Mapping[str, Any]], *, duplicates: int = 0) -> None:
    items = list(events)
    summary = ingest_events(services.ingestor, items)
    assert (summary.rejected, summary.dropped, summary.errors) == (0, 0, []), summary
    assert (summary.accepted, summary.duplicate) == (len(items) - duplicates, duplicates), summary


async def ask(
    services: Services,
    tenant: Tenant,
    fn: Callable[[Any, engine.Query], Awaitable[R]],
    *,
    now: str,
    **arguments: Any,
) -> R:
    """Run one engine function for the tenant, as of `now` (ISO UTC)."""
    query = await engine.query_for_tenant(services.db, tenant, now=utc(now), **arguments)
    return await fn(services.db, query)


def metrics(report: Any, *names: str) -> tuple[Any, ...]:
    return tuple(getattr(report, name) for name in names)


def rows(report: Any, *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(getattr(row, f) for f in fields) for row in report.rows]
