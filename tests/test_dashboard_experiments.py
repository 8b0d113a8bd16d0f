# ruff: noqa: F811  (the fixture imported from dashboard_support is redefined as a parameter)
"""The dashboard's Experiments tab in a real headless Chromium against a real uvicorn: events sent
through `POST /api/v1/metrics/track`, an owner signs in, and the variant rows show the numbers of
`GET /api/v1/metrics/variants`, the sample-ratio warning and the trend charts. Screenshot:
tests/artifacts/dashboard-experiments.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from playwright.async_api import BrowserContext
from starlette.applications import Starlette

from ab_support import body, experiment, track
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from dashboard_support import ARTIFACTS, EMAIL, PASSWORD, context, sign_in, watch  # noqa: F401
from factories import make_site, make_token

# (visitors, converting visitors) per variant: 15 vs 2 on a 50/50 split is a sample ratio mismatch.
VIEWER = "viewer@acme.test"
PLAN = {"control": (15, 3), "variant-a": (2, 1)}


async def seed(base: str, services: Services) -> None:
    exp = experiment(services, name="Hero copy")
    async with httpx2.AsyncClient(base_url=base) as http:
        for slug, (visitors, converting) in PLAN.items():
            variant = exp.variant(slug)
            assert variant is not None
            for n in range(visitors):
                ids = {"visitor_id": f"vis_{slug}_{n}", "session_id": f"sess_{slug}_{n}"}
                sent = [body(variant.id, **ids), body(variant.id, "click", {"element_id": "hero-cta"}, **ids)]
                if n < converting:
                    sent.append(
                        body(variant.id, "conversion", {"plan_tier": "pro", "amount_cents": 2900}, **ids)
                    )
                for payload in sent:
                    response = await track(http, payload)
                    assert response.status_code < 300, response.text


async def test_experiments_tab_shows_the_variants_report(
    live_server: tuple[str, Starlette], context: BrowserContext
) -> None:
    base, app = live_server
    services: Services = app.state.services
    services.settings.rate_limit = "10000/minute"
    make_site(services)
    with services.db.sync.begin() as conn:
        accounts.create_user(conn, EMAIL, "acme", PASSWORD)
        accounts.create_user(conn, VIEWER, "acme", PASSWORD, role="viewer")
    await seed(base, services)
    token = make_token(services, scopes=("admin",))
    # The page computes its dates from the browser's clock (a UTC context, like the site): pinned
    # to this moment, so the test's "today" is the page's even across midnight.
    moment = datetime.now(UTC)
    today = moment.date()
    # The dashboard's default period (7d) as the route's dates: 7 days ending today.
    params = {"start_date": str(today - timedelta(days=6)), "end_date": str(today), "experiment": "hero-test"}
    async with httpx2.AsyncClient(base_url=base) as http:
        response = await http.get(
            "/api/v1/metrics/variants", params=params, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    assert [s["visitors"] for s in report["stats"]] == [15, 2]
    assert report["sample_ratio_mismatch"]["mismatch"] is True

    ARTIFACTS.mkdir(exist_ok=True)
    page = await context.new_page()
    await page.clock.set_fixed_time(moment)
    problems: list[str] = []
    watch(page, problems)
    await sign_in(page, base)
    await page.click('#report-tabs [data-tab="experiments"]')
    await page.wait_for_url("**tab=experiments**")
    await page.wait_for_selector("#card-variants tbody tr")
    await page.wait_for_selector("#experiment-views-chart canvas")
    assert await page.input_value("#experiment-select") == "hero-test"
    card = page.locator("#card-variants")
    assert (await card.get_attribute("data-start"), await card.get_attribute("data-end")) == (
        params["start_date"],
        params["end_date"],
    )

    rows = await page.eval_on_selector_all(
        "#card-variants tbody tr",
        "rows => rows.map(r => [r.querySelector('.row-name').textContent,"
        " ...[...r.querySelectorAll('td.num')].map(td => td.textContent)])",
    )
    assert [r[0] for r in rows] == [s["variant_slug"] for s in report["stats"]]
    for row, stats in zip(rows, report["stats"], strict=True):
        counts = [str(stats[k]) for k in ("visitors", "views", "clicks", "conversions")]
        assert row[1:5] == counts
        assert row[5] == f"{stats['conversion_rate']:.2f}%"
    variant = report["stats"][1]
    assert rows[0][6:] == ["baseline", "—"]
    low, high = variant["relative_uplift_ci_low"], variant["relative_uplift_ci_high"]
    assert rows[1][6] == f"{variant['relative_uplift']:+.1f}% ({low:+.1f} to {high:+.1f})"
    assert rows[1][7] == f"{variant['probability_to_beat_control'] * 100:.1f}%"
    assert "Sample ratio mismatch" in (await page.text_content("#srm-warning") or "")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-experiments.png"), full_page=True)
    assert not problems, problems

    # A viewer has no admin scope: /metrics/variants answers 403 and the tab says who can see it.
    await context.clear_cookies()
    await page.goto(base + "/dashboard?tab=experiments")
    await page.fill("#email", VIEWER)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#card-variants .card-error")
    assert "needs an owner or admin" in (await page.text_content("#card-variants .card-error") or "")
    assert await page.locator("#card-variants tbody tr").count() == 0
