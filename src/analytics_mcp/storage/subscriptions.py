"""Subscriptions: a tenant's plan, billing period and limits (-1 = unlimited).

The billing period is a range of whole UTC days, both ends included. Once `period_end` has
passed, periods repeat with the same length: a period that spans whole calendar months (the 1st
to the last day of a month, or the 15th to the 14th) moves on by that many months, any other by
its number of days. So a subscription set once keeps renewing, and "the current period" always
contains today.

Sync (Connection first, caller owns the transaction), like the rest of storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, func, select, update

from analytics_mcp.storage.account_rules import check_name, check_plan, plan_limits
from analytics_mcp.storage.account_types import AccountError
from analytics_mcp.storage.plans_schema import subscriptions
from analytics_mcp.storage.schema import PLAN_LIMITS, chat_requests, tenants
from analytics_mcp.timeutil import local_midnight_ms, utcnow_iso

UNLIMITED = -1
UTC_ZONE = ZoneInfo("UTC")
LIMIT_FIELDS = ("events", "users", "segments", "ai_credits")
# Profiles ("users") per tier when not given: the plans table has no profile limit of its own.
DEFAULT_PROFILES = {
    "free": 1_000,
    "starter": 20_000,
    "pro": 100_000,
    "growth": 500_000,
    "business": 2_000_000,
    "enterprise": -1,
}


class LimitReached(Exception):
    """One more `what` would pass the subscription's (or plan's) limit: refused with 403."""

    def __init__(self, what: str, limit: int, plan: str) -> None:
        self.what, self.limit, self.plan = what, limit, plan
        super().__init__(f"The {plan} plan allows at most {limit} {what}; this account has reached it.")


@dataclass(frozen=True, slots=True)
class Subscription:
    tenant_id: int
    plan_name: str
    plan_tier: str
    period_start: date
    period_end: date
    limits: dict[str, int]  # events, users, segments, ai_credits

    def period_on(self, today: date) -> tuple[date, date]:
        return current_period(self.period_start, self.period_end, today)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for candidate in (day.day, 30, 29, 28):  # the 31st of a shorter month: its last day
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _whole_months(start: date, end: date) -> int | None:
    """How many calendar months [start, end] spans exactly, None if not whole months."""
    after = end + timedelta(days=1)
    months = (after.year - start.year) * 12 + after.month - start.month
    return months if months > 0 and _add_months(start, months) == after else None


def current_period(start: date, end: date, today: date) -> tuple[date, date]:
    """The period containing `today` (the first one while it has not begun)."""
    if today <= end:
        return start, end
    months = _whole_months(start, end)
    if months is None:
        length = (end - start).days + 1
        skipped = (today - start).days // length
        first = start + timedelta(days=skipped * length)
        return first, first + timedelta(days=length - 1)
    count = 0
    while _add_months(start, months * (count + 1)) <= today:
        count += 1
    first = _add_months(start, months * count)
    return first, _add_months(start, months * (count + 1)) - timedelta(days=1)


def day_start_ms(day: date) -> int:
    """00:00 UTC of `day` in epoch ms: billing periods are whole UTC days."""
    return local_midnight_ms(day, UTC_ZONE)


def utc_today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(UTC).date()


def _row_to(row: Row[Any]) -> Subscription:
    values = row._mapping
    return Subscription(
        tenant_id=values["tenant_id"],
        plan_name=values["plan_name"],
        plan_tier=values["plan_tier"],
        period_start=date.fromisoformat(values["period_start"]),
        period_end=date.fromisoformat(values["period_end"]),
        limits={name: int(values[f"{name}_limit"]) for name in LIMIT_FIELDS},
    )


def get_subscription(conn: Connection, tenant_id: int) -> Subscription | None:
    row = conn.execute(select(subscriptions).where(subscriptions.c.tenant_id == tenant_id)).first()
    return _row_to(row) if row is not None else None


def default_limits(tier: str) -> dict[str, int]:
    plan = PLAN_LIMITS[check_plan(tier)]
    return {
        "events": plan["events_per_month"],
        "users": DEFAULT_PROFILES[tier],
        "segments": plan["segments"],
        "ai_credits": plan["ai_credits"],
    }


def check_limit(name: str, value: int) -> int:
    if not isinstance(value, int) or value < UNLIMITED:
        raise AccountError(name, "must be a whole number >= 0, or -1 for unlimited")
    return value


def new_subscription(
    tenant_id: int,
    tier: str,
    period_start: date,
    period_end: date,
    *,
    plan_name: str | None = None,
    limits: dict[str, int | None] | None = None,
) -> Subscription:
    """A checked subscription: limits not given come from the tier."""
    if period_end < period_start:
        raise AccountError("period_end", "must not be before period_start")
    merged = default_limits(tier)
    for name, value in (limits or {}).items():
        if name not in LIMIT_FIELDS:
            raise AccountError(name, f"unknown limit; one of {', '.join(LIMIT_FIELDS)}")
        if value is not None:
            merged[name] = check_limit(name, value)
    name = check_name("plan_name", plan_name or tier.capitalize(), max_len=100)
    return Subscription(tenant_id, name, tier, period_start, period_end, merged)


def save_subscription(conn: Connection, sub: Subscription) -> Subscription:
    """Insert or replace the tenant's subscription; the tenant's plan becomes its tier."""
    now = utcnow_iso()
    values = {
        "plan_name": sub.plan_name,
        "plan_tier": sub.plan_tier,
        "period_start": sub.period_start.isoformat(),
        "period_end": sub.period_end.isoformat(),
        **{f"{name}_limit": sub.limits[name] for name in LIMIT_FIELDS},
        "updated_at": now,
    }
    changed = conn.execute(
        update(subscriptions).where(subscriptions.c.tenant_id == sub.tenant_id).values(**values)
    ).rowcount
    if not changed:
        conn.execute(subscriptions.insert().values(tenant_id=sub.tenant_id, created_at=now, **values))
    conn.execute(update(tenants).where(tenants.c.id == sub.tenant_id).values(plan=sub.plan_tier))
    return sub


def delete_subscription(conn: Connection, tenant_id: int) -> bool:
    return bool(conn.execute(subscriptions.delete().where(subscriptions.c.tenant_id == tenant_id)).rowcount)


def over_limit(limit: int, used: int) -> bool:
    """Whether `used` has reached `limit` (never for -1)."""
    return limit != UNLIMITED and used >= limit


# -- AI credits ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreditTerms:
    """The AI credits in force on a day: the subscription's for its billing period, else the
    plan's for the calendar month (UTC)."""

    limit: int
    first: date  # first day counted
    renews: date  # first day of the next period
    plan: str  # the plan's name, for messages
    monthly: bool  # no subscription: the calendar month


def first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def credit_terms(conn: Connection, tenant_id: int, tenant_plan: str, today: date) -> CreditTerms:
    sub = get_subscription(conn, tenant_id)
    if sub is None:
        limit = plan_limits(tenant_plan)["ai_credits"]
        return CreditTerms(limit, today.replace(day=1), first_of_next_month(today), tenant_plan, monthly=True)
    first, last = sub.period_on(today)
    return CreditTerms(
        sub.limits["ai_credits"], first, last + timedelta(days=1), sub.plan_name, monthly=False
    )


def credits_used(
    conn: Connection, tenant_id: int, first: date, renews: date, excluding: str | None = None
) -> int:
    """Credits of the tenant's chat requests on the UTC days first..renews (exclusive); `excluding`
    leaves out one request (the one being admitted)."""
    query = select(func.coalesce(func.sum(chat_requests.c.credits), 0)).where(
        chat_requests.c.tenant_id == tenant_id,
        chat_requests.c.day >= first.isoformat(),
        chat_requests.c.day < renews.isoformat(),
    )
    if excluding is not None:
        query = query.where(chat_requests.c.id != excluding)
    return int(conn.execute(query).scalar_one())
