"""What every ingestion format refuses the same way: NUL characters in any string (no database
column takes one), booleans that are not JSON booleans, and error fields named as the client sent
them (never pydantic's type tags such as `props.k.constrained-str`)."""

from __future__ import annotations

from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events
from factories import CHROME_WIN, make_site, make_token

HEADERS = {"User-Agent": CHROME_WIN, "Content-Type": "application/json"}
NUL = "\x00"
NUL_RULE = "must not contain NUL characters (\\u0000)"
BOOLEAN = "Input should be a valid boolean"


def tracker(**extra: Any) -> dict[str, Any]:
    return {"name": "pageview", "url": "https://acme.test/pricing", "domain": "acme.test", **extra}


def batch(**extra: Any) -> dict[str, Any]:
    return tracker(
        **{"timestamp": "2026-01-01T00:00:00Z", "ip": "198.51.100.10", "user_agent": CHROME_WIN, **extra}
    )


@pytest.fixture
def svc(app: Starlette) -> Services:
    services: Services = app.state.services
    make_site(services)
    return services


def stored(svc: Services) -> int:
    with svc.db.sync.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


async def send_tracker(client: httpx2.AsyncClient, payload: dict[str, Any]) -> dict[str, list[str]]:
    response = await client.post("/api/event", content=orjson.dumps(payload), headers=HEADERS)
    assert response.status_code == 422, response.text
    errors: dict[str, list[str]] = response.json()["errors"]
    return errors


async def send_batch(
    client: httpx2.AsyncClient, svc: Services, payload: dict[str, Any]
) -> dict[str, list[str]]:
    auth = {"Authorization": f"Bearer {make_token(svc, scopes=('ingest',))}"}
    response = await client.post("/api/v1/events", content=orjson.dumps([payload]), headers=auth)
    assert response.status_code == 422, response.text
    return {k.removeprefix("1."): v for k, v in response.json()["errors"].items()}


# (extra fields, the field named, its rule); NUL anywhere: names, values, keys, nested items.
NUL_CASES: list[tuple[dict[str, Any], str]] = [
    ({"name": "signup" + NUL}, "name"),
    ({"url": "https://acme.test/a" + NUL}, "url"),
    ({"referrer": "https://t.co/" + NUL}, "referrer"),
    ({"props": {"plan": "pro" + NUL}}, "props"),
    ({"props": {"pl" + NUL + "an": "pro"}}, "props"),
    ({"items": [{"item_name": "Mug" + NUL, "price": 1}]}, "items"),
    ({"revenue": {"amount": 1, "currency": "EU" + NUL}}, "revenue"),
    ({"event_id": "e" + NUL}, "event_id"),
]


@pytest.mark.parametrize(("extra", "field"), NUL_CASES)
async def test_nul_characters_are_refused_by_the_tracker(
    client: httpx2.AsyncClient, svc: Services, extra: dict[str, Any], field: str
) -> None:
    assert (await send_tracker(client, tracker(**extra)))[field] == [NUL_RULE]
    assert stored(svc) == 0


@pytest.mark.parametrize(
    ("extra", "field"),
    [*NUL_CASES, ({"user_agent": CHROME_WIN + NUL}, "user_agent"), ({"ip": "1.2.3.4" + NUL}, "ip")],
)
async def test_nul_characters_are_refused_by_the_batch(
    client: httpx2.AsyncClient, svc: Services, extra: dict[str, Any], field: str
) -> None:
    assert (await send_batch(client, svc, batch(**extra)))[field] == [NUL_RULE]
    assert stored(svc) == 0


@pytest.mark.parametrize("value", ["yes", "true", "false", 1, 0])
async def test_booleans_must_be_json_booleans(client: httpx2.AsyncClient, svc: Services, value: Any) -> None:
    refused = await send_tracker(client, tracker(interactive=value, hash=value))
    assert refused == {"interactive": [BOOLEAN], "hash": [BOOLEAN]}
    assert await send_batch(client, svc, batch(interactive=value)) == {"interactive": [BOOLEAN]}
    assert stored(svc) == 0


async def test_strict_booleans_still_take_true_and_false(client: httpx2.AsyncClient, svc: Services) -> None:
    response = await client.post("/api/event", json=tracker(interactive=False, hash=True), headers=HEADERS)
    assert response.status_code == 202, response.text
    assert stored(svc) == 1


async def test_error_fields_are_named_as_sent(client: httpx2.AsyncClient, svc: Services) -> None:
    props = await send_tracker(client, tracker(props={"plan": ["pro"]}))
    assert list(props) == ["props.plan"]
    assert "Input should be a valid string" in props["props.plan"]
    key = await send_tracker(client, tracker(props={"k" * 301: 1}))
    assert list(key) == ["props." + "k" * 301]
    item = await send_tracker(client, tracker(items=[{"item_name": "Mug", "price": 1, "item_id": {}}]))
    assert list(item) == ["items.0.item_id"]
    lines = await send_batch(client, svc, batch(props={"plan": {"a": 1}}))
    assert list(lines) == ["props.plan"]
