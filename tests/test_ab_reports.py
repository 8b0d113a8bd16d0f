# ruff: noqa: F811  (the fixtures imported from ab_support are redefined as parameters)
"""`GET /api/v1/metrics/summary` and `/metrics/variants` (docs/ab-testing.md) on hand-built data
whose numbers are written out, the doc's worked example included; the admin auth; dates, the variant
filter and which experiment is read.

Rounding: every rate is conversions (or clicks) / visitors x 100, two decimals, half up.
The worked example: 25 / 600 = 4.1667 -> 4.17, 20 / 634 = 3.1546 -> 3.15, 45 / 1234 = 3.6467 -> 3.65.
Its CTRs follow the same rule: 234 / 1234 = 18.9627 and 156 / 1234 = 12.6418 round to 18.96 and
12.64 (18.97 and 12.65 would need rounding up, which would turn 3.1546 into 3.16). One rule for
every rate: we answer 18.96 and 12.64.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from ab_support import (  # noqa: F401  (fixtures)
    DAYS,
    RANGE,
    VARIANT_DAYS,
    Rows,
    admin,
    experiment,
    ms,
    seed_example,
    svc,
)
from analytics_mcp.services import Services
from factories import make_site, make_token

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")


async def get(
    client: httpx2.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> httpx2.Response:
    return await client.get(f"/api/v1/metrics/{path}", params=params, headers=headers)


async def test_summary_reproduces_the_seed_example(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]
) -> None:
    seed_example(svc)
    response = await get(client, "summary", admin, **RANGE)
    assert response.status_code == 200, response.text
    assert response.json() == {  # exactly the documented fields, no {"data": ...} wrapper
        "total_visitors": 1234,
        "total_conversions": 45,
        "overall_conversion_rate": 3.65,
        "variants": [
            {"variant_slug": "control", "visitors": 600, "conversions": 25, "conversion_rate": 4.17},
            {"variant_slug": "variant-a", "visitors": 634, "conversions": 20, "conversion_rate": 3.15},
        ],
        "top_ctas": [
            {"element_id": "hero-cta", "clicks": 234, "ctr": 18.96},
            {"element_id": "pricing-pro-cta", "clicks": 156, "ctr": 12.64},
        ],
    }


async def test_variants_reproduces_the_seed_example(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]
) -> None:
    seed_example(svc)
    response = await get(client, "variants", admin, **RANGE)
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["start_date"], data["end_date"]) == ("2024-01-08", "2024-01-15")
    control, variant = data["stats"]
    seed_fields = ("variant_slug", "views", "clicks", "conversions", "conversion_rate")
    assert list(control)[:6] == [*seed_fields, "trend"]  # the documented fields first, in their order
    assert [control[k] for k in seed_fields] == ["control", 600, 120, 25, 4.17]
    assert [variant[k] for k in seed_fields] == ["variant-a", 634, 270, 20, 3.15]
    assert control["trend"][:3] == [
        {"date": "2024-01-08", "views": 80, "conversions": 3},
        {"date": "2024-01-09", "views": 85, "conversions": 4},
        {"date": "2024-01-10", "views": 90, "conversions": 5},
    ]
    assert [(p["views"], p["conversions"]) for p in variant["trend"]] == VARIANT_DAYS
    assert [p["date"] for p in variant["trend"]] == DAYS
    assert (control["visitors"], control["converted_visitors"], control["is_control"]) == (600, 25, True)
    assert control["absolute_uplift"] is None and control["probability_to_beat_control"] is None
    # variant-a vs control on 20/634 vs 25/600 (checked against SciPy in test_ab_stats)
    assert variant["absolute_uplift"] == -1.01  # 3.1546 % - 4.1667 % = -1.0121 pp
    assert variant["relative_uplift"] == -24.29  # -1.0121 / 4.1667
    assert (variant["absolute_uplift_ci_low"], variant["absolute_uplift_ci_high"]) == (-3.11, 1.09)
    assert (variant["relative_uplift_ci_low"], variant["relative_uplift_ci_high"]) == (-74.68, 26.1)
    assert variant["significant"] is False and variant["p_value"] == 0.3431
    assert variant["probability_to_beat_control"] == 0.1732
    srm = data["sample_ratio_mismatch"]
    assert (srm["chi_square"], srm["degrees_of_freedom"], srm["p_value"], srm["mismatch"]) == (
        0.9368,
        1,
        0.3331,
        False,
    )
    assert srm["variants"][0] == {
        "variant_slug": "control",
        "weight": 50,
        "visitors": 600,
        "expected_visitors": 617.0,
    }
    assert data["experiment"]["slug"] == "hero-test" and data["experiment"]["control"] == "control"


async def test_scroll_bands_per_variant(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]
) -> None:
    exp = experiment(svc)
    rows = Rows(exp)
    day = ms("2024-01-10")
    # visitor 1 scrolls 0-25 then 75-100: its deepest band is 4; visitor 2 stops in band 2
    for visitor, band in ((1, 1), (1, 4), (2, 2), (2, 2), (3, 3)):
        rows.add("control", visitor, "scroll_depth", day, band=band)
    rows.add("variant-a", 4, "scroll_depth", day, band=4)
    rows.save(svc)
    data = (await get(client, "variants", admin, **RANGE)).json()
    bands = {
        s["variant_slug"]: [(b["band"], b["range"], b["events"], b["visitors"]) for b in s["scroll_bands"]]
        for s in data["stats"]
    }
    assert bands["control"] == [
        (1, "0-25", 1, 0),
        (2, "25-50", 2, 1),
        (3, "50-75", 1, 1),
        (4, "75-100", 1, 1),
    ]
    assert bands["variant-a"] == [
        (1, "0-25", 0, 0),
        (2, "25-50", 0, 0),
        (3, "50-75", 0, 0),
        (4, "75-100", 1, 1),
    ]


async def test_visitors_count_once_over_the_range_and_dates_are_inclusive(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]
) -> None:
    exp = experiment(svc)
    rows = Rows(exp)
    rows.add("control", 1, "page_view", ms("2024-01-07", 23))  # the day before: out
    rows.add("control", 1, "page_view", ms("2024-01-08", 0))
    rows.add("control", 1, "page_view", ms("2024-01-15", 23))
    rows.add("control", 1, "conversion", ms("2024-01-15", 23))
    rows.add("control", 1, "conversion", ms("2024-01-15", 23))  # a second payment of the visitor
    rows.add("control", 2, "page_view", ms("2024-01-16", 0))  # the day after: out
    rows.save(svc)
    summary = (await get(client, "summary", admin, **RANGE)).json()
    assert summary["variants"][0] == {
        "variant_slug": "control",
        "visitors": 1,
        "conversions": 2,
        "conversion_rate": 200.0,
    }
    stats = (await get(client, "variants", admin, **RANGE)).json()["stats"][0]
    assert (stats["views"], stats["converted_visitors"]) == (2, 1)
    assert [p["views"] for p in stats["trend"]] == [1, 0, 0, 0, 0, 0, 0, 1]


async def test_variant_filter(client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]) -> None:
    seed_example(svc)
    summary = (await get(client, "summary", admin, variant="variant-a", **RANGE)).json()
    assert (summary["total_visitors"], summary["total_conversions"], summary["overall_conversion_rate"]) == (
        634,
        20,
        3.15,
    )
    assert [v["variant_slug"] for v in summary["variants"]] == ["variant-a"]
    assert summary["top_ctas"] == [
        {"element_id": "hero-cta", "clicks": 154, "ctr": 24.29},  # 154 / 634
        {"element_id": "pricing-pro-cta", "clicks": 116, "ctr": 18.3},  # 116 / 634
    ]
    variants = (await get(client, "variants", admin, variant="variant-a", **RANGE)).json()
    assert [s["variant_slug"] for s in variants["stats"]] == ["variant-a"]
    assert variants["stats"][0]["absolute_uplift"] == -1.01  # still against control
    unknown = await get(client, "variants", admin, variant="variant-z", **RANGE)
    assert unknown.status_code == 404  # a variant the experiment does not have, like a missing site
    assert unknown.json() == {
        "message": "Variant not found: unknown variant 'variant-z'; this experiment has control, variant-a.",
        "code": "not_found",
    }


async def test_admin_auth(client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]) -> None:
    experiment(svc)
    for path in ("summary", "variants"):
        missing = await get(client, path, {})
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.json() == {"message": "Missing API token.", "code": "unauthorized"}
        for scopes in (("read",), ("read", "ingest")):
            token = make_token(svc, scopes=scopes)
            refused = await get(client, path, {"Authorization": f"Bearer {token}"})
            assert refused.status_code == 403
            assert refused.json() == {
                "message": "This API token lacks the 'admin' scope.",
                "code": "insufficient_scope",
            }
        assert (await get(client, path, admin)).status_code == 200


async def test_dates_default_and_validation(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]
) -> None:
    from datetime import UTC, datetime, timedelta

    experiment(svc)
    today = datetime.now(UTC).date()
    data = (await get(client, "variants", admin)).json()
    assert (data["start_date"], data["end_date"]) == (str(today - timedelta(days=7)), str(today))
    assert len(data["stats"][0]["trend"]) == 8
    only_end = (await get(client, "variants", admin, end_date="2024-01-15")).json()
    assert only_end["start_date"] == "2024-01-08"
    cases = [
        ({"start_date": "2024-13-01"}, "start_date", "must be a valid date as YYYY-MM-DD"),
        ({"end_date": "15.01.2024"}, "end_date", "must be a valid date as YYYY-MM-DD"),
        ({"start_date": "2024-01-16", "end_date": "2024-01-15"}, "start_date", "must not be after end_date"),
    ]
    for params, field, rule in cases:
        response = await get(client, "summary", admin, **params)
        assert response.status_code == 422
        assert response.json() == {
            "message": f"{field}: {rule}",
            "code": "validation_failed",
            "errors": {field: [rule]},
        }


async def test_which_experiment(client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]) -> None:
    none = await get(client, "summary", admin)
    assert none.status_code == 404 and none.json() == {
        "message": "Experiment not found.",
        "code": "not_found",
    }
    experiment(svc, slug="old-test", status="stopped")
    assert (await get(client, "variants", admin)).json()["experiment"]["slug"] == "old-test"  # newest
    experiment(svc, slug="hero-test")
    assert (await get(client, "variants", admin)).json()["experiment"]["slug"] == "hero-test"  # running
    experiment(svc, slug="pricing-test")
    several = await get(client, "summary", admin)
    assert several.status_code == 422
    assert several.json()["message"] == (
        "experiment: several experiments are running (hero-test, pricing-test); name one"
    )
    named = await get(client, "variants", admin, experiment="old-test")
    assert named.json()["experiment"] == {
        "slug": "old-test", "name": "old-test", "status": "stopped", "site": "acme.test",
        "control": "control", "created_at": named.json()["experiment"]["created_at"],
    }  # fmt: skip
    assert (await get(client, "summary", admin, experiment="nope")).status_code == 404
    make_site(svc, "rival", "rival.test")
    rival = {"Authorization": f"Bearer {make_token(svc, 'rival', scopes=('admin',))}"}
    foreign = await get(client, "summary", rival, experiment="hero-test")
    assert foreign.status_code == 404  # another tenant's experiment looks like none


async def test_tracked_events_reach_the_report(
    client: httpx2.AsyncClient, svc: Services, admin: dict[str, str]
) -> None:
    """End to end: the tracking call, the pipeline and the report agree."""
    from ab_support import body, track

    exp = experiment(svc)
    control, variant = (v.id for v in exp.variants)
    calls = [
        body(control, "page_view", {"path": "/pricing"}, visitor_id="v1"),
        body(control, "click", {"element_id": "hero-cta"}, visitor_id="v1"),
        body(control, "conversion", {"plan_tier": "pro", "amount_cents": 2900}, visitor_id="v1"),
        body(variant, "page_view", {"path": "/pricing"}, visitor_id="v2"),
        body(variant, "page_view", {"path": "/pricing"}, visitor_id="v3"),
        body(variant, "click", {"element_id": "hero-cta"}, visitor_id="v3"),
    ]
    for call in calls:
        assert (await track(client, call)).status_code == 201
    summary = (await get(client, "summary", admin)).json()
    assert (summary["total_visitors"], summary["total_conversions"], summary["overall_conversion_rate"]) == (
        3,
        1,
        33.33,
    )
    assert summary["top_ctas"] == [{"element_id": "hero-cta", "clicks": 2, "ctr": 66.67}]
    stats = (await get(client, "variants", admin)).json()["stats"]
    assert [(s["views"], s["clicks"], s["conversions"]) for s in stats] == [(1, 1, 1), (2, 1, 0)]
