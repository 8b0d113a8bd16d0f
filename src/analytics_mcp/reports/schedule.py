"""When weekly reports go out, and sending them: each opted-in user gets their tenant's report
once per report week, on the configured weekday at or after the configured hour in the tenant's
time zone (a server that was down at that hour sends when it is back, the same week).

The week is claimed in the database before the mail is sent and marked sent after, so a
restart, a second server or `analytics-mcp reports send` never sends one week twice; a failed
send gives the claim back and is tried again on the next round.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool

from analytics_mcp.config import Settings
from analytics_mcp.periodic import periodic
from analytics_mcp.reports.render import compose
from analytics_mcp.reports.smtp import SmtpTarget, send
from analytics_mcp.reports.weekly import ReportWeek, build_report
from analytics_mcp.services import Services
from analytics_mcp.storage.report_subscriptions import (
    Subscriber,
    claim_week,
    mark_sent,
    release_week,
    subscribers,
)
from analytics_mcp.timeutil import local_day, utc_now

log = logging.getLogger("analytics_mcp.reports")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CHECK_EVERY_S = 300.0
Status = Literal["sent", "already sent", "not due", "failed"]


@dataclass(frozen=True)
class Delivery:
    email: str
    tenant: str
    week: str
    status: Status


def report_day(settings: Settings, today: date) -> date:
    """The configured weekday of `today`'s ISO week."""
    return today + timedelta(days=WEEKDAYS.index(settings.report_weekday) - today.weekday())


def due_week(settings: Settings, now: datetime, timezone: str) -> ReportWeek | None:
    """This week's report, if its local weekday and hour have come; else None."""
    local = now.astimezone(ZoneInfo(timezone))
    day = report_day(settings, local.date())
    if (local.date(), local.hour) < (day, settings.report_hour):
        return None
    return ReportWeek.ending_before(day)


async def deliver(services: Services, subscriber: Subscriber, week: ReportWeek) -> Status:
    """Claim, build, send, mark: one user's report of one week."""
    user, tenant = subscriber.user, subscriber.tenant
    db = services.db
    async with db.aio.begin() as conn:
        if not await conn.run_sync(lambda sync: claim_week(sync, user.id, week.key)):
            return "already sent"
    try:
        report = await build_report(services, tenant, week)
        message = compose(
            report,
            sender=services.settings.smtp_from,
            recipient=user.email,
            dashboard_url=f"{services.settings.base_url}/dashboard",
        )
        await run_in_threadpool(send, SmtpTarget.from_settings(services.settings), message)
    except Exception:
        log.exception("weekly report to user %s for %s not sent; tried again later", user.id, week.key)
        async with db.aio.begin() as conn:
            await conn.run_sync(lambda sync: release_week(sync, user.id, week.key))
        return "failed"
    async with db.aio.begin() as conn:
        await conn.run_sync(lambda sync: mark_sent(sync, user.id, week.key))
    return "sent"


async def _subscribers(services: Services, email: str | None = None) -> list[Subscriber]:
    async with services.db.aio.connect() as conn:
        everyone = await conn.run_sync(subscribers)
    return [s for s in everyone if email is None or s.user.email == email.strip().lower()]


async def send_due(services: Services, now: datetime) -> list[Delivery]:
    """One round of the schedule: every subscriber whose report is due and not yet sent."""
    out = []
    for subscriber in await _subscribers(services):
        week = due_week(services.settings, now, subscriber.tenant.timezone)
        status: Status = "not due" if week is None else await deliver(services, subscriber, week)
        out.append(_delivery(subscriber, week, status))
    return out


async def send_now(services: Services, now: datetime, email: str | None = None) -> list[Delivery]:
    """The CLI's "send now": the report of the 7 days before today, to every subscriber (or one),
    counted as this week's (so the schedule does not send it again)."""
    out = []
    for subscriber in await _subscribers(services, email):
        week = ReportWeek.ending_before(local_day(now, subscriber.tenant.timezone))
        out.append(_delivery(subscriber, week, await deliver(services, subscriber, week)))
    return out


def _delivery(subscriber: Subscriber, week: ReportWeek | None, status: Status) -> Delivery:
    return Delivery(subscriber.user.email, subscriber.tenant.slug, week.key if week else "", status)


async def _round(services: Services, clock: Callable[[], datetime]) -> None:
    sent = [d for d in await send_due(services, clock()) if d.status == "sent"]
    if sent:
        log.info("weekly reports sent: %d", len(sent))


@contextlib.asynccontextmanager
async def weekly_reports(
    services: Services, every: float = CHECK_EVERY_S, clock: Callable[[], datetime] = utc_now
) -> AsyncIterator[None]:
    """The schedule inside `serve` (the app's lifespan), when ANALYTICS_SMTP_URL is set: a round
    every `every` seconds (tests pass a pinned `clock`)."""
    if not services.settings.smtp_url:
        yield
        return
    async with periodic(lambda: _round(services, clock), every=every, what="reports weekly"):
        yield
