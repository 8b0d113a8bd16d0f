"""Test data builders shared by the test modules (tenants, sites, tokens, events)."""

from __future__ import annotations

import itertools
from typing import Any

from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.accounts import Site, Tenant

CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

_ids = itertools.count(1)


def make_site(
    services: Services,
    slug: str = "acme",
    domain: str = "acme.test",
    *,
    plan: str = "business",
    timezone: str = "UTC",
    currency: str = "EUR",
) -> tuple[Tenant, Site]:
    with services.db.sync.begin() as conn:
        tenant = accounts.get_tenant(conn, slug) or accounts.create_tenant(
            conn, slug, plan=plan, timezone=timezone
        )
        site = accounts.add_site(conn, slug, domain, currency=currency)
    return tenant, site


def make_token(services: Services, slug: str = "acme", scopes: tuple[str, ...] = ("read",)) -> str:
    with services.db.sync.begin() as conn:
        _token, plaintext = accounts.create_token(conn, slug, name=f"test-{next(_ids)}", scopes=scopes)
    return plaintext


def event(
    when: str,
    path: str = "/",
    *,
    domain: str = "acme.test",
    ip: str = "198.51.100.10",
    ua: str = CHROME_WIN,
    name: str = "pageview",
    **extra: Any,
) -> dict[str, Any]:
    """A batch-format event; `when` is an ISO UTC time like '2026-11-20T10:00:00Z'."""
    return {
        "name": name,
        "url": f"https://{domain}{path}",
        "domain": domain,
        "timestamp": when,
        "ip": ip,
        "user_agent": ua,
        **extra,
    }
