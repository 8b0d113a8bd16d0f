"""Export ranges: default dates (to = today, from = 30 days before to), inclusive local dates in the
site's time zone (the tenant's for all sites), a tenant without sites, and a client that hangs up
mid-stream."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.export import stream
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from engine_support import add_site, hit, ingest
from factories import make_token
from test_export import build_world, jsonl

pytestmark = pytest.mark.backends()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit": "10000/minute"})


async def get(client: httpx2.AsyncClient, token: str, **params: str) -> httpx2.Response:
    params = {key.rstrip("_"): value for key, value in params.items()}
    headers = {"Authorization": f"Bearer {token}"}
    return await client.get("/api/v1/export/pageviews", params=params, headers=headers)


def days_ago(now: datetime, days: int, clock: str = "12:00:00") -> str:
    stamp = f"{(now - timedelta(days=days)).date()}T{clock}Z"
    return min(stamp, now.strftime("%Y-%m-%dT%H:%M:%SZ"))  # today before noon: now, not the future


def dated_range(response: httpx2.Response) -> tuple[date, date]:
    """The range the server chose, from its file name `pageviews-<from>-<to>.jsonl`."""
    found = re.fullmatch(
        r'attachment; filename="pageviews-(\d{4}-\d\d-\d\d)-(\d{4}-\d\d-\d\d)\.jsonl"',
        response.headers["content-disposition"],
    )
    assert found is not None, response.headers
    return date.fromisoformat(found[1]), date.fromisoformat(found[2])


async def test_default_range_is_the_30_days_before_today(app: Starlette, client: httpx2.AsyncClient) -> None:
    services: Services = app.state.services
    add_site(services, "acme.test")
    token = make_token(services, "acme")
    now = datetime.now(UTC)  # the events' dates count from here; the server's "today" may be later
    day = {n: (now - timedelta(days=n)).date() for n in (0, 1, 29, 30, 31, 45)}
    ingest(services, [hit(days_ago(now, n), f"/{n}-days-ago", who=n + 1) for n in day])

    def expected(first: date, last: date) -> list[str]:
        return [f"/{n}-days-ago" for n in sorted(day, reverse=True) if first <= day[n] <= last]

    response = await get(client, token)
    first, last = dated_range(response)
    assert last in {now.date(), datetime.now(UTC).date()} and first == last - timedelta(days=30)
    assert [row["pathname"] for row in jsonl(response)] == expected(first, last)
    if last == now.date():  # as it is, but for a test that runs across midnight
        assert expected(first, last) == ["/30-days-ago", "/29-days-ago", "/1-days-ago", "/0-days-ago"]

    to = day[1]  # `from` defaults to 30 days before `to`
    paths = [row["pathname"] for row in jsonl(await get(client, token, to=str(to)))]
    assert paths == ["/31-days-ago", "/30-days-ago", "/29-days-ago", "/1-days-ago"]
    since = str(day[1])  # `to` defaults to today
    assert [row["pathname"] for row in jsonl(await get(client, token, from_=since))] == [
        "/1-days-ago",
        "/0-days-ago",
    ]


async def test_dates_are_local_to_the_site(app: Starlette, client: httpx2.AsyncClient) -> None:
    services: Services = app.state.services
    add_site(services, "kiwi.test", timezone="Pacific/Auckland")  # UTC+13 in February
    add_site(services, "acme.test")  # the tenant's zone: UTC
    token = make_token(services, "acme")
    ingest(
        services,
        [
            hit("2026-02-10T12:00:00Z", "/kiwi", domain="kiwi.test"),  # 2026-02-11 01:00 in Auckland
            hit("2026-02-10T12:00:00Z", "/utc", who=2, domain="acme.test"),
        ],
    )

    async def paths(day: str, site: str | None = None) -> list[str]:
        extra = {"site": site} if site else {}
        response = await get(client, token, from_=day, to=day, **extra)
        return sorted(row["pathname"] for row in jsonl(response))

    assert await paths("2026-02-11", "kiwi.test") == ["/kiwi"]
    assert await paths("2026-02-10", "kiwi.test") == []
    assert await paths("2026-02-10") == ["/kiwi", "/utc"]  # all sites: the tenant's UTC days
    assert await paths("2026-02-11") == []


async def test_a_tenant_without_sites_exports_nothing(app: Starlette, client: httpx2.AsyncClient) -> None:
    services: Services = app.state.services
    with services.db.sync.begin() as conn:
        accounts.create_tenant(conn, "empty")
    token = make_token(services, "empty")
    assert (await get(client, token)).text == ""
    csv = await get(client, token, format="csv")
    assert csv.status_code == 200 and csv.text.startswith("id,visitor_hash,")


async def test_a_client_that_hangs_up_mid_stream(
    live_server: tuple[str, Starlette], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, app = live_server
    world = build_world(app)
    ingest(world.services, [hit(f"2026-02-20T10:{n:02d}:00Z", f"/n{n}", who=n) for n in range(1, 60)])
    monkeypatch.setattr(stream, "CHUNK_ROWS", 5)
    monkeypatch.setattr(stream, "ROWS_PER_WRITE", 5)
    params = {"from": "2026-02-01", "to": "2026-02-28"}
    headers = {"Authorization": f"Bearer {world.acme}"}
    async with httpx2.AsyncClient(base_url=base, timeout=10) as http:
        async with http.stream("GET", "/api/v1/export/pageviews", params=params, headers=headers) as reply:
            first = await anext(reply.aiter_raw())
            assert first.count(b"\n") == 5
        await asyncio.sleep(0.2)  # the server notices, stops reading and frees its connection
        complete = await http.get("/api/v1/export/pageviews", params=params, headers=headers)
    assert complete.status_code == 200 and complete.text.count("\n") == 65
