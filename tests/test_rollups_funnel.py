"""The funnel read from funnel_visitors: a visitor whose funnel crosses local midnight (a range
edge) is replayed within the range, exactly as the raw SQL counts it; the writer keeps depth counts
as a visitor goes deeper, and a rebuild from raw gives the same rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from analytics_mcp import engine
from analytics_mcp.engine.store import raw_tables
from analytics_mcp.rollups.funnel import depth
from analytics_mcp.rollups.rebuild import rebuild_rollups
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import funnel_depths, funnel_visitors
from engine_support import add_site, hit, ingest, purchase, utc

pytestmark = pytest.mark.backends()

NOW = "2026-11-12T12:00:00Z"


def test_depth_follows_the_order_and_the_range() -> None:
    assert depth([(0, 10), (1, 20), (2, 30), (3, 40)]) == 4
    assert depth([(1, 5), (0, 10), (2, 30)]) == 1  # the cart came before the first view
    assert depth([(0, 10), (1, 10), (2, 10), (3, 10)]) == 4  # same instant counts ("at or after")
    assert depth([(0, 10), (1, 20), (2, 30), (3, 40)], start_ms=15) == 0  # view outside the range
    assert depth([(0, 10), (1, 20), (2, 30), (3, 40)], end_ms=30) == 2


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        ("2026-11-10", "2026-11-10", [2, 1, 0, 0]),  # Berlin: visitor 1 views and carts before midnight
        (
            "2026-11-11",
            "2026-11-11",
            [1, 0, 0, 0],
        ),  # after midnight only visitor 2's view; 1's steps lack a view
        ("2026-11-10", "2026-11-11", [2, 1, 1, 1]),
        ("2026-11-09", "2026-11-12", [2, 1, 1, 1]),
    ],
)
async def test_funnel_across_local_midnight(
    services: Services, date_from: str, date_to: str, expected: list[int]
) -> None:
    tenant, _ = add_site(services, tenant_timezone="Europe/Berlin")
    ingest(
        services,
        [
            hit("2026-11-10T22:40:00Z", "/p/1", who=1, name="view_item"),  # 23:40 local
            hit("2026-11-10T22:50:00Z", "/p/1", who=1, name="add_to_cart"),
            hit("2026-11-10T23:05:00Z", "/checkout", who=1, name="begin_checkout"),  # 00:05 local
            purchase("2026-11-10T23:10:00Z", who=1, tx="T1", amount=10.0),
            hit("2026-11-10T12:00:00Z", "/p/2", who=2, name="view_item"),
            hit("2026-11-10T23:30:00Z", "/p/2", who=2, name="view_item"),  # a new visit, next local day
        ],
    )
    query = await engine.query_for_tenant(
        services.db, tenant, now=utc(NOW), date_from=date_from, date_to=date_to
    )
    rolled = await engine.funnel(services.db, query)
    with raw_tables():
        raw = await engine.funnel(services.db, query)
    assert [step.visitors for step in rolled.rows] == expected
    assert rolled == raw


def test_writer_moves_depth_counts_and_rebuild_agrees(services: Services) -> None:
    add_site(services)
    ingest(services, [hit("2026-11-10T10:00:00Z", "/p", who=1, name="view_item")])
    ingest(services, [hit("2026-11-10T10:01:00Z", "/p", who=1, name="add_to_cart")])
    ingest(services, [hit("2026-11-10T10:02:00Z", "/p", who=2, name="add_to_cart")])
    ingest(services, [hit("2026-11-10T10:03:00Z", "/q", who=1, name="view_item")])  # depth stays 2

    def tables() -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
        with services.db.sync.connect() as conn:
            fv = funnel_visitors.c
            visitors = conn.execute(select(fv.first_day, fv.last_day, fv.depth).order_by(fv.depth)).all()
            fd = funnel_depths.c
            depths = conn.execute(select(fd.depth, fd.n).where(fd.n != 0).order_by(fd.depth)).all()
        return [tuple(r) for r in visitors], [tuple(r) for r in depths]

    written = tables()
    assert [d for d in written[1]] == [(0, 1), (2, 1)]  # visitor 1 moved from depth 1 to 2
    with services.db.sync.begin() as conn:
        rebuild_rollups(conn)
    assert tables() == written
