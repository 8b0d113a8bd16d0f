# ruff: noqa: F811  (the fixtures imported from ab_support are redefined as parameters)
"""`POST /api/v1/metrics/track` (docs/ab-testing.md): validation of every event type, the documented 201,
CORS, and the mapping onto the one ingestion pipeline (events, visits, goals, side rows)."""

from __future__ import annotations

from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import select

from ab_support import BROWSER, TRACK, body, experiment, stored, svc, track  # noqa: F401  (fixtures)
from analytics_mcp.experiments import Experiment
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.schema import events, experiment_events, goal_completions, visits
from conftest import INPUT_RULES
from factories import GOOGLEBOT

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

CREATED = {"success": True, "message": "Event tracked successfully"}


@pytest.fixture
def exp(svc: Services) -> Experiment:
    return experiment(svc)


VALID: list[tuple[str, dict[str, Any]]] = [
    ("page_view", {"path": "/", "referrer": "https://google.com"}),
    ("scroll_depth", {"depth": 75}),
    ("click", {"element_id": "hero-cta", "element_text": "Get Started"}),
    ("form_submit", {"form_id": "signup"}),
    (
        "conversion",
        {"plan_tier": "pro", "billing_interval": "month", "amount_cents": 2900, "stripe_session_id": "cs_1"},
    ),
    ("download", {"app_key": "desktop", "platform": "mac"}),
]


@pytest.mark.parametrize(("event_type", "data"), VALID)
async def test_every_seed_example_is_tracked(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment, event_type: str, data: dict[str, Any]
) -> None:
    response = await track(client, body(exp.variants[0].id, event_type, data))
    assert response.status_code == 201, response.text
    assert response.json() == CREATED
    assert response.headers["access-control-allow-origin"] == "*"
    assert stored(svc) == (1, 1)


D = "event_data."
REQUIRED = "is required for {} events"
# (type, data, fields named in `errors`, rule of the first one: the message is "field: rule")
INVALID: list[tuple[str, dict[str, Any], list[str], str]] = [
    ("page_view", {}, [D + "path"], REQUIRED.format("page_view")),
    ("page_view", {"path": "pricing"}, [D + "path"], "must be a path starting with '/'"),
    ("scroll_depth", {}, [D + "depth"], REQUIRED.format("scroll_depth")),
    ("scroll_depth", {"depth": 101}, [D + "depth"], "must be between 0 and 100"),
    ("scroll_depth", {"depth": -1}, [D + "depth"], "must be between 0 and 100"),
    ("click", {"element_text": "Go"}, [D + "element_id"], REQUIRED.format("click")),
    ("click", {"element_id": "x" * 201}, [D + "element_id"], "must be at most 200 characters"),
    ("click", {"element_id": "  "}, [D + "element_id"], "must be a non-empty string"),
    ("form_submit", {}, [D + "form_id"], REQUIRED.format("form_submit")),
    ("conversion", {"billing_interval": "month"}, [D + "plan_tier", D + "amount_cents"],
     REQUIRED.format("conversion")),
    ("conversion", {"plan_tier": "pro", "amount_cents": 29.5}, [D + "amount_cents"],
     "must be a whole number of cents"),
    ("download", {"app_key": "desktop"}, [D + "platform"], REQUIRED.format("download")),
    ("download", {}, [D + "app_key", D + "platform"], REQUIRED.format("download")),
    ("hover", {}, ["event_type"], "unknown event type 'hover'; use one of page_view, scroll_depth"),
]  # fmt: skip


@INPUT_RULES
@pytest.mark.parametrize(("event_type", "data", "fields", "rule"), INVALID)
async def test_invalid_event_data_is_a_400_naming_the_field(
    client: httpx2.AsyncClient,
    svc: Services,
    exp: Experiment,
    event_type: str,
    data: dict[str, Any],
    fields: list[str],
    rule: str,
) -> None:
    response = await track(client, body(exp.variants[0].id, event_type, data))
    assert response.status_code == 400
    payload = response.json()
    assert payload["message"].startswith(f"{fields[0]}: {rule}"), payload
    assert list(payload["errors"]) == fields
    assert response.headers["access-control-allow-origin"] == "*"  # the page may read why
    assert stored(svc) == (0, 0)


def _without(key: str) -> dict[str, Any]:
    payload = body(1)
    del payload[key]
    return payload


@INPUT_RULES
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_without("event_type"), "event_type: is required"),
        (_without("variant_id"), "variant_id: is required"),
        (body(None), "variant_id: is required"),  # parseInt of a missing variant_id is NaN: JSON null
        (body(0), "variant_id: must be a positive whole number"),
        (_without("visitor_id"), "visitor_id: is required"),
        (_without("session_id"), "session_id: is required"),
        (body(1, visitor_id="v" * 129), "visitor_id: must be at most 128 characters"),
        ([body(1)], "body: must be a JSON object"),
    ],
)
async def test_invalid_envelope_is_a_400(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment, payload: Any, message: str
) -> None:
    response = await track(client, payload)
    assert response.status_code == 400
    assert response.json()["message"] == message or response.json()["message"].startswith(message)
    assert stored(svc) == (0, 0)


