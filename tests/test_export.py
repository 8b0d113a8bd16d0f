# ruff: noqa: F811  (the world_copy fixture imported from world_copies is redefined as a parameter)
"""REST export (docs/api.md): rows and field names, CSV == JSONL,
spreadsheet-safe CSV, media types, validation, auth and tenant isolation. Data comes through the
real ingestion pipeline. Helpers here are shared by the other test_export_* modules."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from starlette.applications import Starlette
from ulid import ULID

from analytics_mcp.config import Settings
from analytics_mcp.export.tables import BY_NAME, Table
from analytics_mcp.export.writers import FORMULA_START
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.ids import parse_row_ulid
from conftest import INPUT_RULES
from engine_support import add_site, hit, ingest, purchase
from factories import SAFARI_IPHONE, make_token
from world_copies import WorldCopy, db_url, events_url, sqlite_template, world_copies, world_copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

RANGE = {"from": "2026-02-01", "to": "2026-02-28"}
MARKER = "rivalmarker"
PATHS = {
    "pageviews": "pageviews",
    "goals": "goals",
    "goal_completions": "goal-completions",
    "ecommerce_events": "ecommerce-events",
}
SEED_PAGEVIEW_FIELDS = ["id", "visitor_hash", "hostname", "pathname", "device_type", "duration", "created_at"]
INJECTION = {
    "utm_source": '=HYPERLINK("http://evil.example","x")',
    "utm_medium": "+1",
    "utm_campaign": "-1+1",
    "utm_content": "@SUM(A1:A9)",
    "utm_term": "=cmd|' /C calc'!A0",
}


def item(name: str, price: float, quantity: int = 1, item_id: str | None = None) -> dict[str, Any]:
    return {"item_id": item_id or name.lower(), "item_name": name, "price": price, "quantity": quantity}


IPHONE = SAFARI_IPHONE
SHOE = item("Shoe", 49.99)


def acme_events() -> list[dict[str, Any]]:
    query = urlencode(INJECTION)
    return [
        # visitor 1: newsletter; "/" engaged 45 s (scroll 80 %), "/signup" 60 s by gap, a goal event
        hit(
            "2026-02-10T10:00:00Z",
            "/?utm_source=newsletter&utm_medium=email&utm_campaign=feb&utm_content=hero&utm_term=shoes",
            language="de-DE",
            props={"author": "ann", "logged_in": True},
        ),
        hit("2026-02-10T10:00:50Z", "/", name="engagement", engagement_ms=45_000, scroll_depth=80),
        hit("2026-02-10T10:02:00Z", "/signup"),
        hit("2026-02-10T10:02:30Z", "/signup", name="Signup"),
        hit("2026-02-10T10:03:00Z", "/pricing"),
        # visitor 2: from google on an iPhone, buys
        hit("2026-02-12T11:00:00Z", "/p/shoe", who=2, ua=IPHONE, referrer="https://www.google.com/"),
        hit("2026-02-12T11:00:10Z", "/p/shoe", who=2, ua=IPHONE, name="view_item", items=[SHOE]),
        hit("2026-02-12T11:00:20Z", "/p/shoe", who=2, ua=IPHONE, name="add_to_cart", items=[SHOE]),
        hit("2026-02-12T11:00:30Z", "/cart", who=2, ua=IPHONE, name="begin_checkout"),
        purchase(
            "2026-02-12T11:01:00Z", 2, "TXN-001", 59.98, ua=IPHONE,
            items=[item("Shoe", 49.99), item("Socks, \"wool\"", 4.995, 2, item_id=None)],
        ),
        # visitor 3 on the second site, paying in another currency
        hit("2026-02-14T09:00:00Z", "/", who=3, domain="shop.acme.test", referrer="https://news.ycombinator.com/"),
        purchase("2026-02-14T09:05:00Z", 3, "TXN-002", 10.0, currency="USD", domain="shop.acme.test"),
        # visitor 4: strings built to run as spreadsheet formulas
        hit("2026-02-16T08:00:00Z", f"/landing?{query}", who=4, referrer="https://=evil.example/x",
            props={"note": "=1+1", "tab": "\tx"}),
        purchase("2026-02-16T08:01:00Z", 4, "=1+1", 1.0, items=[item("=SUM(A1)", 1.0, item_id="@id")]),
        purchase("2026-02-16T08:02:00Z", 4, "-2+3", 1.0, items=[item("+x", 1.0, item_id="-1")]),
    ]  # fmt: skip


def rival_events() -> list[dict[str, Any]]:
    return [
        hit("2026-02-11T09:00:00Z", f"/{MARKER}?utm_source={MARKER}", who=7, domain="rival.test"),
        hit("2026-02-11T09:01:00Z", f"/{MARKER}/signup", who=7, domain="rival.test"),
        purchase("2026-02-11T09:02:00Z", 7, f"{MARKER}-tx", 999.0, domain="rival.test",
                 items=[item(f"{MARKER} product", 999.0)]),
    ]  # fmt: skip


@dataclass
class World:
    services: Services
    acme: str  # read token of tenant acme (acme.test, shop.acme.test)
    rival: str  # read token of tenant rival (rival.test)
    goals: dict[str, str]  # goal name -> id


def build_world(app: Starlette) -> World:
    return world_in(app.state.services)


def world_in(services: Services) -> World:
    add_site(services, "acme.test")
    add_site(services, "shop.acme.test", currency="USD")
    add_site(services, "rival.test", slug="rival")
    with services.db.sync.begin() as conn:
        goals = [
            accounts.add_goal(conn, "acme.test", "Signup Page Visit", path="/signup"),
            accounts.add_goal(conn, "acme.test", "Signup", event="Signup"),
            accounts.add_goal(conn, "rival.test", f"{MARKER} goal", path=f"/{MARKER}/signup"),
        ]
    ingest(services, acme_events())
    ingest(services, rival_events())
    return World(
        services,
        make_token(services, "acme"),
        make_token(services, "rival"),
        {goal.name: goal.id for goal in goals},
    )


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit": "10000/minute"})


@pytest.fixture(scope="module")
def world_builder() -> Callable[[Services], World]:
    """What the module's world holds (world_copies; test_export_cursor's holds more traffic)."""
    return world_in


@pytest.fixture
def world(app: Starlette, world_copy: WorldCopy) -> World:
    return on(app, world_copy)


def on(app: Starlette, copy: WorldCopy) -> World:
    """The world as a test's app sees it, started on copies of its databases."""
    return replace(copy.made, services=app.state.services)


