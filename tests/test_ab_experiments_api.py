# ruff: noqa: F811  (the fixtures imported from ab_support are redefined as parameters)
"""`/api/v1/experiments`: create (admin), list (read), start/stop (admin); tenant-bound."""

from __future__ import annotations

import httpx2
import pytest

from ab_support import admin, svc  # noqa: F401  (fixtures)
from analytics_mcp.services import Services
from factories import make_site, make_token

pytestmark = pytest.mark.backends()


async def test_experiments_admin_api(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]
) -> None:
    payload = {
        "site": "acme.test",
        "slug": "hero-test",
        "name": "Hero copy",
        "variants": [{"slug": "control", "weight": 50}, {"slug": "variant-a", "weight": 50}],
    }
    created = await client.post("/api/v1/experiments", json=payload, headers=admin)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert (data["slug"], data["status"], data["control"], data["site"]) == (
        "hero-test",
        "running",
        "control",
        "acme.test",
    )
    assert [(v["slug"], v["weight"]) for v in data["variants"]] == [("control", 50), ("variant-a", 50)]
    again = await client.post("/api/v1/experiments", json=payload, headers=admin)
    assert again.status_code == 409 and again.json() == {
        "message": "slug: already exists",
        "code": "conflict",
    }  # a conflict
    one = await client.post(
        "/api/v1/experiments",
        json={**payload, "slug": "x2", "variants": payload["variants"][:1]},
        headers=admin,
    )
    assert one.status_code == 422 and "variants" in one.json()["errors"]
    make_site(svc, "rival", "rival.test")
    foreign = await client.post(
        "/api/v1/experiments", json={**payload, "site": "rival.test", "slug": "x3"}, headers=admin
    )
    assert foreign.status_code == 404 and foreign.json() == {
        "message": "Site not found.",
        "code": "not_found",
    }
    reader = {"Authorization": f"Bearer {make_token(svc, scopes=('read',))}"}
    assert (
        await client.post("/api/v1/experiments", json={**payload, "slug": "x4"}, headers=reader)
    ).status_code == 403
    listed = await client.get("/api/v1/experiments", params={"site": "acme.test"}, headers=reader)
    assert listed.status_code == 200 and [e["slug"] for e in listed.json()["data"]] == ["hero-test"]
    assert (
        await client.get("/api/v1/experiments", params={"site": "rival.test"}, headers=reader)
    ).status_code == 404
    stopped = await client.patch("/api/v1/experiments/hero-test", json={"status": "stopped"}, headers=admin)
    assert stopped.status_code == 200 and stopped.json()["data"]["status"] == "stopped"
    assert (
        await client.patch("/api/v1/experiments/nope", json={"status": "stopped"}, headers=admin)
    ).status_code == 404