NUL, NUL_RULE = "\x00", "must not contain NUL characters (\\u0000)"
# (body, field, rule): a value of the wrong JSON type or with a NUL character, in any field.
MALFORMED: list[tuple[dict[str, Any], str, str]] = [
    (body(1, {}), "event_type", "must be a string"),
    (body(1, []), "event_type", "must be a string"),
    (body(1, 5), "event_type", "must be a string"),
    (body(1, "page_view" + NUL), "event_type", NUL_RULE),
    (body("1"), "variant_id", "must be an integer"),
    (body({}), "variant_id", "must be an integer"),
    (body(1, session_id={}), "session_id", "must be a string"),
    (body(1, visitor_id=["v"]), "visitor_id", "must be a string"),
    (body(1, session_id="s" + NUL), "session_id", NUL_RULE),
    (body(1, "click", []), "event_data", "must be a JSON object"),
    (body(1, "page_view", {"path": ["/"]}), "event_data.path", "must be a string"),
    (body(1, "page_view", {"path": "/a" + NUL}), "event_data.path", NUL_RULE),
    (body(1, "scroll_depth", {"depth": "75"}), "event_data.depth", "must be a number from 0 to 100"),
    (body(1, "scroll_depth", {"depth": True}), "event_data.depth", "must be a number from 0 to 100"),
    (body(1, "click", {"element_id": {"a": 1}}), "event_data.element_id", "must be a string"),
    (body(1, "conversion", {"plan_tier": "pro", "amount_cents": "29"}), "event_data.amount_cents",
     "must be a whole number of cents"),
    (body(1, "conversion", {"plan_tier": "pro", "amount_cents": 1, "currency": 978}), "event_data.currency",
     "must be a string"),
]  # fmt: skip


@INPUT_RULES
@pytest.mark.parametrize(("payload", "field", "rule"), MALFORMED)
async def test_wrong_json_types_and_nul_are_422_naming_the_field(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment, payload: dict[str, Any], field: str, rule: str
) -> None:
    response = await track(client, payload)
    assert response.status_code == 422, response.text
    assert response.json() == {
        "message": f"{field}: {rule}",
        "code": "validation_failed",
        "errors": {field: [rule]},
    }
    assert response.headers["access-control-allow-origin"] == "*"
    assert stored(svc) == (0, 0)


async def test_whole_numbers_may_be_written_with_a_zero_fraction(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment
) -> None:
    """7.0 is the integer 7 in JSON (and in JSON Schema): accepted wherever a whole number is."""
    data = {"plan_tier": "pro", "amount_cents": 2900.0}
    response = await track(client, body(float(exp.variants[0].id), "conversion", data))  # type: ignore[arg-type]
    assert response.status_code == 201, response.text
    assert stored(svc) == (1, 1)


async def test_malformed_and_oversized_bodies(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment
) -> None:
    response = await client.post(TRACK, content=b"{not json", headers=BROWSER)
    assert response.status_code == 400 and response.json()["message"].startswith("body is not valid JSON")
    big = body(exp.variants[0].id, "click", {"element_id": "a", "element_text": "x" * 500, "pad": "y" * 9000})
    response = await track(client, big)
    assert response.status_code == 413
    assert response.json() == {"message": "body: must be at most 8192 bytes", "code": "payload_too_large"}
    assert stored(svc) == (0, 0)


async def test_stopped_experiment_is_refused(client: httpx2.AsyncClient, svc: Services) -> None:
    stopped = experiment(svc, slug="old-test", status="stopped")
    variant = stopped.variants[0].id
    response = await track(client, body(variant))
    assert response.status_code == 409  # a conflict with the experiment's state, not bad input
    assert response.json() == {
        "message": f"Variant {variant}: experiment 'old-test' is not running.",
        "code": "conflict",
    }
    assert response.headers["access-control-allow-origin"] == "*"
    assert stored(svc) == (0, 0)


async def test_unknown_variant_is_a_404(client: httpx2.AsyncClient, svc: Services, exp: Experiment) -> None:
    response = await track(client, body(999))
    assert (response.status_code, response.json()) == (
        404,
        {"message": "Variant 999 not found.", "code": "not_found"},
    )
    assert response.headers["access-control-allow-origin"] == "*"
    assert stored(svc) == (0, 0)


