# ruff: noqa: F811  (the world fixture imported from world_copies is redefined as a parameter)
"""REST stats, e-commerce and goals routes: docs/api.md shapes, validation errors naming the field,
auth, and cross-tenant isolation (another tenant's marked data never shows)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from conftest import INPUT_RULES, pin_reports
from engine_support import add_site, hit, ingest, purchase
from factories import make_token
from world_copies import db_url, events_url, sqlite_template, world, world_copies, world_copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

# The events are dated from this moment (yesterday: inside the default 7d), and the reports read
# their periods as of it too (`as_of_import`), however long the suite has been running.
IMPORTED_AT = datetime.now(UTC)
DAY = (IMPORTED_AT - timedelta(days=1)).date().isoformat()
MARKER = "secret-marker"


def at(clock: str) -> str:
    return f"{DAY}T{clock}Z"


def item(name: str, price: float, quantity: int = 1) -> dict[str, Any]:
    return {"item_id": name, "item_name": name, "price": price, "quantity": quantity}


ACME_EVENTS = [
    hit(at("10:00:00"), "/?utm_source=newsletter&utm_medium=email&utm_campaign=feb", who=1, language="de-DE"),
    hit(at("10:01:00"), "/signup", who=1),
    hit(at("10:02:00"), "/p/a", who=1, name="view_item"),
    hit(at("10:03:00"), "/p/a", who=1, name="add_to_cart"),
    hit(at("10:04:00"), "/cart", who=1, name="begin_checkout"),
    purchase(at("10:05:00"), 1, "T1", 49.0, items=[item("Pro Plan", 49.0)]),
    hit(at("11:00:00"), "/pricing", who=2, referrer="https://www.google.com/"),
]


def rival_events(domain: str) -> list[dict[str, Any]]:
    marked = f"/{MARKER.upper()}?utm_source={MARKER}&utm_campaign={MARKER.upper()}"
    return [
        hit(
            at("09:00:00"), marked, who=7, domain=domain, referrer=f"https://{MARKER}.example/", language="fi"
        ),
        hit(at("09:01:00"), f"/{MARKER}/signup", who=7, domain=domain),
        purchase(at("09:02:00"), 7, "R1", 999.0, items=[item(f"{MARKER} product", 999.0)], domain=domain),
    ]


@pytest.fixture(autouse=True)
def as_of_import(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_reports(monkeypatch, IMPORTED_AT)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit": "10000/minute"})


def world_in(services: Services) -> dict[str, str]:
    """Tenant acme (acme.test) and tenant rival (rival.test, marked data); tokens and goal ids."""
    add_site(services)
    add_site(services, "rival.test", slug="rival")
    with services.db.sync.begin() as conn:
        signup = accounts.add_goal(conn, "acme.test", "Signup", path="/signup").id
        rival_goal = accounts.add_goal(conn, "rival.test", f"{MARKER} goal", path=f"/{MARKER}/signup").id
    ingest(services, ACME_EVENTS)
    ingest(services, rival_events("rival.test"))
    return {"token": make_token(services), "signup": signup, "rival_goal": rival_goal}


@pytest.fixture(scope="module")
def world_builder() -> Callable[[Services], dict[str, str]]:
    """Built once per backend (world_copies): the tests only read it."""
    return world_in


async def get(client: httpx2.AsyncClient, token: str, path: str, **params: Any) -> httpx2.Response:
    return await client.get(f"/api/v1{path}", params=params, headers={"Authorization": f"Bearer {token}"})


ROW_SHAPES = {
    "/stats/timeseries": {"date", "visitors", "pageviews"},
    "/stats/pages": {"pathname", "visitors", "pageviews", "avg_duration"},
    "/stats/referrers": {"referrer_source", "referrer", "visitors"},
    "/stats/browsers": {"browser", "visitors"},
    "/stats/operating-systems": {"os", "visitors"},
    "/stats/devices": {"device_type", "visitors"},
    "/stats/languages": {"language", "visitors"},
    "/stats/countries": {"country", "visitors", "visits", "pageviews"},
    "/stats/campaigns": {"utm_source", "utm_medium", "utm_campaign", "visitors", "pageviews"},
    "/stats/ecommerce/revenue-timeseries": {"date", "revenue", "transactions"},
    "/stats/ecommerce/products": {"item_name", "revenue", "quantity", "orders"},
    "/stats/ecommerce/funnel": {"step", "label", "visitors", "dropoff_rate"},
    "/stats/ecommerce/revenue-by-source": {"source", "revenue", "transactions"},
    "/goals": {"id", "name", "type", "config", "is_active", "created_at", "updated_at"},
}
OBJECT_SHAPES = {
    "/stats/overview": {
        "visitors", "pageviews", "bounce_rate", "avg_duration",
        "visitors_change", "pageviews_change", "bounce_rate_change", "avg_duration_change",
    },
    "/stats/ecommerce/overview": {
        "revenue", "transactions", "avg_order_value", "conversion_rate",
        "revenue_change", "transactions_change", "avg_order_value_change", "conversion_rate_change",
    },
}  # fmt: skip
STATS_PATHS = [*OBJECT_SHAPES, *(p for p in ROW_SHAPES if p != "/goals")]
LIMITED_PATHS = [
    "/stats/pages", "/stats/referrers", "/stats/browsers", "/stats/operating-systems", "/stats/languages",
    "/stats/countries", "/stats/campaigns", "/stats/ecommerce/products", "/stats/ecommerce/revenue-by-source",
]  # fmt: skip


@pytest.mark.parametrize("path", list(ROW_SHAPES))
async def test_list_routes_answer_seed_rows(
    client: httpx2.AsyncClient, world: dict[str, str], path: str
) -> None:
    response = await get(client, world["token"], path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"} and body["data"], body
    assert all(set(row) == ROW_SHAPES[path] for row in body["data"]), body["data"]


@pytest.mark.parametrize("path", list(OBJECT_SHAPES))
async def test_object_routes_answer_seed_fields(
    client: httpx2.AsyncClient, world: dict[str, str], path: str
) -> None:
    response = await get(client, world["token"], path)
    assert response.status_code == 200, response.text
    assert OBJECT_SHAPES[path] <= set(response.json()["data"])


async def test_numbers_through_rest(client: httpx2.AsyncClient, world: dict[str, str]) -> None:
    token = world["token"]
    overview = (await get(client, token, "/stats/overview", **{"from": DAY, "to": DAY})).json()["data"]
    assert (overview["visitors"], overview["pageviews"], overview["bounce_rate"]) == (2, 3, 50.0)
    assert overview["avg_duration"] == 150  # (300 + 0) / 2
    commerce = (await get(client, token, "/stats/ecommerce/overview")).json()["data"]
    assert (commerce["revenue"], commerce["transactions"], commerce["conversion_rate"]) == (49.0, 1, 50.0)
    assert (commerce["currency"], commerce["warnings"]) == ("EUR", [])
    referrers = (await get(client, token, "/stats/referrers")).json()["data"]
    assert {(r["referrer_source"], r["referrer"]) for r in referrers} == {
        ("newsletter", None),
        ("google", "www.google.com"),
    }
    series = (await get(client, token, "/stats/timeseries", period="24h")).json()["data"]
    assert len(series) == 24
    pages = (await get(client, token, "/stats/pages", limit=1, filters="page==/signup")).json()["data"]
    assert pages == [{"pathname": "/signup", "visitors": 1, "pageviews": 1, "avg_duration": None}]
    funnel = (await get(client, token, "/stats/ecommerce/funnel")).json()["data"]
    assert [s["visitors"] for s in funnel] == [1, 1, 1, 1]


async def test_goal_completions(client: httpx2.AsyncClient, world: dict[str, str]) -> None:
    response = await get(client, world["token"], f"/goals/{world['signup']}/completions")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"] == {"goal": {"id": world["signup"], "name": "Signup", "type": "url"}, "total": 1}
    [row] = body["data"]
    assert set(row) == {"id", "goal_id", "visitor_hash", "pageview_id", "created_at"}
    assert row["created_at"] == f"{DAY}T10:01:00Z" and row["goal_id"] == world["signup"]


BAD_PARAMS: list[tuple[dict[str, Any], str]] = [
    ({"period": "1y"}, "period"),
    ({"from": f"{DAY[:4]}-13-01", "to": DAY}, "from"),
    ({"from": "yesterday", "to": DAY}, "from"),
    ({"from": DAY, "to": "2001-01-01"}, "from"),  # from after to
    ({"to": DAY}, "to"),
    ({"from": DAY}, "to"),
    ({"from": "2015-01-01", "to": DAY}, "to"),  # longer than the maximum range
    ({"filters": "colour==red"}, "filters"),
    ({"filters": "page"}, "filters"),
]


@INPUT_RULES
@pytest.mark.parametrize("path", [*STATS_PATHS, "/goals/{goal}/completions"])
async def test_every_parameter_error_names_its_field(
    client: httpx2.AsyncClient, world: dict[str, str], path: str
) -> None:
    path = path.replace("{goal}", world["signup"])
    cases = BAD_PARAMS + (
        [({"limit": 0}, "limit"), ({"limit": "ten"}, "limit")] if path in LIMITED_PATHS else []
    )
    if path in LIMITED_PATHS:
        cases.append(({"limit": 101}, "limit"))
    if "completions" in path:
        cases += [({"limit": 1001}, "limit"), ({"limit": 0}, "limit")]
    for params, field in cases:
        response = await get(client, world["token"], path, **params)
        assert response.status_code == 422, (path, params, response.text)
        body = response.json()
        assert set(body["errors"]) == {field}, (path, params, body)
        assert body["message"].startswith(f"{field}: ")


async def test_goals_site_param_is_validated(client: httpx2.AsyncClient, world: dict[str, str]) -> None:
    response = await get(client, world["token"], "/goals", site="nowhere.test")
    assert (response.status_code, response.json()) == (
        404,
        {"message": "Site not found.", "code": "not_found"},
    )


async def test_another_tenants_data_never_appears(
    client: httpx2.AsyncClient, world: dict[str, str], app: Starlette
) -> None:
    token = world["token"]
    for path in [*STATS_PATHS, "/goals", f"/goals/{world['signup']}/completions"]:
        for params in ({}, {"period": "30d"}, {"from": DAY, "to": DAY}, {"period": "24h"}):
            response = await get(client, token, path, **params)
            assert response.status_code == 200, (path, response.text)
            assert MARKER not in response.text.lower(), (path, response.text)
    overview = (await get(client, token, "/stats/overview")).json()["data"]
    assert overview["visitors"] == 2
    commerce = (await get(client, token, "/stats/ecommerce/overview")).json()["data"]
    assert commerce["revenue"] == 49.0
    # the marked data is really there, for its own tenant
    rival = make_token(app.state.services, "rival")
    assert MARKER in (await get(client, rival, "/stats/pages")).text.lower()


async def test_another_tenants_site_and_goal_look_like_missing_ones(
    client: httpx2.AsyncClient, world: dict[str, str]
) -> None:
    token = world["token"]
    for path in [*STATS_PATHS, "/goals", f"/goals/{world['signup']}/completions"]:
        theirs = await get(client, token, path, site="rival.test")
        unknown = await get(client, token, path, site="nowhere.test")
        assert theirs.status_code == unknown.status_code == 404, path
        assert theirs.json() == unknown.json() == {"message": "Site not found.", "code": "not_found"}
    theirs = await get(client, token, f"/goals/{world['rival_goal']}/completions")
    unknown = await get(client, token, "/goals/01JMABC123DEF456GHJ789KMNP/completions")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()


async def test_stats_need_a_read_token(
    client: httpx2.AsyncClient, world: dict[str, str], app: Starlette
) -> None:
    anonymous = await client.get("/api/v1/stats/overview")
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    ingest_only = make_token(app.state.services, scopes=("ingest",))
    assert (await get(client, ingest_only, "/stats/pages")).status_code == 403
