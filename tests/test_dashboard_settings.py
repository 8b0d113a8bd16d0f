"""The settings area through the in-process ASGI client: who gets in, CSRF, field errors from the
account rules the CLI uses, tokens shown once, and another tenant's ids answered exactly like ids
that do not exist."""

from __future__ import annotations

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.report_subscriptions import subscribed_ids
from settings_support import PASSWORD, SETTINGS, Stranger, owner, post, settings_csrf, sign_in, stranger

__all__ = ["owner", "stranger"]  # fixtures
pytestmark = pytest.mark.backends()
SECTIONS = ("sites", "goals", "tokens", "users", "sharing")


def services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


async def test_no_session_goes_to_sign_in_and_a_viewer_gets_403(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    response = await client.get(f"{SETTINGS}/tokens")
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={SETTINGS}/tokens"
    with services_of(app).db.sync.begin() as conn:
        accounts.create_user(conn, "viewer@acme.test", "acme", PASSWORD, "viewer")
    await sign_in(client, "viewer@acme.test")
    for section in SECTIONS:
        page = await client.get(f"{SETTINGS}/{section}")
        assert page.status_code == 403 and "Settings are for admins" in page.text
    dashboard = await client.get("/dashboard")
    refused = await client.post(f"{SETTINGS}/sites", data={"domain": "new.test", "csrf": "x"})
    assert refused.status_code == 403
    assert "Settings" not in dashboard.text.split("<main")[0]  # no link for a viewer
    with services_of(app).db.sync.begin() as conn:
        assert accounts.get_site(conn, "new.test") is None


async def test_every_section_renders_for_an_owner(client: httpx2.AsyncClient, owner: accounts.User) -> None:
    await sign_in(client)
    home = await client.get(SETTINGS)
    assert home.status_code == 303 and home.headers["location"] == f"{SETTINGS}/sites"
    for section in SECTIONS:
        page = await client.get(f"{SETTINGS}/{section}")
        assert page.status_code == 200, section
        assert 'aria-current="page"' in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
    dashboard = await client.get("/dashboard")
    assert f'href="{SETTINGS}"' in dashboard.text


async def test_a_post_without_the_csrf_token_changes_nothing(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    await sign_in(client)
    for token in ("", "0" * 64):
        response = await client.post(f"{SETTINGS}/sites", data={"domain": "new.test", "csrf": token})
        assert response.status_code == 403 and "This form expired" in response.text
    with services_of(app).db.sync.begin() as conn:
        assert accounts.get_site(conn, "new.test") is None


async def test_sites_are_added_with_the_cli_rules_and_errors_beside_their_field(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    await sign_in(client)
    bad = await post(client, "sites", {"domain": "not a domain", "timezone": "", "currency": ""})
    assert bad.status_code == 422
    assert 'id="add-domain" name="domain"' in bad.text and 'aria-invalid="true"' in bad.text
    assert "must be a hostname like example.com" in bad.text
    assert 'value="not a domain"' in bad.text  # what was typed stays in the box
    zone = await post(client, "sites", {"domain": "new.test", "timezone": "Mars/Base"})
    assert zone.status_code == 422 and "must be an IANA time zone name" in zone.text
    taken = await post(client, "sites", {"domain": "https://www.acme.test/x"})
    assert taken.status_code == 422 and "already exists" in taken.text
    added = await post(
        client, "sites", {"domain": "https://www.New.test/pricing", "timezone": "Europe/Berlin"}
    )
    assert added.status_code == 303
    assert added.headers["location"] == f"{SETTINGS}/sites?done=site-added"
    listed = await client.get(added.headers["location"])
    assert 'data-domain="new.test"' in listed.text and "Europe/Berlin" in listed.text
    assert "Site added" in listed.text


async def test_a_token_is_shown_once_works_and_is_revoked(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User, stranger: Stranger
) -> None:
    await sign_in(client)
    none = await post(client, "tokens", {"name": "x", "scopes": []})
    assert none.status_code == 422 and "must name at least one of read, ingest, admin" in none.text
    created = await post(client, "tokens", {"name": "Looker", "scopes": ["read", "ingest"]})
    assert created.status_code == 200
    secret = created.text.split('id="new-secret" class="secret" readonly value="')[1].split('"')[0]
    assert secret.startswith("amcp_")
    async with httpx2.AsyncClient(transport=client._transport, base_url="http://testserver") as api:
        headers = {"Authorization": f"Bearer {secret}"}
        assert (await api.get("/api/v1/stats/overview", headers=headers)).status_code == 200
        listing = await client.get(f"{SETTINGS}/tokens")
        assert secret not in listing.text and "Looker" in listing.text and "ingest, read" in listing.text
        with services_of(app).db.sync.begin() as conn:
            token_id = next(t.id for t in accounts.list_tokens(conn, "acme") if t.name == "Looker")
        revoked = await post(client, "tokens/revoke", {"token": token_id})
        assert revoked.status_code == 303
        assert (await api.get("/api/v1/stats/overview", headers=headers)).status_code == 401
    theirs = await post(client, "tokens/revoke", {"token": stranger.token})
    nobody = await post(client, "tokens/revoke", {"token": "01HZZZZZZZZZZZZZZZZZZZZZZZ"})
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.text == nobody.text and "token: not found" in theirs.text
    with services_of(app).db.sync.begin() as conn:
        assert accounts.list_tokens(conn, "other")[0].revoked_at is None


async def test_goals_are_added_archived_and_never_another_tenants(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User, stranger: Stranger
) -> None:
    await sign_in(client)
    path = {"site": "acme.test", "name": "Pricing", "kind": "path", "path": "pricing", "match_type": "prefix"}
    bad = await post(client, "goals", path)
    assert bad.status_code == 422 and "must start with &#39;/&#39;" in bad.text
    assert 'id="add-path" name="path"' in bad.text and 'value="pricing"' in bad.text
    assert (await post(client, "goals", {**path, "path": "/pricing"})).status_code == 303
    event = {"site": "blog.acme.test", "name": "Signup", "kind": "event", "event": "signup"}
    assert (await post(client, "goals", event)).status_code == 303
    foreign = await post(client, "goals", {**event, "site": stranger.domain})
    missing = await post(client, "goals", {**event, "site": "nowhere.test"})
    assert foreign.status_code == missing.status_code == 404 and foreign.text == missing.text
    assert 'id="add-site-note">not found' in foreign.text
    with services_of(app).db.sync.begin() as conn:
        sites = accounts.list_sites(conn, owner.tenant_id)
        goals = accounts.list_goals(conn, [s.id for s in sites])
    assert [(g.name, g.type, g.match_type, g.path, g.event_name) for g in goals] == [
        ("Pricing", "url", "prefix", "/pricing", None),
        ("Signup", "event", None, None, "signup"),
    ]
    archived = await post(client, "goals/archive", {"goal": goals[0].id, "active": "0"})
    assert archived.status_code == 303
    assert "archived" in (await client.get(archived.headers["location"])).text
    theirs = await post(client, "goals/archive", {"goal": stranger.goal, "active": "0"})
    nobody = await post(client, "goals/archive", {"goal": "no-such-goal", "active": "0"})
    assert theirs.status_code == nobody.status_code == 404 and theirs.text == nobody.text


async def test_users_roles_reports_and_the_last_owner(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User, stranger: Stranger
) -> None:
    await sign_in(client)
    short = await post(client, "users", {"email": "new@acme.test", "password": "short", "role": "viewer"})
    assert short.status_code == 422 and "must be at least 8 characters" in short.text
    assert "short" not in short.text.split('id="add-user"')[1]  # a password is never sent back
    added = await post(client, "users", {"email": "New@acme.test", "password": PASSWORD, "role": "admin"})
    assert added.status_code == 303
    with services_of(app).db.sync.begin() as conn:
        new = next(u for u in accounts.list_users(conn, owner.tenant_id) if u.email == "new@acme.test")
    assert new.role == "admin"
    last = await post(client, "users/role", {"user": str(owner.id), "role": "viewer"})
    assert last.status_code == 422 and "a tenant keeps at least one owner" in last.text
    on = await post(client, "users/reports", {"user": str(new.id), "weekly": "1"})
    assert on.status_code == 303 and on.headers["location"].endswith("done=reports-on")
    with services_of(app).db.sync.begin() as conn:
        assert subscribed_ids(conn, owner.tenant_id) == {new.id}
    for path, extra in (
        ("users/role", {"role": "viewer"}),
        ("users/remove", {}),
        ("users/reports", {"weekly": "1"}),
    ):
        theirs = await post(client, path, {"user": stranger.user, **extra})
        nobody = await post(client, path, {"user": "999999", **extra})
        garbage = await post(client, path, {"user": "x'; drop", **extra})
        assert theirs.status_code == nobody.status_code == garbage.status_code == 404, path
        assert theirs.text == nobody.text == garbage.text and "user: not found" in theirs.text
    # An admin may not make owners (the rule is the account code's, shown beside the field).
    await client.post("/logout", data={"csrf": await settings_csrf(client)})
    await sign_in(client, "new@acme.test")
    grant = await post(client, "users", {"email": "x@acme.test", "password": PASSWORD, "role": "owner"})
    assert grant.status_code == 422 and "only an owner may grant the owner role" in grant.text
    demote = await post(client, "users/remove", {"user": str(owner.id)})
    assert demote.status_code == 422 and "only an owner may change or remove an owner" in demote.text
    removed = await post(client, "users/remove", {"user": str(new.id)})  # themselves: allowed
    assert removed.status_code == 303
    assert (await client.get(f"{SETTINGS}/users")).status_code == 303  # the session went with the user


async def test_every_user_opts_in_to_the_weekly_report_for_themselves(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    with services_of(app).db.sync.begin() as conn:
        viewer = accounts.create_user(conn, "viewer@acme.test", "acme", PASSWORD, "viewer")
    await sign_in(client, "viewer@acme.test")
    assert 'id="account-link"' in (await client.get("/dashboard")).text
    page = await client.get("/dashboard/account")
    assert page.status_code == 200 and 'id="weekly-state">Off' in page.text
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    refused = await client.post("/dashboard/account", data={"weekly": "1", "csrf": "x"})
    assert refused.status_code == 403
    on = await client.post("/dashboard/account", data={"weekly": "1", "csrf": token})
    assert on.status_code == 303 and on.headers["location"] == "/dashboard/account?done=on"
    assert 'id="weekly-state">On' in (await client.get(on.headers["location"])).text
    with services_of(app).db.sync.begin() as conn:
        assert subscribed_ids(conn, owner.tenant_id) == {viewer.id}
    off = await client.post("/dashboard/account", data={"weekly": "0", "csrf": token})
    assert off.status_code == 303
    with services_of(app).db.sync.begin() as conn:
        assert subscribed_ids(conn, owner.tenant_id) == set()