async def export(client: httpx2.AsyncClient, token: str, table: str, **params: Any) -> httpx2.Response:
    query = {key.rstrip("_"): value for key, value in params.items()}  # from_ -> from
    if BY_NAME[table].paged:
        query = {**RANGE, **query}
    return await client.get(
        f"/api/v1/export/{PATHS[table]}", params=query, headers={"Authorization": f"Bearer {token}"}
    )


def jsonl(response: httpx2.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def csv_rows(response: httpx2.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.text, newline="")))


async def rows_of(client: httpx2.AsyncClient, token: str, table: str, **params: Any) -> list[dict[str, Any]]:
    return jsonl(await export(client, token, table, **params))


def expected_cell(table: Table, name: str, value: Any) -> Any:
    """What the CSV cell must say for a JSONL value, parsed back to compare like with like."""
    kind = next(column.kind for column in table.columns if column.name == name)
    if value is None:
        return ""
    if kind in ("json", "records"):
        return value  # compared after json.loads of the cell
    if kind == "bool":
        return "true" if value else "false"
    if kind in ("int", "float"):
        return value  # compared after int()/float() of the cell
    return "'" + value if value.startswith(FORMULA_START) else value


def parsed_cell(table: Table, name: str, cell: str) -> Any:
    kind = next(column.kind for column in table.columns if column.name == name)
    if cell == "" or kind in ("string", "timestamp", "bool"):
        return cell
    if kind in ("json", "records"):
        return json.loads(cell)
    return int(cell) if kind == "int" else float(cell)


# -- rows and fields --------------------------------------------------------------------------


