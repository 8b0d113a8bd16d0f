# ruff: noqa: F811  (the world fixture imported from world_copies is redefined as a parameter)
"""GET /api/v1/stats/breakdown: two-dimension rows worked out by hand (visits, pageviews with the
site's hostname, custom events by a property, revenue and conversions), sorting and paging, and
422s naming the field and the rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from conftest import INPUT_RULES, pin_reports
from engine_support import add_site, hit, ingest, purchase, utc
from factories import SAFARI_IPHONE, make_token
from world_copies import db_url, events_url, sqlite_template, world, world_copies, world_copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

NOW = utc("2026-11-20T12:00:00Z")
GOOGLE = "https://www.google.com/"


def at(clock: str) -> str:
    return f"2026-11-18T{clock}Z"


EVENTS = [
    # acme.test: v1 desktop from google, two pages, 120 s
    hit(at("10:00:00"), who=1, referrer=GOOGLE),
    hit(at("10:02:00"), "/pricing", who=1),
    # v2 mobile from google: a bounce
    hit(at("10:00:00"), who=2, referrer=GOOGLE, ua=SAFARI_IPHONE),
    # v3 desktop, direct: a signup (interactive) after 60 s
    hit(at("11:00:00"), who=3),
    hit(at("11:01:00"), who=3, name="signup", props={"plan": "pro"}),
    # v4 mobile, direct: a purchase after 300 s
    hit(at("12:00:00"), "/pricing", who=4, ua=SAFARI_IPHONE),
    purchase(at("12:05:00"), 4, "T1", 49.0, ua=SAFARI_IPHONE),
    # shop.test: v5 desktop, direct, a bounce; v6 desktop from google, a signup after 30 s
    hit(at("10:00:00"), who=5, domain="shop.test"),
    hit(at("10:00:00"), who=6, domain="shop.test", referrer=GOOGLE),
    hit(at("10:00:30"), who=6, domain="shop.test", name="signup", props={"plan": "free"}),
]


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_reports(monkeypatch, NOW)


def world_in(services: Services) -> dict[str, str]:
    add_site(services)
    add_site(services, "shop.test")
    with services.db.sync.begin() as conn:
        acme_signup = accounts.add_goal(conn, "acme.test", "Signup", event="signup").id
        accounts.add_goal(conn, "shop.test", "Signup", event="signup")
    ingest(services, EVENTS)
    return {"token": make_token(services), "acme_signup": acme_signup}


@pytest.fixture(scope="module")
def world_builder() -> Callable[[Services], dict[str, str]]:
    """Built once per backend (world_copies): the tests only read it."""
    return world_in


async def breakdown(client: httpx2.AsyncClient, world: dict[str, str], **params: Any) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {world['token']}"}
    return await client.get("/api/v1/stats/breakdown", params=params, headers=headers)


async def rows(client: httpx2.AsyncClient, world: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await breakdown(client, world, **params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]["rows"]
    return found


async def test_source_by_device(client: httpx2.AsyncClient, world: dict[str, str]) -> None:
    found = await rows(
        client, world, dimensions="source,device", metrics="visitors,visits,bounce_rate,visit_duration"
    )
    assert found == [  # by visitors, ties by the other metrics, then by source and device
        {"source": "direct", "device": "desktop", "visitors": 2, "visits": 2, "bounce_rate": 50.0,
         "visit_duration": 30},  # v3 60 s, v5 a bounce
        {"source": "google", "device": "desktop", "visitors": 2, "visits": 2, "bounce_rate": 0.0,
         "visit_duration": 75},  # v1 120 s, v6 30 s
        {"source": "google", "device": "mobile", "visitors": 1, "visits": 1, "bounce_rate": 100.0,
         "visit_duration": 0},
        {"source": "direct", "device": "mobile", "visitors": 1, "visits": 1, "bounce_rate": 0.0,
         "visit_duration": 300},
    ]  # fmt: skip


async def test_pages_of_several_sites_carry_their_hostname(
    client: httpx2.AsyncClient, world: dict[str, str]
) -> None:
    found = await rows(client, world, dimensions="page", metrics="pageviews,visitors")
    assert found == [
        {"page": "/", "hostname": "acme.test", "pageviews": 3, "visitors": 3},
        {"page": "/", "hostname": "shop.test", "pageviews": 2, "visitors": 2},
        {"page": "/pricing", "hostname": "acme.test", "pageviews": 2, "visitors": 2},
    ]
    one_site = await rows(client, world, dimensions="page", metrics="pageviews", site="acme.test")
    assert one_site == [{"page": "/", "pageviews": 3}, {"page": "/pricing", "pageviews": 2}]


async def test_custom_events_by_property_and_device(
    client: httpx2.AsyncClient, world: dict[str, str]
) -> None:
    found = await rows(client, world, dimensions="event,prop:plan", metrics="events,visitors")
    assert found == [
        {"event": "signup", "prop:plan": "free", "events": 1, "visitors": 1},
        {"event": "signup", "prop:plan": "pro", "events": 1, "visitors": 1},
    ]
    by_device = await rows(client, world, dimensions="event,device", metrics="events", sort="events")
    assert by_device == [{"event": "signup", "device": "desktop", "events": 2}]


async def test_revenue_and_conversions(client: httpx2.AsyncClient, world: dict[str, str]) -> None:
    revenue = await rows(client, world, dimensions="hostname", metrics="revenue,visits")
    assert revenue == [
        {"hostname": "acme.test", "revenue": 49.0, "visits": 4},
        {"hostname": "shop.test", "revenue": 0.0, "visits": 2},
    ]
    goal = world["acme_signup"]
    found = await rows(client, world, dimensions="device", metrics="conversions,visitors", goal=goal)
    assert found == [
        {"device": "desktop", "conversions": 1, "visitors": 4},
        {"device": "mobile", "conversions": 0, "visitors": 2},
    ]
    by_name = await rows(
        client, world, dimensions="device", metrics="conversions", goal="Signup", site="acme.test"
    )
    assert by_name[0] == {"device": "desktop", "conversions": 1}


async def test_sort_limit_and_offset(client: httpx2.AsyncClient, world: dict[str, str]) -> None:
    first = (await breakdown(client, world, dimensions="source,device", sort="visitors", limit=3)).json()[
        "data"
    ]
    assert [(r["source"], r["device"], r["visitors"]) for r in first["rows"]] == [
        ("direct", "mobile", 1),
        ("google", "mobile", 1),
        ("direct", "desktop", 2),
    ]
    assert (first["truncated"], first["offset"], first["sort"]) == (True, 0, "visitors")
    rest = (
        await breakdown(client, world, dimensions="source,device", sort="visitors", limit=3, offset=3)
    ).json()
    assert [(r["source"], r["device"]) for r in rest["data"]["rows"]] == [("google", "desktop")]
    assert rest["data"]["truncated"] is False
    assert rest["data"]["range"]["sites"] == ["acme.test", "shop.test"]


@INPUT_RULES
@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"dimensions": "colour"}, "dimensions", "string should match pattern"),
        ({"dimensions": "page,source,device"}, "dimensions", "string should match pattern"),
        ({"dimensions": "page", "metrics": "bounce_rate"}, "metrics", "bounce_rate is not available here"),
        ({"dimensions": "event", "metrics": "pageviews"}, "metrics", "with event or prop: the rows"),
        ({"dimensions": "device", "metrics": "visitors", "sort": "-visits"}, "sort", "one of the chosen"),
        ({"dimensions": "device", "offset": "-1"}, "offset", "greater than or equal to 0"),
        ({"dimensions": "device", "metrics": "conversions"}, "goal", "needs a goal"),
        ({"dimensions": "device", "metrics": "conversions", "goal": "Signup"}, "goal", "2 goals are named"),
        ({"dimensions": "device", "filters": "colour==red"}, "filters", ""),
    ],
)
async def test_bad_arguments_are_422s_naming_the_field(
    client: httpx2.AsyncClient, world: dict[str, str], params: dict[str, str], field: str, words: str
) -> None:
    response = await breakdown(client, world, **params)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert words.lower() in errors[field][0].lower()


async def test_an_unknown_goal_is_a_404(client: httpx2.AsyncClient, world: dict[str, str]) -> None:
    response = await breakdown(client, world, dimensions="device", metrics="conversions", goal="nope")
    assert response.status_code == 404
    assert response.json()["message"] == "Goal not found."


async def test_top_pages_of_several_sites_carry_their_hostname(
    client: httpx2.AsyncClient, world: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {world['token']}"}
    both = (await client.get("/api/v1/stats/pages", headers=headers)).json()["data"]
    assert [(r["pathname"], r["hostname"], r["pageviews"]) for r in both] == [
        ("/", "acme.test", 3),
        ("/", "shop.test", 2),
        ("/pricing", "acme.test", 2),
    ]
    one = (await client.get("/api/v1/stats/pages", params={"site": "shop.test"}, headers=headers)).json()
    assert one["data"] == [{"pathname": "/", "visitors": 2, "pageviews": 2, "avg_duration": None}]
