"""A small world of identified customers for the segment tests, with every rule's members worked
out by hand. Days are relative to the computed day D (yesterday, UTC), never the wall clock's."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from analytics_mcp.platform.compute import Computed, compute_segments
from analytics_mcp.platform.profiles import import_profiles
from analytics_mcp.platform.segment_rules import SegmentDefinition
from analytics_mcp.platform.segments import create_segment
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_types import Tenant
from engine_support import add_site, hit, ingest, purchase

D = datetime.now(UTC).date() - timedelta(days=1)


def at(days_before: int, hour: int = 12) -> str:
    """ISO time `days_before` days before D at `hour` UTC."""
    return f"{(D - timedelta(days=days_before)).isoformat()}T{hour:02d}:00:00Z"


def world(services: Services, slug: str = "acme", domain: str = "acme.test") -> Tenant:
    """u1: pro, ltv 500, bought 120 EUR 2 days before D, saw /pricing from a newsletter the day
    before D, signed up twice on D. u2: free, ltv 50, read /blog/post 40 days before D, bought 30 EUR
    on D. u3: pro, imported only (no events, no ltv)."""
    tenant, _site = add_site(services, domain, slug=slug)
    ingest(
        services,
        [
            hit(at(2), "/", who=1, domain=domain, user_id="u1"),
            purchase(at(2, 13), 1, "t1", 120.0, domain=domain, user_id="u1"),
            hit(at(1), "/pricing?utm_source=newsletter", who=5, domain=domain, user_id="u1"),
            hit(at(0), "/signup", who=1, domain=domain, name="signup", user_id="u1"),
            hit(at(0, 13), "/signup", who=1, domain=domain, name="signup", user_id="u1"),
            hit(at(40), "/blog/post", who=2, domain=domain, user_id="u2"),
            purchase(at(0), 2, "t2", 30.0, domain=domain, user_id="u2"),
            hit(at(0, 14), "/", who=3, domain=domain),  # anonymous: never a profile
        ],
    )
    with services.db.sync.connect() as conn:
        sites = accounts.list_sites(conn, tenant.id)
    lines: list[Any] = [
        {"user_id": "u1", "traits": {"plan": "pro", "ltv": 500, "email": "one@Example.com"}},
        {"user_id": "u2", "traits": {"plan": "free", "ltv": 50, "email": "two@other.org"}},
        {"user_id": "u3", "traits": {"plan": "pro"}},
    ]
    asyncio.run(import_profiles(services, tenant.id, sites, lines))
    return tenant


def add_segment(
    services: Services, tenant: Tenant, name: str, rules: list[dict[str, Any]], match: str = "all"
) -> int:
    definition = SegmentDefinition.model_validate({"name": name, "match": match, "rules": rules})
    with services.db.sync.begin() as conn:
        return create_segment(conn, tenant.id, definition).id


def compute(
    services: Services, tenant: Tenant, day: date = D, ids: list[int] | None = None
) -> list[Computed]:
    return asyncio.run(compute_segments(services, tenant.id, day, ids))
