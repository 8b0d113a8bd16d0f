"""E-commerce and goals through the real pipeline: currencies, dedup, ordered funnel, products,
revenue by source, comparisons, conversion rates and completions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from analytics_mcp import engine
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_types import Tenant
from engine_support import add_site, ask, hit, ingest, metrics, purchase, rows

pytestmark = pytest.mark.backends()

NOW = "2026-11-20T12:00:00Z"  # 7d = 2026-11-14 .. 20; previous = 2026-11-07 .. 13
GOOGLE = "https://www.google.com/"


def item(name: str, price: float, quantity: int = 1) -> dict[str, object]:
    return {"item_id": name.lower(), "item_name": name, "price": price, "quantity": quantity}


SHOP = [
    # previous period: one EUR 50 purchase among two visitors
    hit("2026-11-10T09:00:00Z", who=6),
    purchase("2026-11-10T09:05:00Z", 6, "T0", 50.0, items=[item("A", 50.0)]),
    hit("2026-11-10T10:00:00Z", who=7),
    # buyer 1 (from google): the whole funnel in order
    hit("2026-11-18T09:59:00Z", who=1, referrer=GOOGLE),
    hit("2026-11-18T10:00:00Z", "/p/a", who=1, name="view_item"),
    hit("2026-11-18T10:01:00Z", "/p/a", who=1, name="add_to_cart"),
    hit("2026-11-18T10:02:00Z", "/cart", who=1, name="begin_checkout"),
    purchase("2026-11-18T10:03:00Z", 1, "T1", 49.9, items=[item("A", 49.9)]),
    purchase("2026-11-18T10:04:00Z", 1, "T1", 49.9, items=[item("A", 49.9)]),  # retry: stored once
    # buyer 2 (direct): skips begin_checkout, so the purchase is not a funnel step 4
    hit("2026-11-18T11:00:00Z", "/p/a", who=2, name="view_item"),
    hit("2026-11-18T11:01:00Z", "/p/a", who=2, name="add_to_cart"),
    purchase("2026-11-18T11:05:00Z", 2, "T2", 100.0, items=[item("A", 20.0, 2), item("B", 60.0)]),
    # buyer 3 (direct): pays in USD, then views the product (a purchase before view_item)
    purchase("2026-11-18T12:00:00Z", 3, "T3", 30.0, "USD", items=[item("B", 30.0)]),
    hit("2026-11-18T12:05:00Z", "/p/b", who=3, name="view_item"),
    # visitor 4 only views, visitor 5 only reads
    hit("2026-11-18T13:00:00Z", "/p/b", who=4, name="view_item"),
    hit("2026-11-18T14:00:00Z", who=5),
]


@pytest.fixture
async def shop(services: Services) -> AsyncIterator[Tenant]:
    tenant, _ = add_site(services)
    ingest(services, SHOP, duplicates=1)
    yield tenant
    await services.db.aio.dispose()


async def test_ecommerce_overview(services: Services, shop: Tenant) -> None:
    report = await ask(services, shop, engine.ecommerce_overview, now=NOW)
    assert metrics(report, "revenue", "transactions", "avg_order_value", "conversion_rate") == (
        149.9,
        3,
        74.95,
        60.0,
    )
    assert (report.visitors, report.purchasing_visitors, report.currency) == (5, 3, "EUR")
    assert report.warnings == [
        "1 purchase in USD counted as transactions but left out of revenue (reporting currency EUR)"
    ]
    assert report.revenue_change == 199.8  # 149.90 vs 50.00
    assert report.transactions_change == 200.0  # 3 vs 1
    assert report.avg_order_value_change == 49.9  # 74.95 vs 50.00
    assert report.conversion_rate_change == 10.0  # percentage points: 60.0 - 50.0


async def test_revenue_timeseries(services: Services, shop: Tenant) -> None:
    series = await ask(services, shop, engine.revenue_timeseries, now=NOW)
    assert [(r.date, r.revenue, r.transactions) for r in series.rows if r.transactions] == [
        ("2026-11-18", 149.9, 3)
    ]
    assert len(series.rows) == 7 and series.warnings


async def test_funnel_is_ordered(services: Services, shop: Tenant) -> None:
    funnel = await ask(services, shop, engine.funnel, now=NOW)
    assert rows(funnel, "step", "label", "visitors", "dropoff_rate") == [
        ("view_item", "View Product", 4, 0.0),
        ("add_to_cart", "Add to Cart", 2, 50.0),
        ("begin_checkout", "Begin Checkout", 1, 50.0),
        ("purchase", "Purchase", 1, 0.0),
    ]


async def test_products_count_other_currencies_in_quantity_only(services: Services, shop: Tenant) -> None:
    report = await ask(services, shop, engine.products, now=NOW)
    assert rows(report, "item_name", "revenue", "quantity", "orders") == [
        ("A", 89.9, 3, 2),
        ("B", 60.0, 2, 2),
    ]
    assert report.warnings and report.truncated is False
    one = await ask(services, shop, engine.products, now=NOW, limit=1)
    assert (rows(one, "item_name"), one.truncated) == ([("A",)], True)


async def test_revenue_by_source(services: Services, shop: Tenant) -> None:
    report = await ask(services, shop, engine.revenue_by_source, now=NOW)
    assert rows(report, "source", "revenue", "transactions") == [("direct", 100.0, 2), ("google", 49.9, 1)]


async def test_filters_apply_to_ecommerce(services: Services, shop: Tenant) -> None:
    overview = await ask(services, shop, engine.ecommerce_overview, now=NOW, filters="source==google")
    assert metrics(overview, "revenue", "transactions", "conversion_rate", "warnings") == (49.9, 1, 100.0, [])
    funnel = await ask(services, shop, engine.funnel, now=NOW, filters="source==google")
    assert [r.visitors for r in funnel.rows] == [1, 1, 1, 1]
    products = await ask(services, shop, engine.products, now=NOW, filters="source!=google")
    assert rows(products, "item_name", "revenue", "quantity") == [("B", 60.0, 2), ("A", 40.0, 2)]
    # page: the visits with a pageview of / (buyer 1 and visitor 5); view_item events are no pageviews
    paged = await ask(services, shop, engine.ecommerce_overview, now=NOW, filters="page==/")
    assert metrics(paged, "revenue", "transactions", "visitors", "purchasing_visitors") == (49.9, 1, 2, 1)
    assert paged.conversion_rate == 50.0
    assert (await ask(services, shop, engine.funnel, now=NOW, filters="page==/p/b")).rows[0].visitors == 0


async def test_empty_shop(services: Services) -> None:
    tenant, _ = add_site(services)
    report = await ask(services, tenant, engine.ecommerce_overview, now=NOW)
    assert metrics(report, "revenue", "transactions", "avg_order_value", "conversion_rate") == (
        0.0,
        0,
        0.0,
        0.0,
    )
    assert (report.revenue_change, report.conversion_rate_change, report.warnings) == (None, None, [])
    funnel = await ask(services, tenant, engine.funnel, now=NOW)
    assert [(r.visitors, r.dropoff_rate) for r in funnel.rows] == [(0, 0.0)] * 4
    await services.db.aio.dispose()


@pytest.fixture
async def goals(services: Services) -> AsyncIterator[tuple[Tenant, dict[str, str]]]:
    tenant, _ = add_site(services)
    with services.db.sync.begin() as conn:
        ids = {
            "signup": accounts.add_goal(conn, "acme.test", "Signup", path="/signup").id,
            "newsletter": accounts.add_goal(conn, "acme.test", "Newsletter", event="newsletter_signup").id,
            "docs": accounts.add_goal(conn, "acme.test", "Docs", path="/docs", match_type="prefix").id,
        }
    ingest(
        services,
        [
            hit("2026-11-18T10:00:00Z", "/signup", who=11, referrer=GOOGLE),
            hit("2026-11-18T10:01:00Z", "/signup", who=11),
            hit("2026-11-18T11:00:00Z", "/docs/intro", who=12),
            hit("2026-11-18T11:01:00Z", "/docs/intro", who=12, name="newsletter_signup"),
            hit("2026-11-18T12:00:00Z", "/", who=13),
            hit("2026-11-01T12:00:00Z", "/signup", who=14),  # before the range
        ],
    )
    yield tenant, ids
    await services.db.aio.dispose()


async def test_goals_report(services: Services, goals: tuple[Tenant, dict[str, str]]) -> None:
    tenant, ids = goals
    report = await ask(services, tenant, engine.goals_report, now=NOW)
    assert report.visitors == 3
    got = {(g.id, g.name, g.type, g.completions, g.visitors, g.conversion_rate) for g in report.goals}
    assert got == {
        (ids["signup"], "Signup", "url", 2, 1, 33.3),
        (ids["newsletter"], "Newsletter", "event", 1, 1, 33.3),
        (ids["docs"], "Docs", "url", 1, 1, 33.3),
    }
    configs = {g.name: g.config for g in report.goals}
    assert configs["Signup"] == {"match_type": "exact", "path": "/signup"}
    assert configs["Newsletter"] == {"event_name": "newsletter_signup"}
    filtered = await ask(services, tenant, engine.goals_report, now=NOW, filters="source==google")
    by_name = {g.name: (g.completions, g.conversion_rate) for g in filtered.goals}
    assert by_name == {"Signup": (2, 100.0), "Newsletter": (0, 0.0), "Docs": (0, 0.0)}


def completions_of(goal_id: str) -> Callable[[Any, engine.Query], Awaitable[engine.GoalCompletions]]:
    return lambda db, query: engine.goal_completions(db, query, goal_id)


async def test_goal_completions(services: Services, goals: tuple[Tenant, dict[str, str]]) -> None:
    tenant, ids = goals
    signup = completions_of(ids["signup"])
    report = await ask(services, tenant, signup, now=NOW)
    assert (report.goal.name, report.total, report.truncated) == ("Signup", 2, False)
    assert [r.created_at for r in report.rows] == ["2026-11-18T10:01:00Z", "2026-11-18T10:00:00Z"]
    first = report.rows[0]
    assert first.goal_id == ids["signup"] and len(first.visitor_hash) == 16 and len(first.pageview_id) == 26
    assert len({r.visitor_hash for r in report.rows}) == 1
    page = await ask(services, tenant, signup, now=NOW, limit=1)
    assert (len(page.rows), page.total, page.truncated) == (1, 2, True)
    month = await ask(services, tenant, signup, now=NOW, period="30d")
    assert month.total == 3


async def test_goal_of_another_tenant_is_not_found(
    services: Services, goals: tuple[Tenant, dict[str, str]]
) -> None:
    _tenant, ids = goals
    other, _ = add_site(services, "other.test", slug="other")
    with pytest.raises(engine.QueryError) as caught:
        await ask(services, other, completions_of(ids["signup"]), now=NOW)
    assert (caught.value.field, caught.value.rule) == ("goal", "not found")
    assert (await ask(services, other, engine.goals_report, now=NOW)).goals == []
