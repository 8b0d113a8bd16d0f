"""What the `db copy` tests share: a SQLite install with demo data in every kind of table (made
through the real ingestion and account functions), the command run as a user runs it, and
PostgreSQL databases that are empty (not even migrated) as a new server's would be."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, inspect, select

from analytics_mcp.chat.models import Actor
from analytics_mcp.chat.store import append_messages, create_conversation, new_id
from analytics_mcp.chat.usage import open_request
from analytics_mcp.cli import main
from analytics_mcp.config import Settings
from analytics_mcp.demo.experiment import add_demo_experiment
from analytics_mcp.demo.run import (
    EMAIL,
    MAIN_SITE,
    TENANT,
    create_demo_accounts,
    load_demo_traffic,
    new_demo_token,
)
from analytics_mcp.platform.activations import add_activation, record_success
from analytics_mcp.platform.compute import compute_sync
from analytics_mcp.platform.memberships import day_number
from analytics_mcp.platform.profiles import import_profiles
from analytics_mcp.platform.segment_rules import SegmentDefinition
from analytics_mcp.platform.segments import create_segment
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts, oauth
from analytics_mcp.storage.db import open_database
from analytics_mcp.storage.report_subscriptions import claim_week, set_weekly_report
from analytics_mcp.storage.schema import metadata
from analytics_mcp.storage.sessions import create_session
from analytics_mcp.storage.share_links import create_share_link
from analytics_mcp.storage.subscriptions import new_subscription, save_subscription, utc_today
from analytics_mcp.timeutil import utcnow_iso
from pg_server import PostgresServer


@dataclass(frozen=True)
class Source:
    settings: Settings
    token: str  # read, ingest and admin

    @property
    def env(self) -> dict[str, str]:
        """The environment a user runs the CLI with: this install's data directory only."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("ANALYTICS_")}
        return {**env, "ANALYTICS_DATA_DIR": str(self.settings.data_dir)}

    def counts(self) -> dict[str, int]:
        return table_counts(self.settings.database_url)


def settings_for(data_dir: Path, db_url: str | None = None, events_url: str | None = None) -> Settings:
    return Settings(
        data_dir=data_dir,
        db_url=db_url,
        events_url=events_url,
        secret_key="copy-test",
        ingest_process=False,
        _env_file=None,
    )  # type: ignore[call-arg]


