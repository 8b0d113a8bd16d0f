# ruff: noqa: F811  (the fixtures imported from ab_support are redefined as parameters)
"""A/B admin routes across tenants: acme's admin token on rival's experiment is answered exactly
like an experiment that does not exist (404, same body) and changes nothing; and `PATCH
/experiments/{slug}` takes the experiment from the path (the body may repeat it, not contradict it)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from ab_support import admin, experiment, svc  # noqa: F401  (fixtures)
from analytics_mcp.experiments import list_experiments
from analytics_mcp.services import Services
from factories import make_site

STOP = {"status": "stopped"}


@pytest.fixture
def rival(svc: Services) -> None:
    """acme runs `hero-test`; rival runs `rival-secret` and a `hero-test` of its own."""
    make_site(svc, "rival", "rival.test")
    experiment(svc)
    experiment(svc, "rival.test", "rival-secret")
    experiment(svc, "rival.test", "hero-test")


def statuses(svc: Services, tenant: str) -> dict[str, str]:
    with svc.db.sync.connect() as conn:
        tenant_id = conn.exec_driver_sql("SELECT id FROM tenants WHERE slug = ?", (tenant,)).scalar_one()
        return {e.slug: e.status for e in list_experiments(conn, tenant_id, None)}


def same_answer(foreign: httpx2.Response, missing: httpx2.Response) -> None:
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert "rival" not in foreign.text


async def test_patching_another_tenants_experiment_is_a_404_like_a_missing_one(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str], rival: None
) -> None:
    foreign = await client.patch("/api/v1/experiments/rival-secret", json=STOP, headers=admin)
    missing = await client.patch("/api/v1/experiments/no-such-test", json=STOP, headers=admin)
    same_answer(foreign, missing)
    own = await client.patch("/api/v1/experiments/hero-test", json=STOP, headers=admin)
    assert own.status_code == 200 and own.json()["data"]["site"] == "acme.test"
    assert statuses(svc, "rival") == {"rival-secret": "running", "hero-test": "running"}
    assert statuses(svc, "acme") == {"hero-test": "stopped"}


@pytest.mark.parametrize("route", ["/api/v1/metrics/variants", "/api/v1/metrics/summary"])
async def test_reading_another_tenants_experiment_is_a_404_like_a_missing_one(
    client: httpx2.AsyncClient, admin: dict[str, str], rival: None, route: str
) -> None:
    foreign = await client.get(route, params={"experiment": "rival-secret"}, headers=admin)
    missing = await client.get(route, params={"experiment": "no-such-test"}, headers=admin)
    same_answer(foreign, missing)
    own = await client.get(route, params={"experiment": "hero-test"}, headers=admin)
    assert own.status_code == 200


@pytest.mark.parametrize("payload", [STOP, {**STOP, "experiment": "hero-test"}])
async def test_patch_takes_the_experiment_from_the_path(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str], payload: dict[str, Any]
) -> None:
    experiment(svc)
    response = await client.patch("/api/v1/experiments/hero-test", json=payload, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "stopped"


async def test_patch_refuses_a_body_naming_another_experiment(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]
) -> None:
    experiment(svc)
    experiment(svc, slug="other-test")
    payload = {**STOP, "experiment": "other-test"}
    response = await client.patch("/api/v1/experiments/hero-test", json=payload, headers=admin)
    assert response.status_code == 422
    rule = "must be the experiment in the path ('hero-test') or left out"
    assert response.json() == {
        "message": f"experiment: {rule}",
        "code": "validation_failed",
        "errors": {"experiment": [rule]},
    }
    assert statuses(svc, "acme") == {"hero-test": "running", "other-test": "running"}


async def test_the_documented_patch_body_does_not_require_the_experiment(client: httpx2.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    operation = next(
        op
        for path, item in document["paths"].items()
        if path.startswith("/experiments/{")
        for method, op in item.items()
        if method == "patch"
    )
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert schema["required"] == ["status"]
    assert [p["in"] for p in operation["parameters"]] == ["path"]
