# ruff: noqa: F811  (the fixture imported from dashboard_support is redefined as a parameter)
"""Issue 17 in real Chromium: the settings area (a field error shown beside its field, an API token
shown once and revoked, a share link made with a password) and the share link opened in a fresh
browser context with no session: the password asked, then that one site's numbers as the REST API
gives them, read-only. Every settings page and the share view pass axe-core (serious/critical)
and are photographed at 1440x900 and 390x844 in light and dark mode
(tests/artifacts/admin-{desktop,phone}-{light,dark}-{sites,goals,tokens,users,sharing,account,share}.png)."""

from __future__ import annotations

import json

import httpx2
from playwright.async_api import Page

from axe_support import axe_violations
from dashboard_support import (  # noqa: F401  (seeded is a fixture)
    ARTIFACTS,
    Seeded,
    browser_context,
    kpis_equal,
    seeded,
    sign_in,
    watch,
)

VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
SECTIONS = ("sites", "goals", "tokens", "users", "sharing")
SHARE_PASSWORD = "share password 1"


async def fits_the_screen(page: Page, where: str) -> None:
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{where}: the page scrolls sideways {widths}"


async def make_share_link(page: Page, base: str) -> str:
    await page.goto(f"{base}/dashboard/settings/sharing")
    await page.select_option("#add-site", "acme.test")
    await page.fill("#add-label", "Investors")
    await page.fill("#add-password", SHARE_PASSWORD)
    await page.click("#add-share button[type=submit]")
    url = await page.input_value("#new-secret")
    assert url.startswith(f"{base}/share/"), url
    return url


async def test_settings_forms_in_the_browser(seeded: Seeded) -> None:
    async with browser_context() as ctx:
        page = await ctx.new_page()
        watch(page, seeded.errors)
        await sign_in(page, seeded.base)
        await page.click("#settings-link")
        await page.wait_for_url("**/dashboard/settings/sites")
        await page.fill("#add-domain", "not a domain")
        await page.click("#add-site button[type=submit]")
        assert await page.get_attribute("#add-domain", "aria-invalid") == "true"
        assert "must be a hostname" in (await page.text_content("#add-domain-note") or "")
        assert await page.input_value("#add-domain") == "not a domain"
        seeded.errors[:] = [e for e in seeded.errors if "status of 422" not in e]  # that page, as meant
        await page.fill("#add-domain", "https://www.news.acme.test/")
        await page.click("#add-site button[type=submit]")
        await page.wait_for_selector('#sites-table tr[data-domain="news.acme.test"]')
        assert "Site added" in (await page.text_content("#settings-notice") or "")

        await page.click("#nav-tokens")
        await page.fill("#add-name", "Browser token")
        await page.check('input[name=scopes][value="ingest"]')
        await page.click("#add-token button[type=submit]")
        secret = await page.input_value("#new-secret")
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx2.AsyncClient(base_url=seeded.base) as http:
            assert (await http.get("/api/v1/stats/overview", headers=headers)).status_code == 200
            await page.goto(f"{seeded.base}/dashboard/settings/tokens")
            assert secret not in await page.content()  # shown once
            row = page.locator("#tokens-table tr", has_text="Browser token")
            await row.locator("button", has_text="Revoke").click()
            await page.wait_for_selector("#settings-notice")
            assert (await http.get("/api/v1/stats/overview", headers=headers)).status_code == 401
    assert not seeded.errors, seeded.errors


async def test_a_share_link_opens_in_a_fresh_browser_with_no_session(seeded: Seeded) -> None:
    async with browser_context() as ctx:
        page = await ctx.new_page()
        await sign_in(page, seeded.base)
        link = await make_share_link(page, seeded.base)
    expected = await seeded.api("/api/v1/stats/overview", site="acme.test", period="30d")
    async with browser_context() as fresh:  # another browser: no cookie of the owner's
        assert await fresh.cookies() == []
        page = await fresh.new_page()
        watch(page, seeded.errors)
        await page.goto(link)
        assert "acme" not in await page.content()
        await page.fill("#password", "not it")
        await page.click("button[type=submit]")
        assert (await page.text_content("#share-error")) == "Wrong password."
        assert "acme" not in await page.content()
        seeded.errors[:] = [e for e in seeded.errors if "status of 401" not in e]  # that answer, as meant
        await page.fill("#password", SHARE_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_selector("#share-badge")
        await page.goto(link + "?period=30d&site=shop.acme.test")  # the site is pinned whatever the URL says
        await kpis_equal(page, expected)
        assert (await page.text_content("#share-badge") or "").startswith("acme.test")
        for absent in ("#ai-button", "#settings-link", ".logout-form", '[data-tab="experiments"]'):
            assert await page.locator(absent).count() == 0, absent
        assert "shop.acme.test" not in await page.content()
        # A card's CSV comes through the link too: the same rows as the REST API's for the site.
        href = await page.get_attribute("#card-pages .csv-link", "href")
        assert href is not None and href.startswith(link.removeprefix(seeded.base) + "/api/v1/stats/pages?")
        shared = await (await page.request.get(seeded.base + href)).text()
        async with httpx2.AsyncClient(base_url=seeded.base) as http:
            rest = await http.get(
                "/api/v1/stats/pages",
                params={"site": "acme.test", "period": "30d", "format": "csv"},
                headers={"Authorization": f"Bearer {seeded.token}"},
            )
        assert shared.splitlines()[0] == rest.text.splitlines()[0] and "/pricing" in shared
        await page.click('#report-tabs .tab[data-tab="commerce"]')
        await page.wait_for_selector("#view-commerce:not([hidden])")
    assert not seeded.errors, seeded.errors


async def test_admin_pages_and_the_share_view_pass_axe_and_are_photographed(seeded: Seeded) -> None:
    problems: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        for device, (width, height) in VIEWPORTS.items():
            async with browser_context(width, height) as ctx:
                page = await ctx.new_page()
                await page.emulate_media(color_scheme=scheme)
                watch(page, seeded.errors)
                await sign_in(page, seeded.base)
                link = await make_share_link(page, seeded.base)
                for section in (*SECTIONS, "account"):
                    path = "/dashboard/account" if section == "account" else f"/dashboard/settings/{section}"
                    await page.goto(seeded.base + path)
                    where = f"{device}-{scheme}-{section}"
                    await fits_the_screen(page, where)
                    await page.screenshot(path=str(ARTIFACTS / f"admin-{where}.png"), full_page=True)
                    problems[where] = await axe_violations(page)
                await ctx.clear_cookies()  # signed out: the link alone opens the view
                view = await ctx.new_page()
                await view.emulate_media(color_scheme=scheme)
                await view.goto(link)
                await view.fill("#password", SHARE_PASSWORD)
                await view.click("button[type=submit]")
                await view.wait_for_selector("#kpis .kpi-value[data-value]")
                where = f"{device}-{scheme}-share"
                await fits_the_screen(view, where)
                await view.screenshot(path=str(ARTIFACTS / f"admin-{where}.png"), full_page=True)
                problems[where] = await axe_violations(view)
    found = {where: rules for where, rules in problems.items() if rules}
    (ARTIFACTS / "admin-axe.json").write_text(json.dumps(found, indent=1))
    assert not found, found
    assert not seeded.errors, seeded.errors