def build_source(data_dir: Path, days: int = 2) -> Source:
    """Two days of demo traffic, the demo experiment, a dashboard session and a chat exchange."""
    settings = settings_for(data_dir)
    services = Services.build(settings)
    try:
        create_demo_accounts(services, "demo-password")
        load_demo_traffic(services, days)
        add_demo_experiment(services, MAIN_SITE, days=days, daily_visitors=60)
        token = new_demo_token(services)
        with services.db.sync.begin() as conn:
            user = accounts.authenticate_user(conn, EMAIL, "demo-password")
            tenant = accounts.get_tenant(conn, TENANT)
            assert user is not None and tenant is not None
            create_session(conn, user)
            actor = Actor(tenant=tenant, user_id=user.id)
            conversation = new_id()
            create_conversation(conn, actor, "How many visitors?", conversation)
            request = open_request(conn, actor, "claude-test", conversation)
            answer = [{"type": "text", "text": "Many."}]
            question = [{"type": "text", "text": "How many visitors?"}]
            append_messages(
                conn,
                conversation,
                request,
                [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
            )
            connector_grant(conn, user.id, tenant.id)
            share_and_report(conn, user.id, tenant.id)
        platform_rows(services, tenant.id)
    finally:
        services.db.sync.dispose()
    return Source(settings, token)


def connector_grant(conn: Connection, user_id: int, tenant_id: int) -> None:
    """A remote connector's OAuth client, approved request and token pair (the oauth_* rows)."""
    resource = "http://127.0.0.1:8000/mcp/analytics"
    oauth.register_client(conn, "connector-1", None, "{}")
    request = oauth.Authorization(
        client_id="connector-1", redirect_uri="http://127.0.0.1:9/callback", redirect_uri_explicit=True,
        code_challenge="c" * 43, scopes=("read",), resource=resource, state=None, user_id=None,
        tenant_id=None, grant_id=None, expires_ms=0,
    )  # fmt: skip
    assert oauth.approve(conn, oauth.create_request(conn, request), user_id, tenant_id, ("read",))
    grant = oauth.GrantToken("access", "grant-1", "connector-1", user_id, tenant_id, ("read",), resource, 0)
    oauth.issue_tokens(conn, grant)


def share_and_report(conn: Connection, user_id: int, tenant_id: int) -> None:
    """A share link, a weekly email report subscription and a claimed delivery."""
    create_share_link(conn, tenant_id, MAIN_SITE, "Public stats")
    set_weekly_report(conn, tenant_id, user_id, True)
    assert claim_week(conn, user_id, "2026-W01")


def platform_rows(services: Services, tenant_id: int) -> None:
    """Platform analytics (seed 001): profiles, two computed segments sharing a member (memberships,
    days, overlaps, totals), a subscription, and a webhook connector with a successful sync (its
    members and log)."""
    with services.db.sync.connect() as conn:
        sites = accounts.list_sites(conn, tenant_id)
    lines: list[Any] = [
        {"user_id": "c1", "traits": {"plan": "pro", "newsletter": True}},
        {"user_id": "c2", "traits": {"plan": "pro"}},
        {"user_id": "c3", "traits": {"plan": "free", "newsletter": True}},
    ]

    async def imported() -> None:  # and the async pools closed on the loop that opened them
        await import_profiles(services, tenant_id, sites, lines)
        for db in services.sql_databases():
            await db.aio.dispose()

    asyncio.run(imported())
    day = utc_today()
    with services.db.sync.begin() as conn:
        pro, letter = (
            create_segment(conn, tenant_id, SegmentDefinition.model_validate(
                {"name": name, "rules": [{"type": "trait", "trait": trait, "op": "equals", "value": value}]}
            )).id
            for name, trait, value in (("Pro", "plan", "pro"), ("Newsletter", "newsletter", True))
        )  # fmt: skip
        save_subscription(conn, new_subscription(tenant_id, "business", day.replace(day=1), day))
    computed = compute_sync(services.db.sync, services.events_db.sync, tenant_id, day)  # type: ignore[union-attr]
    assert [c.member_count for c in computed] == [2, 2]
    with services.db.sync.begin() as conn:
        hook = add_activation(
            conn, tenant_id, pro, "webhook", url="https://hooks.example.com/x", secret="s" * 32
        )
        record_success(conn, hook.id, ["c1", "c2"], [], 2, day_number(day), utcnow_iso())
    assert letter != pro


def table_counts(url: str) -> dict[str, int]:
    db = open_database(url)
    try:
        with db.sync.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in metadata.sorted_tables
                if table.name in present
            }
    finally:
        db.sync.dispose()


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def report(self) -> dict[str, Any]:
        lines = self.out.splitlines()
        assert len(lines) == 1, (self.out, self.err)
        return dict(json.loads(lines[0]))

    def refused(self, text: str) -> None:
        """A refusal as the CLI gives it: exit 2, one line on stderr naming the problem."""
        assert self.code == 2, (self.code, self.out, self.err)
        assert self.err.startswith("error: ") and self.err.count("\n") == 1, self.err
        assert text in self.err and "Traceback" not in self.err, self.err


Copy = Callable[..., Run]  # `db copy ARGV` of the module's source install: the `copy` fixture


def copy_cli(
    source: Source, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> Run:
    """`analytics-mcp db copy ARGV` through the CLI's main(), in this install's environment."""
    for name in [name for name in os.environ if name.startswith("ANALYTICS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(source.settings.data_dir))
    capsys.readouterr()
    code = main(["db", "copy", *argv])
    out, err = capsys.readouterr()
    return Run(code, out, err)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    """The install a test module copies (import this fixture and `copy` into the module)."""
    return build_source(tmp_path_factory.mktemp("source") / "data")


@pytest.fixture
def copy(source: Source, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Copy:
    return partial(copy_cli, source, monkeypatch, capsys)


def copy_process(source: Source, *argv: str) -> subprocess.Popen[str]:
    """`analytics-mcp db copy ARGV` in its own process, as a shell runs it."""
    command = [sys.executable, "-m", "analytics_mcp.cli", "db", "copy", *argv]
    return subprocess.Popen(
        command, env=source.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@contextmanager
def empty_database(server: PostgresServer, name: str) -> Iterator[str]:
    """A new PostgreSQL database without any table (what `createdb` gives an operator)."""
    unique = f"{name}_{os.getpid()}"
    server.admin(f'CREATE DATABASE "{unique}"')
    url = server.url(unique)
    try:
        yield url
    finally:
        server.drop(url)
