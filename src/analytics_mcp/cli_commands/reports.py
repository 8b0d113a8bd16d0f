"""`reports send`: the weekly email report now, to every opted-in user (or one), through
ANALYTICS_SMTP_URL. It counts as this week's report: the schedule inside `serve` does not send
that week again, and running it twice sends nothing the second time."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from analytics_mcp.cli_commands.common import CliError, emit_lines, group_parser
from analytics_mcp.config import Settings

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers
    from analytics_mcp.reports.schedule import Delivery


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "reports", "Weekly email reports.")
    send = group.add_parser(
        "send",
        help="Send the weekly report now; prints one JSON line per user.",
        description="Send the report of the 7 days before today to every user who opted in (or to "
        "--email), through ANALYTICS_SMTP_URL. A week already sent is not sent again.",
    )
    send.add_argument("--email", help="Only this user (they must have opted in).")
    send.set_defaults(func=reports_send)


def reports_send(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.smtp_url:
        raise CliError("ANALYTICS_SMTP_URL", "is not set: no mail server to send through")
    deliveries = asyncio.run(_send(settings, args.email))
    emit_lines(dataclasses.asdict(d) for d in deliveries)
    return 1 if any(d.status == "failed" for d in deliveries) else 0


async def _send(settings: Settings, email: str | None) -> list[Delivery]:
    from analytics_mcp.reports.schedule import send_now
    from analytics_mcp.services import Services

    services = Services.build(settings)
    try:
        return await send_now(services, datetime.now(UTC), email)
    finally:
        await services.close()
