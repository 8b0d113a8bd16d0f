"""GET /dashboard/api/segments (the Segments tab's one read) on every backend: its four parts equal
GET /api/analytics/activations/ and /usage/ and the segment reports behind /segments/ and
/overlap/, usage is null where /usage/ answers 404, and a second tenant's segments, connectors and
logs never appear (marker strings). "Now" pinned through platform_analytics.analytics_now."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.platform.reports import overlap_pairs, segments_with_trend
from analytics_mcp.services import Services
from factories import make_site, make_token
from platform_support import subscribe
from test_dashboard_segments_browser import MARKER, TODAY, pinned, seed_tenant

__all__ = ["pinned"]  # the fixture
pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")


async def read(client: httpx2.AsyncClient, token: str, path: str) -> tuple[int, Any]:
    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


async def test_the_tab_reads_what_the_endpoints_answer(
    app: Starlette, client: httpx2.AsyncClient, pinned: None
) -> None:
    services: Services = app.state.services
    tenant, _ = make_site(services)
    rival, _ = make_site(services, "rival", "rival.test")
    token = make_token(services)
    status, tab = await read(client, token, "/dashboard/api/segments")
    assert status == 200, tab
    assert tab["data"] == {
        "total_members": 0,
        "segments": [],
        "overlap": [],
        "activations": [],
        "usage": None,
    }
    assert (await read(client, token, "/api/analytics/usage/"))[0] == 404

    await seed_tenant(services, tenant, ("High LTV Buyers", "Newsletter subscribers"), "")
    await seed_tenant(services, rival, (MARKER, f"{MARKER} two"), "zz-rival-")
    subscribe(services, tenant.id, "starter", date(2026, 5, 1), date(2026, 5, 31), segments=3, users=20)
    subscribe(services, rival.id, "pro", date(2026, 5, 1), date(2026, 5, 31))
    status, tab = await read(client, token, "/dashboard/api/segments")
    assert status == 200, tab
    data = tab["data"]
    assert data["segments"] == await segments_with_trend(services, tenant.id, TODAY)
    assert [(s["member_count"], [p["count"] for p in s["trend"]]) for s in data["segments"]] == [
        (4, [2, 3, 4, 4]), (3, [1, 2, 3, 3]), (0, [])
    ]  # fmt: skip
    assert (
        data["total_members"] == (await read(client, token, "/api/analytics/overview/"))[1]["total_members"]
    )
    assert data["overlap"] == await overlap_pairs(services, tenant.id)
    assert [(p["overlap"], p["overlap_pct"]) for p in data["overlap"]] == [(2, 66.7)]
    assert data["activations"] == (await read(client, token, "/api/analytics/activations/"))[1]
    assert [a["success_rate"] for a in data["activations"]] == [75]
    assert data["usage"] == (await read(client, token, "/api/analytics/usage/"))[1]
    assert data["usage"]["segments"] == {"used": 3, "limit": 3}
    assert MARKER not in str(tab) and "zz-rival" not in str(tab)
