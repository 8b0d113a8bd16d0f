"""The ops side's platform reports: overview numbers, activations with their sync history,
copilot (the AI chat's requests) and usage. Definitions in docs/platform.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from analytics_mcp.platform.activations import Activation, SyncLog, list_activations, recent_logs
from analytics_mcp.platform.plans import tenant_events
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Tenant
from analytics_mcp.storage.plans_schema import activation_sync_logs
from analytics_mcp.storage.schema import chat_requests
from analytics_mcp.storage.subscriptions import credit_terms, credits_used

WINDOW_DAYS = 30
RATE_LOGS = 30  # success_rate: over the newest 30 logs
SHOWN_LOGS = 5


def success_rate(statuses: list[str]) -> int | None:
    """Whole percent of successes, half up; None without logs."""
    if not statuses:
        return None
    wins = statuses.count("success")
    return (200 * wins + len(statuses)) // (2 * len(statuses))


@dataclass(frozen=True, slots=True)
class ActivationReport:
    activation: Activation
    member_count: int  # members sent by the last successful sync (0 before one)
    success_rate: int | None
    logs: list[SyncLog]  # newest first, at most SHOWN_LOGS


def _last_success_count(conn: Connection, activation_id: int) -> int:
    table = activation_sync_logs.c
    query = (
        select(table.user_count)
        .where(table.activation_id == activation_id, table.status == "success")
        .order_by(table.id.desc())
        .limit(1)
    )
    return int(conn.execute(query).scalar_one_or_none() or 0)


def activation_reports(conn: Connection, tenant_id: int) -> list[ActivationReport]:
    reports: list[ActivationReport] = []
    for activation in list_activations(conn, tenant_id):
        logs = recent_logs(conn, activation.id, RATE_LOGS)
        rate = success_rate([log.status for log in logs])
        count = _last_success_count(conn, activation.id)
        reports.append(ActivationReport(activation, count, rate, logs[:SHOWN_LOGS]))
    return reports


@dataclass(frozen=True, slots=True)
class CopilotDay:
    day: str
    success: int
    error: int


def copilot_days(conn: Connection, tenant_id: int, today: date) -> list[CopilotDay]:
    """Chat requests by UTC day over the 30 days ending today, days without any left out."""
    first = today - timedelta(days=WINDOW_DAYS - 1)
    table = chat_requests.c
    query = (
        select(table.day, table.status, func.count())
        .where(
            table.tenant_id == tenant_id,
            table.day >= first.isoformat(),
            table.day <= today.isoformat(),
            table.status.in_(("success", "error")),
        )
        .group_by(table.day, table.status)
    )
    counts: dict[str, dict[str, int]] = {}
    for day, status, count in conn.execute(query):
        counts.setdefault(day, {"success": 0, "error": 0})[status] = int(count)
    return [CopilotDay(day, c["success"], c["error"]) for day, c in sorted(counts.items())]


@dataclass(frozen=True, slots=True)
class Credits:
    used: int
    limit: int


def current_credits(conn: Connection, tenant: Tenant, today: date) -> Credits:
    terms = credit_terms(conn, tenant.id, tenant.plan, today)
    return Credits(credits_used(conn, tenant.id, terms.first, terms.renews), terms.limit)


async def events_30d(services: Services, tenant: Tenant, now: datetime) -> int:
    """Events of the tenant's sites over the 30 days ending today in the tenant's zone (engagement
    reports aside), counted by UTC day bounds of those local days."""
    local_today = now.astimezone(ZoneInfo(tenant.timezone)).date()
    first = local_today - timedelta(days=WINDOW_DAYS - 1)
    return await tenant_events(services, tenant.id, first, local_today, zone=ZoneInfo(tenant.timezone))
