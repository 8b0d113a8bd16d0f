"""The segment reports by hand: trend edge cases (never computed, one day, two days, gaps, the
30-day edge), overlap ties and the min() denominator, total_members; the MCP tools `segments` and
`segment-overlap` over Streamable HTTP with the official client equal the report functions; the
admin API's 201/422/404; a second tenant's segments never appear and its ids answer like ids that
do not exist."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from analytics_mcp.platform.profiles import import_profiles
from analytics_mcp.platform.reports import membership_totals, overlap_pairs, segments_with_trend
from analytics_mcp.platform.segments import archive_segment, get_segment
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_types import Tenant
from engine_support import add_site
from factories import make_token
from segments_support import D, add_segment, compute
from test_mcp_numbers import http_tools, settings

__all__ = ["settings"]  # the fixture: allowed host testserver
pytestmark = pytest.mark.backends("sqlite", "postgresql")

TAGS = {"p1": "ac", "p2": "ac", "p3": "ab", "p4": "ab", "p5": "b", "p6": "d"}


def tagged(services: Services, slug: str = "acme", domain: str = "acme.test") -> Tenant:
    """Profiles p1..p6 with boolean traits a, b, c, d as TAGS says (imported, no events)."""
    tenant, _site = add_site(services, domain, slug=slug)
    with services.db.sync.connect() as conn:
        sites = accounts.list_sites(conn, tenant.id)
    lines = [{"user_id": f"{slug}-{p}", "traits": {t: True for t in tags}} for p, tags in TAGS.items()]
    asyncio.run(import_profiles(services, tenant.id, sites, lines))
    return tenant


def has(tag: str) -> list[dict[str, Any]]:
    return [{"type": "trait", "trait": tag, "op": "equals", "value": True}]


def trend(services: Services, tenant: Tenant) -> dict[str, list[tuple[str, int]]]:
    rows = asyncio.run(segments_with_trend(services, tenant.id, D))
    return {row["name"]: [(p["day"], p["count"]) for p in row["trend"]] for row in rows}


def test_trend_never_one_two_days_and_gaps(services: Services) -> None:
    tenant = tagged(services)
    _never, once, twice, gaps = (
        add_segment(services, tenant, n, has("a")) for n in ("never", "once", "twice", "gaps")
    )
    compute(services, tenant, D, [once, twice, gaps])
    compute(services, tenant, D - timedelta(days=1), [twice])
    for back in (10, 29, 30):  # 30 days back is outside the window of the 30 days ending D
        compute(services, tenant, D - timedelta(days=back), [gaps])
    day = lambda back: (D - timedelta(days=back)).isoformat()  # noqa: E731
    assert trend(services, tenant) == {
        "never": [],
        "once": [],
        "twice": [(day(1), 4), (day(0), 4)],
        "gaps": [(day(29), 4), (day(10), 4), (day(0), 4)],
    }
    rows = {r["name"]: r for r in asyncio.run(segments_with_trend(services, tenant.id, D))}
    assert rows["never"]["member_count"] == 0 and rows["never"]["last_computed_at"] is None
    assert rows["gaps"]["member_count"] == 4 and rows["gaps"]["last_computed_at"].endswith("Z")
    with services.db.sync.connect() as conn:  # an older day computed last leaves the latest as it was
        assert get_segment(conn, tenant.id, gaps).member_count == 4  # type: ignore[union-attr]


def test_overlap_ties_min_denominator_and_totals(services: Services) -> None:
    tenant = tagged(services)
    rival = tagged(services, "rival", "rival.test")
    add_segment(services, rival, "RIVAL-MARKER", has("a"))
    seg_a = add_segment(services, tenant, "A", has("a"))  # p1 p2 p3 p4
    assert asyncio.run(overlap_pairs(services, tenant.id)) == []  # one segment
    seg_d = add_segment(services, tenant, "D", has("d"))  # p6
    compute(services, tenant)
    assert asyncio.run(overlap_pairs(services, tenant.id)) == []  # nothing shared
    seg_b = add_segment(services, tenant, "B", has("b"))  # p3 p4 p5
    seg_c = add_segment(services, tenant, "C", has("c"))  # p1 p2
    compute(services, tenant)
    compute(services, rival)
    pairs = asyncio.run(overlap_pairs(services, tenant.id))
    a_and = {"seg_a_id": seg_a, "seg_a_name": "A", "overlap": 2}
    assert pairs == [  # a tie at 2: lower seg_a_id, then lower seg_b_id first; 2 / min(4, 3) = 66.7 %
        {**a_and, "seg_b_id": seg_b, "seg_b_name": "B", "overlap_pct": 66.7},
        {**a_and, "seg_b_id": seg_c, "seg_b_name": "C", "overlap_pct": 100.0},
    ]
    assert asyncio.run(membership_totals(services, tenant.id)) == (4, 6)  # distinct, not 4 + 1 + 3 + 2
    with services.db.sync.begin() as conn:
        archive_segment(conn, get_segment(conn, tenant.id, seg_c))  # type: ignore[arg-type]
    assert [p["seg_b_id"] for p in asyncio.run(overlap_pairs(services, tenant.id))] == [seg_b]
    assert asyncio.run(membership_totals(services, tenant.id)) == (3, 6)
    assert seg_d not in {p["seg_b_id"] for p in pairs}


async def test_tools_and_admin_api(app: Starlette) -> None:
    services: Services = app.state.services
    tenant = await asyncio.to_thread(tagged, services)
    rival = await asyncio.to_thread(tagged, services, "rival", "rival.test")
    hidden = await asyncio.to_thread(add_segment, services, rival, "RIVAL-MARKER", has("a"))
    admin = {"Authorization": f"Bearer {make_token(services, scopes=('read', 'admin'))}"}
    async with http_tools(app, make_token(services)) as (client, http):
        created = await http.post("/api/v1/segments", json={"name": "A", "rules": has("a")}, headers=admin)
        assert created.status_code == 201, created.text
        seg_a = created.json()["data"]["id"]
        bad = await http.post(
            "/api/v1/segments",
            json={"name": "X", "rules": [{"type": "event", "event": "x", "days": 0}]},
            headers=admin,
        )
        assert bad.status_code == 422 and "rules.0.event.days" in bad.json()["errors"], bad.text
        long_number = [{"type": "trait", "trait": "ltv", "op": "gt", "value": "0" * 600}]  # fuzz finding
        bad = await http.post("/api/v1/segments", json={"name": "X", "rules": long_number}, headers=admin)
        assert bad.status_code == 422, bad.text  # text past 500 characters, never read as 0.0
        assert any(k.startswith("rules.0.trait.value") for k in bad.json()["errors"]), bad.text
        twin = await http.post("/api/v1/segments", json={"name": "a", "rules": has("b")}, headers=admin)
        assert twin.status_code == 422 and "name" in twin.json()["errors"]
        seg_b = (
            await http.post("/api/v1/segments", json={"name": "B", "rules": has("b")}, headers=admin)
        ).json()
        for segment_id in (seg_a, seg_b["data"]["id"]):
            done = await http.post(
                f"/api/v1/segments/{segment_id}/compute", json={"day": str(D)}, headers=admin
            )
            assert done.status_code == 200, done.text
        assert done.json()["data"]["member_count"] == 3
        for path in (f"/api/v1/segments/{hidden}", "/api/v1/segments/99999", "/api/v1/segments/abc"):
            missing = await http.get(path, headers=admin)
            assert (missing.status_code, missing.json()["message"]) == (404, "Segment not found.")
        assert (await http.delete(f"/api/v1/segments/{hidden}", headers=admin)).status_code == 404
        assert (await http.get("/api/v1/segments")).status_code == 403  # read scope only
        listed = (await client.call_tool("segments", {})).structured_content
        assert listed is not None and [s["name"] for s in listed["segments"]] == ["A", "B"]
        assert listed["segments"] == await segments_with_trend(services, tenant.id, D)
        overlap = await client.call_tool("segment-overlap", {})
        assert overlap.structured_content is not None
        assert overlap.structured_content["pairs"] == await overlap_pairs(services, tenant.id)
        assert overlap.structured_content["pairs"][0]["overlap"] == 2
        for result in (listed, overlap.structured_content):
            assert "RIVAL-MARKER" not in str(result)
        other = await client.call_tool("segments", {"tenant": "rival"})
        nowhere = await client.call_tool("segments", {"tenant": "nowhere"})
        assert other.is_error and nowhere.is_error
        assert other.content[0].text.replace("rival", "X") == nowhere.content[0].text.replace("nowhere", "X")  # type: ignore[union-attr]
        extra = await client.call_tool("segment-overlap", {"limit": 3})
        assert extra.is_error