async def test_cors_preflight(client: httpx2.AsyncClient) -> None:
    response = await client.options(
        TRACK, headers={"Origin": "https://acme.test", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "Content-Type"


async def test_bots_are_not_counted(client: httpx2.AsyncClient, svc: Services, exp: Experiment) -> None:
    response = await track(client, body(exp.variants[0].id), **{"User-Agent": GOOGLEBOT})
    assert response.status_code == 202
    assert response.json() == {"success": True, "message": "Event not counted: bot"}
    assert stored(svc) == (0, 0)


async def test_events_go_through_the_one_pipeline(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment
) -> None:
    """page_view -> a pageview of the site; the others -> `ab:<type>` custom events; same visit,
    goals, enrichment from the request's IP and User-Agent; side rows keyed by the event id."""
    with svc.db.sync.begin() as conn:
        accounts.add_goal(conn, "acme.test", "Paid", event="ab:conversion")
    variant = exp.variants[1]
    for event_type, data in VALID:
        response = await track(client, body(variant.id, event_type, data))
        assert response.status_code == 201, response.text
    with svc.events_db.sync.connect() as conn:
        rows = conn.execute(select(events).order_by(events.c.id)).mappings().all()
        side = conn.execute(select(experiment_events).order_by(experiment_events.c.event_id)).mappings().all()
        visit = conn.execute(select(visits)).mappings().one()
        completions = conn.execute(select(goal_completions)).all()
    assert [r["name"] for r in rows] == [
        "pageview", "ab:scroll_depth", "ab:click", "ab:form_submit", "ab:conversion", "ab:download",
    ]  # fmt: skip
    assert {(r["hostname"], r["pathname"]) for r in rows} == {("acme.test", "/")}
    assert [r["interactive"] for r in rows] == [False, False, True, True, True, True]
    assert len({r["visit_id"] for r in rows}) == 1 and len(completions) == 1
    assert (visit["browser"], visit["language"], visit["source"]) == ("Chrome", "de", "google")
    props = [orjson.loads(r["props"]) for r in rows]
    assert props[0] == {"experiment": "hero-test", "variant": "variant-a", "variant_id": variant.id}
    assert props[1]["depth"] == 75 and props[1]["scroll_band"] == 4
    assert props[2]["element_id"] == "hero-cta" and props[2]["element_text"] == "Get Started"
    assert props[4] == {**props[0], "plan_tier": "pro", "billing_interval": "month"}
    assert (rows[4]["revenue"], rows[4]["currency"], rows[4]["transaction_id"]) == (29.0, "EUR", None)
    assert [s["event_id"] for s in side] == [r["id"] for r in rows]
    assert [s["type"] for s in side] == [t for t, _ in VALID]
    assert [s["element"] for s in side] == [None, None, "hero-cta", "signup", None, "desktop"]
    assert side[1]["scroll_band"] == 4 and side[4]["amount_cents"] == 2900
    assert len({s["visitor_key"] for s in side}) == 1 and {s["variant_id"] for s in side} == {variant.id}
    dump = str([dict(r) for r in rows]) + str([dict(s) for s in side])
    for raw in ("vis_xyz789", "sess_abc123", "cs_1"):  # client ids are hashed, never stored
        assert raw not in dump


async def test_scroll_bands_include_their_lower_bound(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment
) -> None:
    for depth in (0, 24.9, 25, 49, 50, 74.5, 75, 100):
        payload = body(exp.variants[0].id, "scroll_depth", {"depth": depth}, session_id=f"s{depth}")
        assert (await track(client, payload)).status_code == 201
    with svc.events_db.sync.connect() as conn:
        bands = conn.execute(
            select(experiment_events.c.scroll_band).order_by(experiment_events.c.ts)
        ).scalars()
        assert list(bands) == [1, 1, 2, 2, 3, 3, 4, 4]


async def test_experiment_config_for_the_script(client: httpx2.AsyncClient, svc: Services) -> None:
    response = await client.get("/api/v1/metrics/experiment", params={"site": "acme.test"})
    assert response.status_code == 404
    assert response.json() == {"message": "No running experiment on this site.", "code": "not_found"}
    first = experiment(svc, variants=(("control", 2), ("variant-a", 1)), name="Q3 price rise")
    experiment(svc, slug="old", status="stopped")
    response = await client.get("/api/v1/metrics/experiment", params={"site": "www.acme.test"})
    assert response.status_code == 200
    assert "price rise" not in response.text and "hero-test" not in response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {  # what /js/metrics.js reads, nothing more (no name, no slug)
        "status": "running",
        "variants": [
            {"id": first.variants[0].id, "slug": "control", "weight": 2},
            {"id": first.variants[1].id, "slug": "variant-a", "weight": 1},
        ],
    }
    missing = await client.get(
        "/api/v1/metrics/experiment", params={"site": "acme.test", "experiment": "old"}
    )
    assert missing.status_code == 404  # stopped experiments are not handed out
    assert (await client.get("/api/v1/metrics/experiment")).status_code == 400


async def test_metrics_script_is_served(client: httpx2.AsyncClient) -> None:
    response = await client.get("/js/metrics.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    script = response.text
    for needle in ("/metrics/track", "/metrics/experiment", "localStorage", "variant_id", "visitor_id"):
        assert needle in script
