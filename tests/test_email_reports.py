"""Weekly email reports against a loopback SMTP server (aiosmtpd) with a pinned "now": the
schedule (weekday and hour in the tenant's zone), once per week whatever restarts, the same
numbers as the REST API, a failed send tried again, the CLI's "send now", the SMTP URL forms."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.cli import main
from analytics_mcp.config import Settings
from analytics_mcp.field_error import FieldError
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.reports.schedule import send_due, weekly_reports
from analytics_mcp.reports.smtp import SmtpTarget
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.report_subscriptions import sent_weeks, set_weekly_report
from factories import event, make_token
from smtp_server import free_port, smtp_server

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")  # split: reports read both roles
PASSWORD = "correct horse battery"
BERLIN = "Europe/Berlin"
# Monday 23 November 2026; reports go out on Mondays from 08:00 Berlin time (07:00 UTC).
BEFORE = datetime(2026, 11, 23, 6, 59, tzinfo=UTC)
DUE = datetime(2026, 11, 23, 7, 5, tzinfo=UTC)
WEEK = "2026-W48"  # covers Mon 16 - Sun 22 November


def text_of(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


@pytest.fixture
def world(app: Starlette) -> tuple[Services, accounts.User]:
    """Acme (Berlin) with traffic in the report week and the one before; its owner opted in, a
    viewer not; another tenant's opted-in user whose tenant has no traffic."""
    services: Services = app.state.services
    with services.db.sync.begin() as conn:
        accounts.create_tenant(conn, "acme", "Acme", timezone=BERLIN)
        accounts.add_site(conn, "acme", "acme.test")
        accounts.add_goal(conn, "acme.test", "Pricing", path="/pricing")
        owner = accounts.create_user(conn, "owner@acme.test", "acme", PASSWORD)
        accounts.create_user(conn, "viewer@acme.test", "acme", PASSWORD, "viewer")
        accounts.create_tenant(conn, "other", "Other", timezone="America/New_York")
        other = accounts.create_user(conn, "them@other.test", "other", PASSWORD)
        set_weekly_report(conn, owner.tenant_id, owner.id, True)
        set_weekly_report(conn, other.tenant_id, other.id, True)
    events = []
    for n in range(30):
        when = datetime(2026, 11, 9, 12, tzinfo=UTC) + timedelta(days=n % 14, minutes=n)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        events.append(event(stamp, "/pricing" if n % 3 else "/", ip=f"198.51.100.{n + 1}"))
    assert ingest_events(services.ingestor, events).rejected == 0
    return services, owner


async def test_reports_go_out_once_at_the_tenants_hour_with_the_apis_numbers(
    app: Starlette, client: httpx2.AsyncClient, world: tuple[Services, accounts.User]
) -> None:
    services, owner = world
    with smtp_server() as box:
        services.settings.smtp_url = box.url
        services.settings.smtp_from = "reports@analytics.test"
        early = await send_due(services, BEFORE)
        assert {d.status for d in early} == {"not due"} and box.messages == []
        first = await send_due(services, DUE)
        assert [(d.email, d.week, d.status) for d in first] == [
            ("owner@acme.test", WEEK, "sent"),
            ("them@other.test", "", "not due"),  # 02:05 in New York: not yet 08:00 there
        ]
        for later in (DUE, DUE + timedelta(hours=5), DUE + timedelta(days=6)):  # restarts, rounds
            statuses = {d.email: d.status for d in await send_due(services, later)}
            assert statuses[owner.email] == "already sent"
        # New York's 08:00 came in the same week (Sunday 29th, 02:05 there is after Monday 08:00).
        assert box.recipients == [["owner@acme.test"], ["them@other.test"]]
    message = box.messages[0]
    assert message["From"] == "reports@analytics.test" and message["To"] == "owner@acme.test"
    assert message["Subject"] == "Weekly report · Acme · Mon 16 Nov – Sun 22 Nov"
    headers = {"Authorization": f"Bearer {make_token(services)}"}
    week = {"from": "2026-11-16", "to": "2026-11-22"}
    overview = (await client.get("/api/v1/stats/overview", params=week, headers=headers)).json()["data"]
    pages = (await client.get("/api/v1/stats/pages", params=week, headers=headers)).json()["data"]
    text, html = text_of(message, "plain"), text_of(message, "html")
    assert overview["visitors"] > 0
    assert f"- Visitors: {overview['visitors']} (" in text
    assert f"- Pageviews: {overview['pageviews']} (" in text
    assert f"- {pages[0]['pathname']}: {pages[0]['visitors']} visitors" in text
    assert "Mon 16 Nov – Sun 22 Nov 2026 (Europe/Berlin)" in text and "Pricing:" in text
    assert f">{overview['visitors']}</td>" in html and "http://127.0.0.1:8000/dashboard" in html
    with services.db.sync.begin() as conn:
        assert sent_weeks(conn, owner.id) == [WEEK]