async def test_pageviews_carry_the_seed_fields_then_visit_attributes(
    world: World, client: httpx2.AsyncClient
) -> None:
    rows = await rows_of(client, world.acme, "pageviews")
    assert [row["pathname"] for row in rows] == ["/", "/signup", "/pricing", "/p/shoe", "/", "/landing"]
    for row in rows:
        assert list(row) == list(BY_NAME["pageviews"].names)
        assert list(row)[:7] == SEED_PAGEVIEW_FIELDS
        assert re.fullmatch(r"[0-9a-f]{16}", row["visitor_hash"])
        assert re.fullmatch(r"[0-9a-f]{16}", row["session_hash"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["created_at"])
        assert str(ULID.from_str(row["id"]).datetime.isoformat()).startswith(row["created_at"][:19])
    home, signup, pricing, shoe, shop, landing = rows
    assert [home["duration"], signup["duration"], pricing["duration"]] == [45, 60, None]
    assert home["scroll_depth"] == 80 and signup["scroll_depth"] is None
    assert home["props"] == {"author": "ann", "logged_in": True} and signup["props"] is None
    assert {k: home[k] for k in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")} == {
        "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "feb",
        "utm_content": "hero", "utm_term": "shoes",
    }  # fmt: skip
    assert (home["source"], home["channel"], home["language"], home["referrer"]) == (
        "newsletter", "email", "de", None
    )  # fmt: skip
    assert pricing["utm_source"] == "newsletter" and pricing["entry_page"] == "/"  # the visit's
    assert len({home["session_hash"], signup["session_hash"], pricing["session_hash"]}) == 1
    assert home["visitor_hash"] == pricing["visitor_hash"] != shoe["visitor_hash"]
    assert (shoe["device_type"], shoe["browser"], shoe["os"]) == ("mobile", "Safari", "iOS")
    assert (shoe["referrer"], shoe["source"], shoe["channel"]) == (
        "www.google.com",
        "google",
        "organic search",
    )
    assert (shop["hostname"], shop["site"], shop["source"]) == (
        "shop.acme.test",
        "shop.acme.test",
        "hacker news",
    )
    assert (home["hostname"], home["device_type"], home["site"]) == ("acme.test", "desktop", "acme.test")
    assert landing["created_at"] == "2026-02-16T08:00:00Z"


async def test_one_site_only(world: World, client: httpx2.AsyncClient) -> None:
    rows = await rows_of(client, world.acme, "pageviews", site="shop.acme.test")
    assert [(row["site"], row["pathname"]) for row in rows] == [("shop.acme.test", "/")]
    events = await rows_of(client, world.acme, "ecommerce_events", site="shop.acme.test")
    assert [(row["transaction_id"], row["currency"]) for row in events] == [("TXN-002", "USD")]


async def test_goals(world: World, client: httpx2.AsyncClient) -> None:
    rows = await rows_of(client, world.acme, "goals")
    assert [row["name"] for row in rows] == ["Signup Page Visit", "Signup"]
    page, event = rows
    assert page == {
        "id": world.goals["Signup Page Visit"],
        "name": "Signup Page Visit",
        "type": "url",
        "config": {"match_type": "exact", "path": "/signup"},
        "is_active": True,
        "created_at": page["created_at"],
        "site": "acme.test",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", page["created_at"])
    assert (event["type"], event["config"]) == ("event", {"event_name": "Signup"})
    assert await rows_of(client, world.acme, "goals", site="shop.acme.test") == []


async def test_goal_completions_point_at_their_events(world: World, client: httpx2.AsyncClient) -> None:
    completions = await rows_of(client, world.acme, "goal_completions")
    pageviews = {row["id"]: row for row in await rows_of(client, world.acme, "pageviews")}
    assert [row["goal_id"] for row in completions] == [
        world.goals["Signup Page Visit"],
        world.goals["Signup"],
    ]
    page, event = completions
    assert list(page) == list(BY_NAME["goal_completions"].names)
    signup = pageviews[page["pageview_id"]]
    assert signup["pathname"] == "/signup"
    assert (page["visitor_hash"], page["session_hash"], page["created_at"], page["site"]) == (
        signup["visitor_hash"], signup["session_hash"], signup["created_at"], "acme.test"
    )  # fmt: skip
    assert event["pageview_id"] not in pageviews  # the custom event's id
    assert event["created_at"] == "2026-02-10T10:02:30Z"
    assert page["id"] != page["pageview_id"]


async def test_ecommerce_events_with_items(world: World, client: httpx2.AsyncClient) -> None:
    rows = await rows_of(client, world.acme, "ecommerce_events")
    assert [row["event_type"] for row in rows] == [
        "view_item", "add_to_cart", "begin_checkout", "purchase", "purchase", "purchase", "purchase"
    ]  # fmt: skip
    view, cart, checkout, buy = rows[:4]
    assert list(buy) == list(BY_NAME["ecommerce_events"].names)
    assert buy | {"id": None, "visitor_hash": None, "session_hash": None} == {
        "id": None, "visitor_hash": None, "session_hash": None,
        "event_type": "purchase", "transaction_id": "TXN-001", "value": 59.98, "currency": "EUR",
        "items": [
            {"item_id": "shoe", "item_name": "Shoe", "price": 49.99, "quantity": 1},
            {"item_id": "socks, \"wool\"", "item_name": "Socks, \"wool\"", "price": 4.995, "quantity": 2},
        ],
        "created_at": "2026-02-12T11:01:00Z", "site": "acme.test",
    }  # fmt: skip
    assert view["items"] == [{"item_id": "shoe", "item_name": "Shoe", "price": 49.99, "quantity": 1}]
    assert checkout["items"] == [] and checkout["transaction_id"] is None and checkout["value"] is None
    assert len({row["session_hash"] for row in rows[:4]}) == 1
    assert cart["visitor_hash"] == buy["visitor_hash"]


# -- CSV --------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(PATHS))
async def test_csv_parsed_back_equals_the_jsonl_rows(
    world: World, client: httpx2.AsyncClient, table: str
) -> None:
    spec = BY_NAME[table]
    lines = await rows_of(client, world.acme, table)
    response = await export(client, world.acme, table, format="csv")
    assert response.content.count(b"\r\n") >= len(lines) + 1  # RFC 4180 line breaks
    header, *cells = csv_rows(response)
    assert header == list(spec.names)
    assert len(cells) == len(lines) > 0
    for line, row in zip(lines, cells, strict=True):
        assert len(row) == len(header)
        for name, cell in zip(header, row, strict=True):
            assert parsed_cell(spec, name, cell) == expected_cell(spec, name, line[name]), (table, name)


async def test_csv_quotes_commas_quotes_and_line_breaks(world: World, client: httpx2.AsyncClient) -> None:
    ingest(world.services, [hit("2026-02-20T10:00:00Z", "/q?utm_campaign=a,b%20%22c%22%0Ad", who=9)])
    response = await export(
        client, world.acme, "pageviews", format="csv", from_="2026-02-20", to="2026-02-20"
    )
    assert b'"a,b ""c""\nd"' in response.content
    header, row = csv_rows(response)
    assert dict(zip(header, row, strict=True))["utm_campaign"] == 'a,b "c"\nd'


async def test_csv_cells_never_start_a_formula(world: World, client: httpx2.AsyncClient) -> None:
    """Through the real ingestion: UTM tags, referrer, transaction ids, props and product names."""
    starts: set[str] = set()
    for table in PATHS:
        lines = await rows_of(client, world.acme, table)
        header, *cells = csv_rows(await export(client, world.acme, table, format="csv"))
        for line, row in zip(lines, cells, strict=True):
            for name, cell in zip(header, row, strict=True):
                assert not cell.startswith(FORMULA_START), (table, name, cell)
                value = line[name]
                if isinstance(value, str) and value.startswith(FORMULA_START):
                    starts.add(value[0])
                    assert cell == "'" + value
    assert starts == {"=", "+", "-", "@"}
    landing = next(r for r in await rows_of(client, world.acme, "pageviews") if r["pathname"] == "/landing")
    assert {key: landing[key] for key in INJECTION} == INJECTION  # the attack strings did arrive
    assert landing["referrer"] == "=evil.example"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("", ""),
        (None, ""),
        (-1.5, -1.5),  # numbers are ours, typed, and stay numbers
        (True, "true"),
        ({"a": "=1"}, '{"a":"=1"}'),
    ],
)
def test_csv_cell(value: Any, cell: Any) -> None:
    from analytics_mcp.export.writers import csv_cell

    assert csv_cell(value) == cell


