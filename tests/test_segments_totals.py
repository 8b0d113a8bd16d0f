"""total_members, one definition at every door: the distinct customers in at least one active
segment's latest snapshot (a customer in three segments counts once), answered alike by
GET /api/analytics/overview/, the MCP tool `segments` and the dashboard's Segments tab. The count
is kept per tenant by each computation (segment_totals) and counted anew when the active segments
change (an archive), so it is exact after every change."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.platform.profiles import import_profiles
from analytics_mcp.platform.reports import membership_totals
from analytics_mcp.platform.segments import archive_segment, get_segment
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.platform_schema import segment_totals
from factories import make_token
from segments_support import add_segment, compute
from test_mcp_numbers import http_tools
from test_segments_reports import has, tagged

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The backend's settings, with the MCP endpoint's allowed host for the in-process client."""
    settings.allowed_hosts = ["testserver"]
    settings.allowed_origins = ["http://testserver"]
    return settings


async def doors(app: Starlette, token: str) -> dict[str, Any]:
    """total_members as the overview, the MCP tool and the dashboard tab answer it."""
    async with http_tools(app, token) as (client, http):
        overview = (await http.get("/api/analytics/overview/")).json()
        tool = (await client.call_tool("segments", {})).structured_content
        tab = (await http.get("/dashboard/api/segments")).json()["data"]
    assert tool is not None
    return {"overview": overview["total_members"], "mcp": tool["total_members"], "tab": tab["total_members"]}


def stored(services: Services, tenant_id: int) -> int | None:
    t = segment_totals.c
    with services.events_db.sync.connect() as conn:  # type: ignore[union-attr]
        return conn.execute(select(t.total_members).where(t.tenant_id == tenant_id)).scalar()


async def test_a_customer_in_several_segments_counts_once_at_every_door(app: Starlette) -> None:
    services: Services = app.state.services
    tenant = await asyncio.to_thread(tagged, services)  # p1 p2: a c; p3 p4: a b; p5: b; p6: d
    token = await asyncio.to_thread(make_token, services)
    assert await doors(app, token) == {"overview": 0, "mcp": 0, "tab": 0}  # nothing computed
    seg_a, seg_b, seg_c = [
        await asyncio.to_thread(add_segment, services, tenant, name, has(tag))
        for name, tag in zip("ABC", "abc", strict=True)
    ]
    await asyncio.to_thread(compute, services, tenant)
    # A = p1..p4, B = p3 p4 p5, C = p1 p2: 4 + 3 + 2 = 9 memberships of 5 customers.
    assert await doors(app, token) == {"overview": 5, "mcp": 5, "tab": 5}
    assert stored(services, tenant.id) == 5  # kept by the computation

    with services.db.sync.begin() as conn:
        archive_segment(conn, get_segment(conn, tenant.id, seg_b))  # type: ignore[arg-type]
    assert await membership_totals(services, tenant.id) == (2, 4)  # p5 was only in B
    assert await doors(app, token) == {"overview": 4, "mcp": 4, "tab": 4}

    with services.db.sync.connect() as conn:
        sites = accounts.list_sites(conn, tenant.id)
    await import_profiles(services, tenant.id, sites, [{"user_id": "acme-p6", "traits": {"c": True}}])
    assert await doors(app, token) == {"overview": 4, "mcp": 4, "tab": 4}  # traits count when computed
    await asyncio.to_thread(compute, services, tenant)
    assert await doors(app, token) == {"overview": 5, "mcp": 5, "tab": 5}  # p6 joined C
    assert stored(services, tenant.id) == 5
    assert seg_a != seg_c
