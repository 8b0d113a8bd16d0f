"""Visitor countries (issue 16 item 4): looked up from the client IP at ingestion, before the IP is
dropped, stored on the visit (its first event's), never the IP. The bundled iptocc database by
default; a MaxMind file when ANALYTICS_GEOIP_DB is set (a tiny one written here with mmdb-writer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from sqlalchemy import select
from starlette.applications import Starlette

from analytics_mcp import engine
from analytics_mcp.engine.store.choice import raw_tables
from analytics_mcp.ingest import geo
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import visits
from engine_support import ask, ingest, rows
from factories import CHROME_WIN, event, make_site, make_token

# Addresses whose country the bundled database gives (long-standing registry and anycast blocks).
KNOWN = {
    "8.8.8.8": "US",  # Google Public DNS
    "193.0.6.139": "NL",  # RIPE NCC, Amsterdam
    "81.2.69.160": "GB",  # MaxMind's own test address
    "217.70.184.38": "FR",  # Gandi, Paris
    "2001:67c:2e8:22::c100:68b": "NL",  # RIPE NCC over IPv6
}
NO_COUNTRY = ("127.0.0.1", "::1", "10.1.2.3", "192.168.0.7", "198.51.100.4", "not an ip", "")


@pytest.fixture(autouse=True)
def fresh_lookup() -> Iterator[None]:
    geo.forget()
    yield
    geo.forget()


def stored_countries(services: Services) -> list[str | None]:
    with services.events_db.sync.connect() as conn:
        return list(conn.execute(select(visits.c.country).order_by(visits.c.id)).scalars())


@pytest.mark.parametrize(("ip", "country"), sorted(KNOWN.items()))
def test_bundled_database_knows_public_addresses(ip: str, country: str) -> None:
    assert geo.country_of(ip) == country


@pytest.mark.parametrize("ip", NO_COUNTRY)
def test_private_loopback_reserved_and_malformed_have_none(ip: str) -> None:
    assert geo.country_of(ip) is None


async def test_tracker_stores_the_client_country_and_not_the_ip(app: Starlette) -> None:
    services: Services = app.state.services
    make_site(services)
    headers = {"User-Agent": CHROME_WIN}
    for n, ip in enumerate(("8.8.8.8", "127.0.0.1")):
        transport = httpx2.ASGITransport(app=app, client=(ip, 1234))
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as http:
            page = {"name": "pageview", "url": f"https://acme.test/{n}", "domain": "acme.test"}
            assert (await http.post("/api/event", json=page, headers=headers)).status_code == 202
    assert stored_countries(services) == ["US", None]
    with services.events_db.sync.connect() as conn:
        stored = [str(tuple(r)) for r in conn.execute(select(visits))]
    assert not any("8.8.8.8" in row or "127.0.0.1" in row for row in stored)


async def test_forwarded_for_from_a_trusted_proxy_decides_the_country(settings: Any) -> None:
    from conftest import behind_proxy

    async with behind_proxy(settings) as (app, http):
        make_site(app.state.services)
        headers = {"User-Agent": CHROME_WIN, "X-Forwarded-For": "6.6.6.6, 193.0.6.139, 10.9.9.9"}
        page = {"name": "pageview", "url": "https://acme.test/", "domain": "acme.test"}
        assert (await http.post("/api/event", json=page, headers=headers)).status_code == 202
        assert stored_countries(app.state.services) == ["NL"]


async def test_batch_endpoint_uses_the_ip_field(app: Starlette, client: httpx2.AsyncClient) -> None:
    services: Services = app.state.services
    make_site(services)
    auth = {"Authorization": f"Bearer {make_token(services, scopes=('ingest',))}"}
    lines = [
        event("2026-11-20T10:00:00Z", "/a", ip="81.2.69.160"),
        event("2026-11-20T10:00:00Z", "/b", ip="::1"),
        event("2026-11-20T10:10:00Z", "/c", ip="2001:67c:2e8:22::c100:68b"),
    ]
    reply = await client.post("/api/v1/events", json=lines, headers=auth)
    assert reply.json()["data"]["accepted"] == 3
    assert sorted(stored_countries(services), key=str) == ["GB", "NL", None]


def test_import_sets_the_visit_country_from_its_first_event(services: Services) -> None:
    make_site(services)
    # One visitor (same IP and browser); a later event of the visit cannot change its country.
    ingest(services, [event("2026-11-20T10:00:00Z", "/", ip="217.70.184.38")])
    assert stored_countries(services) == ["FR"]


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]]) -> Path:
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


def test_geoip_db_overrides_the_bundled_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, services: Services
) -> None:
    path = write_mmdb(
        tmp_path / "countries.mmdb",
        {
            "8.8.8.0/24": {"country": {"iso_code": "SE"}},
            "2001:4860::/32": {"country": {"iso_code": "jp"}},
            "81.2.69.0/24": {"registered_country": {"iso_code": "IE"}},  # no `country`: the owner's
            "193.0.6.0/24": {"continent": {"code": "EU"}},  # neither: unknown
        },
    )
    monkeypatch.setenv("ANALYTICS_GEOIP_DB", str(path))
    geo.forget()
    assert geo.country_of("8.8.8.8") == "SE"
    assert geo.country_of("2001:4860:4860::8888") == "JP"
    assert geo.country_of("81.2.69.160") == "IE"
    assert geo.country_of("193.0.6.139") is None
    assert geo.country_of("217.70.184.38") is None  # not in the file: the bundled one is not asked
    assert geo.country_of("not an ip") is None
    make_site(services)
    ingest(services, [event("2026-11-20T10:00:00Z", ip="8.8.8.8")])
    assert stored_countries(services) == ["SE"]


async def test_countries_report(services: Services) -> None:
    tenant, _ = make_site(services)
    ingest(
        services,
        [
            event("2026-11-20T10:00:00Z", "/", ip="8.8.8.8"),
            event("2026-11-20T10:01:00Z", "/b", ip="8.8.8.8"),
            event("2026-11-20T10:00:00Z", "/", ip="8.8.4.4"),
            event("2026-11-20T10:00:00Z", "/", ip="193.0.6.139"),
            event("2026-11-20T10:00:00Z", "/", ip="10.0.0.1"),
        ],
    )
    fields = ("country", "visitors", "visits", "pageviews")
    report = await ask(services, tenant, engine.countries, now="2026-11-20T12:00:00Z")
    assert rows(report, *fields) == [("US", 2, 2, 3), (None, 1, 1, 1), ("NL", 1, 1, 1)]
    with raw_tables():  # the rollups answered above: the raw tables agree
        assert await ask(services, tenant, engine.countries, now="2026-11-20T12:00:00Z") == report
    only = await ask(services, tenant, engine.countries, now="2026-11-20T12:00:00Z", filters="country==us")
    assert rows(only, *fields) == [("US", 2, 2, 3)]
