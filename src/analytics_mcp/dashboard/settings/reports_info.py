"""What the users section says about weekly email reports: when they go out, and whether mail
can be sent at all."""

from __future__ import annotations

from analytics_mcp.config import Settings
from analytics_mcp.storage.account_types import Tenant


def schedule_note(settings: Settings, tenant: Tenant) -> str:
    when = f"{settings.report_weekday.capitalize()}s at {settings.report_hour:02d}:00 ({tenant.timezone})"
    if not settings.smtp_url:
        return f"Weekly reports would go out on {when}, but no mail server is set (ANALYTICS_SMTP_URL)."
    return f"Weekly reports go out on {when}, covering the 7 days before."