async def test_a_failed_send_is_tried_again_next_round(world: tuple[Services, accounts.User]) -> None:
    services, owner = world
    port = free_port()
    services.settings.smtp_url = f"smtp://127.0.0.1:{port}"  # nobody listens yet
    failed = await send_due(services, DUE)
    assert [d.status for d in failed if d.email == owner.email] == ["failed"]
    with services.db.sync.begin() as conn:
        assert sent_weeks(conn, owner.id) == []
    with smtp_server(port) as box:
        services.settings.smtp_url = box.url
        again = await send_due(services, DUE + timedelta(minutes=5))
        assert [d.status for d in again if d.email == owner.email] == ["sent"]
        assert len(box.messages) == 1


async def test_the_schedule_runs_inside_the_server(world: tuple[Services, accounts.User]) -> None:
    services, _owner = world
    with smtp_server() as box:
        services.settings.smtp_url = box.url
        async with weekly_reports(services, every=0.05, clock=lambda: DUE):
            for _ in range(200):
                if box.messages:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # several more rounds
        assert box.recipients == [["owner@acme.test"]]


def test_send_now_from_the_cli(
    settings: Settings,
    world: tuple[Services, accounts.User],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {
        **os.environ,
        "ANALYTICS_DATA_DIR": str(settings.data_dir),
        "ANALYTICS_SECRET_KEY": "test-secret",
        "ANALYTICS_SMTP_FROM": "reports@analytics.test",
    }
    if settings.db_url:
        env["ANALYTICS_DB_URL"] = settings.db_url
    if settings.events_url:
        env["ANALYTICS_EVENTS_URL"] = settings.events_url
    argv = ["reports", "send", "--email", "owner@acme.test"]
    # The refusal without a mail server through main(argv) in this process, as test_cli runs the
    # CLI's errors (a child process only to be refused cost ~1.5 s of CPU importing the CLI); the
    # sends below are real processes, the second a new run that finds the week sent.
    for name, value in env.items():
        if name.startswith("ANALYTICS_"):
            monkeypatch.setenv(name, value)
    unset = main(argv), capsys.readouterr().err
    assert unset[0] != 0 and "ANALYTICS_SMTP_URL" in unset[1], unset
    command = [sys.executable, "-m", "analytics_mcp.cli", *argv]
    with smtp_server() as box:
        env["ANALYTICS_SMTP_URL"] = box.url
        first = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        second = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert '"status": "sent"' in first.stdout and '"status": "already sent"' in second.stdout
    assert box.recipients == [["owner@acme.test"]]
    assert box.messages[0]["Subject"].startswith("Weekly report · Acme · ")


def test_smtp_urls() -> None:
    plain = SmtpTarget.parse("smtp://relay.example")
    assert (plain.host, plain.port, plain.security, plain.username) == ("relay.example", 587, "auto", None)
    tls = SmtpTarget.parse("smtps://me%40x.test:p%40ss@mail.example")
    assert (tls.port, tls.security, tls.username, tls.password) == (465, "tls", "me@x.test", "p@ss")
    assert SmtpTarget.parse("smtp://h:25?starttls=always").security == "always"
    for bad in ("http://h", "smtp://", "smtp://h:99999", "smtp://h?starttls=maybe"):
        with pytest.raises(FieldError, match="ANALYTICS_SMTP_URL"):
            SmtpTarget.parse(bad)
