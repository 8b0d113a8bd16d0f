"""storage.accounts: every validation rule, tokens, passwords, plan limits and goal scoping."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, select, update

from analytics_mcp.storage import accounts
from analytics_mcp.storage.accounts import AccountError
from analytics_mcp.storage.db import Database, open_database
from analytics_mcp.storage.migrate import upgrade
from analytics_mcp.storage.schema import PLAN_LIMITS, api_tokens, goals, metadata, users

pytestmark = pytest.mark.backends()

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    shutil.copyfile(sqlite_template, tmp_path / "accounts.db")  # migrated once per worker
    db = open_database(f"sqlite:///{tmp_path / 'accounts.db'}")
    yield db.sync
    db.sync.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as connection:
        accounts.create_tenant(connection, "acme", "Acme Inc", timezone="Europe/Berlin")
        accounts.add_site(connection, "acme", "acme.test")
        yield connection


def rule_of(exc: pytest.ExceptionInfo[AccountError]) -> tuple[str, str]:
    return exc.value.field, exc.value.rule


def test_account_error_shape() -> None:
    err = AccountError("slug", "already exists")
    assert (err.field, err.rule, str(err)) == ("slug", "already exists", "slug: already exists")
    assert isinstance(err, ValueError)


def test_utcnow_iso_format() -> None:
    assert ISO_UTC.match(accounts.utcnow_iso())


# -- domains -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("example.com", "example.com"),
        ("  Example.COM ", "example.com"),
        ("www.example.com", "example.com"),
        ("https://www.example.com/blog?x=1#top", "example.com"),
        ("http://shop.example.com:8080", "shop.example.com"),
        ("example.com/path", "example.com"),
        ("example.com.", "example.com"),
        ("sub-domain.example.co.uk", "sub-domain.example.co.uk"),
        ("localhost", "localhost"),
        ("bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_normalize_domain(raw: str, clean: str) -> None:
    assert accounts.normalize_domain(raw) == clean


@pytest.mark.parametrize(
    "raw", ["", "   ", "exa mple.com", "-bad.com", "bad-.com", "a..b", "under_score.com", "x" * 64 + ".com"]
)
def test_normalize_domain_rejects(raw: str) -> None:
    with pytest.raises(AccountError) as exc:
        accounts.normalize_domain(raw)
    assert exc.value.field == "domain"


# -- tenants -----------------------------------------------------------------------------------


def test_create_tenant_defaults(engine: Engine) -> None:
    with engine.begin() as conn:
        tenant = accounts.create_tenant(conn, "beta")
        assert (tenant.slug, tenant.name, tenant.plan, tenant.timezone) == ("beta", "beta", "business", "UTC")
        assert accounts.get_tenant(conn, "beta") == tenant
        assert accounts.get_tenant_by_id(conn, tenant.id) == tenant
        assert accounts.get_tenant(conn, "nope") is None
        assert accounts.get_tenant_by_id(conn, 999) is None


@pytest.mark.parametrize("slug", ["a", "-acme", "Acme", "ac me", "acme_1", "x" * 64, "acmé"])
def test_tenant_slug_rule(conn: Connection, slug: str) -> None:
    with pytest.raises(AccountError) as exc:
        accounts.create_tenant(conn, slug)
    assert exc.value.field == "slug"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"plan": "platinum"}, "plan"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"name": "  "}, "name"),
    ],
)
def test_tenant_field_rules(conn: Connection, kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(AccountError) as exc:
        accounts.create_tenant(conn, "beta", **kwargs)
    assert exc.value.field == field


def test_duplicate_slug(conn: Connection) -> None:
    with pytest.raises(AccountError) as exc:
        accounts.create_tenant(conn, "acme")
    assert rule_of(exc) == ("slug", "already exists")


# -- sites -------------------------------------------------------------------------------------


def test_site_timezone_falls_back_to_tenant(conn: Connection) -> None:
    inherited = accounts.get_site(conn, "https://www.ACME.test/")
    assert inherited is not None
    assert (inherited.domain, inherited.timezone, inherited.currency) == ("acme.test", "Europe/Berlin", "EUR")
    own = accounts.add_site(conn, "acme", "b.acme.test", timezone="America/New_York", currency="USD")
    assert (own.timezone, own.currency) == ("America/New_York", "USD")
    assert accounts.get_site(conn, "b.acme.test") == own


def test_list_sites_ordered_by_domain(conn: Connection) -> None:
    accounts.add_site(conn, "acme", "zeta.test")
    accounts.add_site(conn, "acme", "alpha.test")
    tenant = accounts.get_tenant(conn, "acme")
    assert tenant is not None
    domains = [site.domain for site in accounts.list_sites(conn, tenant.id)]
    assert domains == ["acme.test", "alpha.test", "zeta.test"]


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"domain": "www.acme.test"}, "domain", "already exists"),
        ({"tenant_slug": "nope"}, "tenant", "not found"),
        ({"currency": "eur"}, "currency", None),
        ({"currency": "EURO"}, "currency", None),
        ({"timezone": "Nowhere/City"}, "timezone", None),
        ({"domain": "not a domain"}, "domain", None),
    ],
)
def test_site_rules(conn: Connection, kwargs: dict[str, str], field: str, rule: str | None) -> None:
    args = {"tenant_slug": "acme", "domain": "new.test", **kwargs}
    with pytest.raises(AccountError) as exc:
        accounts.add_site(conn, **args)
    assert exc.value.field == field
    if rule:
        assert exc.value.rule == rule


def test_get_site_unknown_or_invalid(conn: Connection) -> None:
    assert accounts.get_site(conn, "other.test") is None
    assert accounts.get_site(conn, "not a domain") is None


# -- plans -------------------------------------------------------------------------------------


def test_plan_rank_and_limits() -> None:
    ranks = [accounts.plan_rank(plan) for plan in PLAN_LIMITS]
    assert ranks == sorted(ranks)
    assert accounts.plan_rank("pro") > accounts.plan_rank("starter")
    limits = accounts.plan_limits("free")
    assert limits["sites"] == 1
    limits["sites"] = 99  # a copy: the table itself is untouched
    assert PLAN_LIMITS["free"]["sites"] == 1
    with pytest.raises(AccountError) as exc:
        accounts.plan_limits("gold")
    assert exc.value.field == "plan"


def test_plan_site_and_user_limits(engine: Engine) -> None:
    with engine.begin() as conn:
        accounts.create_tenant(conn, "tiny", plan="free")
        accounts.add_site(conn, "tiny", "one.test")
        with pytest.raises(AccountError) as exc:
            accounts.add_site(conn, "tiny", "two.test")
        assert exc.value.field == "plan" and "1 site" in exc.value.rule
        accounts.create_user(conn, "a@tiny.test", "tiny", "password1")
        with pytest.raises(AccountError) as exc:
            accounts.create_user(conn, "b@tiny.test", "tiny", "password1")
        assert exc.value.field == "plan"


def test_unlimited_plan(engine: Engine) -> None:
    with engine.begin() as conn:
        accounts.create_tenant(conn, "big", plan="enterprise")
        for n in range(3):
            accounts.add_site(conn, "big", f"s{n}.test")
        tenant = accounts.get_tenant(conn, "big")
        assert tenant is not None and len(accounts.list_sites(conn, tenant.id)) == 3


# -- users -------------------------------------------------------------------------------------


@pytest.mark.real_argon2  # the product's parameters and its rehash to them
def test_user_password_is_argon2_and_authenticates(conn: Connection) -> None:
    user = accounts.create_user(conn, "  Ann@Example.COM ", "acme", "correct horse", role="admin")
    assert (user.email, user.role) == ("ann@example.com", "admin")
    stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert accounts.authenticate_user(conn, "ANN@example.com", "correct horse") == user
    assert accounts.authenticate_user(conn, "ann@example.com", "wrong password") is None
    assert accounts.authenticate_user(conn, "nobody@example.com", "correct horse") is None


@pytest.mark.real_argon2  # the product's parameters and its rehash to them
def test_authenticate_rehashes_weak_hash(conn: Connection) -> None:
    user = accounts.create_user(conn, "ann@example.com", "acme", "correct horse")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")
    conn.execute(update(users).where(users.c.id == user.id).values(password_hash=weak))
    assert accounts.authenticate_user(conn, "ann@example.com", "correct horse") == user
    rehashed = conn.execute(select(users.c.password_hash)).scalar_one()
    assert rehashed != weak and not PasswordHasher().check_needs_rehash(rehashed)


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"email": "not-an-email"}, "email", None),
        ({"email": "a@b"}, "email", None),
        ({"password": "short"}, "password", None),
        ({"role": "god"}, "role", None),
        ({"tenant_slug": "nope"}, "tenant", "not found"),
        ({"email": "TAKEN@example.com"}, "email", "already exists"),
    ],
)
def test_user_rules(conn: Connection, kwargs: dict[str, str], field: str, rule: str | None) -> None:
    accounts.create_user(conn, "taken@example.com", "acme", "password1")
    args = {"email": "new@example.com", "tenant_slug": "acme", "password": "password1", **kwargs}
    with pytest.raises(AccountError) as exc:
        accounts.create_user(conn, **args)
    assert exc.value.field == field
    if rule:
        assert exc.value.rule == rule


# -- API tokens --------------------------------------------------------------------------------


def test_token_create_and_verify(conn: Connection) -> None:
    token, plaintext = accounts.create_token(conn, "acme", "ci", scopes=["read", "ingest"])
    assert re.fullmatch(r"amcp_[A-Za-z0-9_-]{43}", plaintext)
    assert token.prefix == plaintext[:12] and token.scopes == {"read", "ingest"}
    assert ISO_UTC.match(token.created_at) and token.last_used_at is None
    verified = accounts.verify_token(conn, plaintext)
    assert verified is not None
    assert (verified.id, verified.tenant.slug, verified.scopes) == (token.id, "acme", token.scopes)
    assert verified.last_used_at is not None and ISO_UTC.match(verified.last_used_at)


def test_token_stored_as_hash_only(conn: Connection) -> None:
    _token, plaintext = accounts.create_token(conn, "acme")
    stored = conn.execute(select(api_tokens.c.token_hash)).scalar_one()
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    secret = plaintext.removeprefix("amcp_")
    for table in metadata.sorted_tables:
        for row in conn.execute(select(table)):
            assert not any(secret in str(value) for value in row), table.name


def test_verify_unknown_or_malformed(conn: Connection) -> None:
    accounts.create_token(conn, "acme")
    assert accounts.verify_token(conn, "amcp_" + "x" * 43) is None
    assert accounts.verify_token(conn, "Bearer something") is None
    assert accounts.verify_token(conn, "") is None


def test_last_used_written_at_most_once_a_minute(conn: Connection) -> None:
    token, plaintext = accounts.create_token(conn, "acme")
    first = accounts.verify_token(conn, plaintext)
    assert first is not None
    stamp = conn.execute(select(api_tokens.c.last_used_at)).scalar_one()
    second = accounts.verify_token(conn, plaintext)
    assert second is not None and second.last_used_at == stamp
    old = "2020-01-01T00:00:00Z"
    conn.execute(update(api_tokens).where(api_tokens.c.id == token.id).values(last_used_at=old))
    third = accounts.verify_token(conn, plaintext)
    assert third is not None and third.last_used_at != old
    assert conn.execute(select(api_tokens.c.last_used_at)).scalar_one() == third.last_used_at


def test_revoke_token(conn: Connection) -> None:
    accounts.create_tenant(conn, "other")
    token, plaintext = accounts.create_token(conn, "acme")
    with pytest.raises(AccountError) as exc:
        accounts.revoke_token(conn, token.id, "other")  # someone else's token looks like none
    assert rule_of(exc) == ("token", "not found")
    with pytest.raises(AccountError):
        accounts.revoke_token(conn, "01HZZZZZZZZZZZZZZZZZZZZZZZ")
    revoked = accounts.revoke_token(conn, token.id, "acme")
    assert revoked.revoked_at is not None
    assert accounts.verify_token(conn, plaintext) is None
    assert accounts.revoke_token(conn, token.id).revoked_at == revoked.revoked_at  # idempotent
    listed = accounts.list_tokens(conn, "acme")
    assert [(t.id, t.revoked_at) for t in listed] == [(token.id, revoked.revoked_at)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["read", "root"]}, "scopes"),
        ({"scopes": ""}, "scopes"),
        ({"name": ""}, "name"),
        ({"tenant_slug": "nope"}, "tenant"),
    ],
)
def test_token_rules(conn: Connection, kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"tenant_slug": "acme", **kwargs}
    with pytest.raises(AccountError) as exc:
        accounts.create_token(conn, **args)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_token_scopes_as_comma_string(conn: Connection) -> None:
    token, _ = accounts.create_token(conn, "acme", scopes="read, admin")
    assert token.scopes == {"read", "admin"}


def test_list_tokens_unknown_tenant(conn: Connection) -> None:
    with pytest.raises(AccountError) as exc:
        accounts.list_tokens(conn, "nope")
    assert rule_of(exc) == ("tenant", "not found")


# -- goals -------------------------------------------------------------------------------------


def test_url_and_event_goals(conn: Connection) -> None:
    page = accounts.add_goal(conn, "www.acme.test", "Signup page", path="/signup/*", match_type="wildcard")
    event = accounts.add_goal(conn, "acme.test", "Signups", event="Signup")
    assert (page.type, page.config()) == ("url", {"match_type": "wildcard", "path": "/signup/*"})
    assert (event.type, event.config()) == ("event", {"event_name": "Signup"})
    assert event.match_type is None and event.path is None and page.event_name is None
    assert page.is_active and ISO_UTC.match(page.created_at) and page.updated_at == page.created_at
    site = accounts.get_site(conn, "acme.test")
    assert site is not None
    assert {goal.id for goal in accounts.list_goals(conn, [site.id])} == {page.id, event.id}
    assert accounts.get_goal(conn, page.id, [site.id]) == page


def test_list_goals_active_only(conn: Connection) -> None:
    kept = accounts.add_goal(conn, "acme.test", "A", path="/a")
    paused = accounts.add_goal(conn, "acme.test", "B", path="/b", match_type="prefix")
    conn.execute(update(goals).where(goals.c.id == paused.id).values(is_active=False))
    site_id = kept.site_id
    assert [g.id for g in accounts.list_goals(conn, [site_id], active_only=True)] == [kept.id]
    assert len(accounts.list_goals(conn, [site_id])) == 2
    assert accounts.list_goals(conn, []) == []


def test_goal_of_another_tenant_is_invisible(conn: Connection) -> None:
    accounts.create_tenant(conn, "other")
    theirs = accounts.add_site(conn, "other", "other.test")
    goal = accounts.add_goal(conn, "other.test", "Theirs", path="/")
    mine = accounts.get_site(conn, "acme.test")
    assert mine is not None
    assert accounts.get_goal(conn, goal.id, [mine.id]) is None
    assert accounts.get_goal(conn, goal.id, []) is None
    assert accounts.get_goal(conn, "missing", [mine.id, theirs.id]) is None
    assert accounts.list_goals(conn, [mine.id]) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "goal"),
        ({"path": "/a", "event": "Signup"}, "goal"),
        ({"path": "signup"}, "path"),
        ({"path": "/a", "match_type": "regex"}, "match_type"),
        ({"event": "  "}, "event"),
        ({"path": "/a", "site_domain": "nope.test"}, "site"),
        ({"path": "/a", "name": ""}, "name"),
    ],
)
def test_goal_rules(conn: Connection, kwargs: dict[str, str], field: str) -> None:
    args: dict[str, str] = {"site_domain": "acme.test", "name": "G", **kwargs}
    with pytest.raises(AccountError) as exc:
        accounts.add_goal(conn, **args)  # type: ignore[arg-type]
    assert exc.value.field == field


# -- async callers -----------------------------------------------------------------------------


async def test_async_callers_use_run_sync(tmp_path: Path) -> None:
    db: Database = open_database(f"sqlite:///{tmp_path / 'async.db'}")
    upgrade(db.sync)
    try:
        async with db.aio.begin() as aconn:
            tenant = await aconn.run_sync(lambda c: accounts.create_tenant(c, "async-co"))
            _token, plaintext = await aconn.run_sync(lambda c: accounts.create_token(c, "async-co"))
        async with db.aio.begin() as aconn:
            token = await aconn.run_sync(lambda c: accounts.verify_token(c, plaintext))
        assert token is not None and token.tenant == tenant
    finally:
        await db.dispose()
