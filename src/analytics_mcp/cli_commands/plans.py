"""`plans`: a tenant's subscription (plan name and tier, billing period, limits; -1 unlimited)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any

from analytics_mcp.cli_commands.common import CliError, emit, group_parser, transaction
from analytics_mcp.config import Settings
from analytics_mcp.storage.account_core import require_tenant
from analytics_mcp.storage.schema import PLAN_LIMITS
from analytics_mcp.storage.subscriptions import (
    Subscription,
    delete_subscription,
    get_subscription,
    new_subscription,
    save_subscription,
    utc_today,
)

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a date like 2026-05-01") from None


def _limit(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number, or -1 for unlimited") from None
    if number < -1:
        raise argparse.ArgumentTypeError("must be >= 0, or -1 for unlimited")
    return number


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "plans", "Set, show and remove a tenant's subscription.")
    put = group.add_parser("set", help="Set the tenant's subscription; prints it as JSON.")
    put.add_argument("--tenant", required=True, help="The tenant's slug.")
    put.add_argument(
        "--tier", required=True, choices=tuple(PLAN_LIMITS), help="Plan tier (also gates features)."
    )
    put.add_argument("--name", help="Plan name shown to users (default: the tier, capitalised).")
    put.add_argument(
        "--period-start", type=_day, help="First day of the billing period (default: 1st of this month)."
    )
    put.add_argument("--period-end", type=_day, help="Last day (inclusive; default: end of that month).")
    for name in ("events", "users", "segments", "ai-credits"):
        put.add_argument(
            f"--{name}", type=_limit, help=f"Limit of {name} (-1 unlimited; default: the tier's)."
        )
    put.set_defaults(func=plans_set)
    show = group.add_parser("show", help="Print the tenant's subscription and current period as JSON.")
    show.add_argument("--tenant", required=True)
    show.set_defaults(func=plans_show)
    remove = group.add_parser("remove", help="Remove the tenant's subscription.")
    remove.add_argument("--tenant", required=True)
    remove.set_defaults(func=plans_remove)


def subscription_json(sub: Subscription, today: date) -> dict[str, Any]:
    first, last = sub.period_on(today)
    return {
        "plan_name": sub.plan_name,
        "plan_tier": sub.plan_tier,
        "period_start": sub.period_start.isoformat(),
        "period_end": sub.period_end.isoformat(),
        "current_period": {"start": first.isoformat(), "end": last.isoformat()},
        "limits": sub.limits,
    }


def _month_end(start: date) -> date:
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def plans_set(args: argparse.Namespace, settings: Settings) -> int:
    today = utc_today()
    start = args.period_start or today.replace(day=1)
    end = args.period_end or _month_end(start)
    limits = {
        "events": args.events,
        "users": args.users,
        "segments": args.segments,
        "ai_credits": args.ai_credits,
    }
    with transaction(settings) as conn:
        tenant = require_tenant(conn, args.tenant)
        sub = new_subscription(tenant.id, args.tier, start, end, plan_name=args.name, limits=limits)
        save_subscription(conn, sub)
    emit(subscription_json(sub, today))
    return 0


def plans_show(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        sub = get_subscription(conn, require_tenant(conn, args.tenant).id)
    if sub is None:
        raise CliError("tenant", "has no subscription")
    emit(subscription_json(sub, utc_today()))
    return 0


def plans_remove(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        if not delete_subscription(conn, require_tenant(conn, args.tenant).id):
            raise CliError("tenant", "has no subscription")
    emit({"removed": args.tenant})
    return 0