# -- HTTP -------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(PATHS))
@pytest.mark.parametrize(
    ("fmt", "media_type"), [("jsonl", "application/x-ndjson"), ("csv", "text/csv; charset=utf-8")]
)
async def test_media_type_and_file_name(
    world: World, client: httpx2.AsyncClient, table: str, fmt: str, media_type: str
) -> None:
    response = await export(client, world.acme, table, format=fmt)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    stem = f"{table}-2026-02-01-2026-02-28" if BY_NAME[table].paged else table
    assert response.headers["content-disposition"] == f'attachment; filename="{stem}.{fmt}"'
    assert response.headers["x-ratelimit-limit"] == "10000"


async def test_jsonl_is_the_default_format(world: World, client: httpx2.AsyncClient) -> None:
    response = await export(client, world.acme, "pageviews")
    assert response.headers["content-type"] == "application/x-ndjson"


def _ulid_of(ts: int, tail: int) -> str:
    return str(ULID.from_int((ts << 80) | tail))


@INPUT_RULES
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "01KHNGNQ80000000000000000!"}, "cursor"),
        ({"cursor": "8ZZZZZZZZZZZZZZZZZZZZZZZZZ"}, "cursor"),  # more than 128 bits
        ({"cursor": _ulid_of(1_771_000_000_000, 1 << 70)}, "cursor"),  # a random ULID, not a row id
        ({"cursor": "x" * 65}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"format": "xml"}, "format"),
        ({"from_": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from_": "2026-02-10", "to": "2026-02-01"}, "from"),
        ({"from_": "2010-01-01", "to": "2026-01-01"}, "to"),  # longer than the engine allows
    ],
)
async def test_invalid_parameters_are_422_naming_the_field(
    world: World, client: httpx2.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await export(client, world.acme, "pageviews", **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"message", "code", "errors"} and field in body["errors"]


async def test_a_cursor_of_row_zero_starts_at_its_time(world: World, client: httpx2.AsyncClient) -> None:
    """Row 0 is before every row (ids start at 1): the page starts at the cursor's time."""
    first = (await export(client, world.acme, "pageviews")).text.splitlines()
    ts, _row = parse_row_ulid(json.loads(first[0])["id"])
    again = await export(client, world.acme, "pageviews", cursor=_ulid_of(ts, 0))
    assert again.status_code == 200 and again.text.splitlines() == first


async def test_a_goal_id_is_not_a_cursor(world: World, client: httpx2.AsyncClient) -> None:
    response = await export(client, world.acme, "goal_completions", cursor=world.goals["Signup"])
    assert response.status_code == 422 and "cursor" in response.json()["errors"]


async def test_format_is_validated_for_goals_too(world: World, client: httpx2.AsyncClient) -> None:
    response = await export(client, world.acme, "goals", format="parquet")
    assert response.status_code == 422 and "format" in response.json()["errors"]


async def test_limit_bounds_are_accepted(world: World, client: httpx2.AsyncClient) -> None:
    assert len(await rows_of(client, world.acme, "pageviews", limit=1)) == 1
    assert len(await rows_of(client, world.acme, "pageviews", limit=10_000)) == 6


@pytest.mark.parametrize("table", list(PATHS))
async def test_auth_and_scope(world: World, client: httpx2.AsyncClient, table: str) -> None:
    missing = await client.get(f"/api/v1/export/{PATHS[table]}")
    assert missing.status_code == 401 and set(missing.json()) == {"message", "code"}
    assert missing.json()["code"] == "unauthorized"
    ingest_only = make_token(world.services, "acme", scopes=("ingest",))
    forbidden = await export(client, ingest_only, table)
    assert forbidden.status_code == 403 and set(forbidden.json()) == {"message", "code"}
    assert forbidden.json()["code"] == "insufficient_scope"


# -- tenant isolation -------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(PATHS))
async def test_another_tenants_site_answers_like_an_unknown_one(
    world: World, client: httpx2.AsyncClient, table: str
) -> None:
    theirs = await export(client, world.acme, table, site="rival.test")
    unknown = await export(client, world.acme, table, site="unknown.test")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json() == {"message": "Site not found.", "code": "not_found"}


@pytest.mark.parametrize("table", list(PATHS))
async def test_no_rows_of_another_tenant(world: World, client: httpx2.AsyncClient, table: str) -> None:
    mine = (await export(client, world.acme, table, format="csv")).text
    theirs = (await export(client, world.rival, table, format="csv")).text
    assert MARKER not in mine
    assert MARKER in theirs or table == "goal_completions"


@pytest.mark.parametrize("table", ["pageviews", "goal_completions", "ecommerce_events"])
async def test_another_tenants_cursor_yields_none_of_their_rows(
    world: World, client: httpx2.AsyncClient, table: str
) -> None:
    theirs = await rows_of(client, world.rival, table)
    assert theirs, table
    mine = {row["id"] for row in await rows_of(client, world.acme, table)}
    for row in theirs:
        after = await rows_of(client, world.acme, table, cursor=row["id"])
        assert {r["id"] for r in after} <= mine
        assert all(r["id"] > row["id"] for r in after)
