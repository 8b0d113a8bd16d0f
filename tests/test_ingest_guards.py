"""What ingestion refuses: another tenant's site with an ingest token, times no report can read,
and one bad event failing the others of its group-commit batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events, sites
from factories import CHROME_WIN, event, make_site, make_token

pytestmark = pytest.mark.backends()


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


HOUR_AGO = iso(datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def svc(app: Starlette) -> Services:
    services: Services = app.state.services
    make_site(services)
    make_site(services, "beta", "beta.test")
    return services


def stored_per_site(svc: Services) -> dict[str, int]:
    query = select(sites.c.domain, func.count(events.c.id)).join(events, events.c.site_id == sites.c.id)
    with svc.db.sync.connect() as conn:
        return {domain: n for domain, n in conn.execute(query.group_by(sites.c.domain))}


async def test_an_ingest_token_cannot_write_into_another_tenants_site(
    client: httpx2.AsyncClient, svc: Services
) -> None:
    auth = {"Authorization": f"Bearer {make_token(svc, 'acme', scopes=('ingest',))}"}
    lines = [
        event(HOUR_AGO, "/mine", event_id="m1"),
        event(HOUR_AGO, "/theirs", domain="beta.test", event_id="t1"),
        event(HOUR_AGO, "/theirs", domain="WWW.Beta.test", event_id="t2"),
        event(HOUR_AGO, "/nowhere", domain="nobody.test", event_id="t3"),
    ]
    reply = await client.post("/api/v1/events", json=lines, headers=auth)
    assert reply.status_code == 202, reply.text
    data = reply.json()["data"]
    assert (data["accepted"], data["rejected"]) == (1, 3)
    refusal = "not a site of this token's tenant"
    assert data["errors"] == [{"line": n, "field": "domain", "message": refusal} for n in (2, 3, 4)]
    only_theirs = await client.post("/api/v1/events", json=lines[1:2], headers=auth)
    missing = await client.post("/api/v1/events", json=lines[3:], headers=auth)
    assert only_theirs.status_code == missing.status_code == 422
    # another tenant's site answers exactly like a site that does not exist
    assert only_theirs.json()["errors"] == {"1.domain": [refusal]} == missing.json()["errors"]
    assert stored_per_site(svc) == {"acme.test": 1}


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        ("0001-01-01T00:00:00Z", "must not be more than 10 years in the past"),
        ("1960-06-01T00:00:00Z", "must not be more than 10 years in the past"),
        (timedelta(days=-3700), "must not be more than 10 years in the past"),
        (timedelta(hours=1), "must not be more than 5 minutes in the future"),
        ("9999-12-31T23:59:59Z", "must not be more than 5 minutes in the future"),
    ],
    ids=["year-1", "1960", "3700-days-ago", "in-an-hour", "year-9999"],
)
async def test_times_no_report_can_read_are_refused_per_line(
    client: httpx2.AsyncClient, svc: Services, timestamp: str | timedelta, message: str
) -> None:
    # A time relative to now is taken as the test runs, not at collection: in a run slower than
    # 55 minutes "in an hour" had come within the 5 minutes allowed before its test sent it.
    now = datetime.now(UTC)
    bad = iso(now + timestamp) if isinstance(timestamp, timedelta) else timestamp
    auth = {"Authorization": f"Bearer {make_token(svc, scopes=('ingest',))}"}
    good = event(iso(now - timedelta(days=3600)), "/old-but-fine")
    reply = await client.post("/api/v1/events", json=[good, event(bad)], headers=auth)
    assert reply.status_code == 202, reply.text
    data = reply.json()["data"]
    assert (data["accepted"], data["rejected"]) == (1, 1)
    assert data["errors"] == [{"line": 2, "field": "timestamp", "message": message}]


def pending(ts: int, event_id: str) -> PendingEvent:
    return PendingEvent(
        domain="acme.test", name="pageview", url="https://acme.test/", referrer=None, props=None,
        interactive=False, event_id=event_id, revenue=None, currency=None, transaction_id=None,
        items=None, engagement_ms=None, scroll_depth=None, language=None, hash_routing=False,
        ts=ts, ip="198.51.100.1", user_agent=CHROME_WIN,
    )  # fmt: skip


async def test_one_impossible_event_never_fails_the_others_in_its_batch(
    app: Starlette, svc: Services
) -> None:
    """Past validation (a sender we do not control, a spool frame): the pipeline drops the one
    event and stores the rest of the batch."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    year_one = int(datetime(1, 1, 1, tzinfo=UTC).timestamp() * 1000)
    batch: list[Any] = [pending(now_ms - i, f"ok{i}") for i in range(20)]
    batch.insert(7, pending(year_one, "bad"))
    outcomes = await svc.ingestor.submit(batch)
    assert [o.status for o in outcomes].count("accepted") == 20
    assert (outcomes[7].status, outcomes[7].reason) == ("dropped", "invalid timestamp")
    # and concurrent tracker events of another sender in the same group commit all succeed
    results = await asyncio.gather(
        svc.ingestor.submit([pending(year_one, "bad2")]),
        *(svc.ingestor.submit([pending(now_ms - 100 - i, f"c{i}")]) for i in range(50)),
    )
    assert all(o.status == "accepted" for [o] in results[1:])
    assert stored_per_site(svc) == {"acme.test": 70}
