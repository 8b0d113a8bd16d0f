"""`/dashboard/account`: what every signed-in user (viewers too) may change for themselves: their
own weekly email report. The same opt-in an admin sets per user in Settings > Users."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from analytics_mcp.dashboard.settings.guard import Refused, admin_of, in_transaction, read_form
from analytics_mcp.dashboard.settings.reports_info import schedule_note
from analytics_mcp.dashboard.state import services_of
from analytics_mcp.dashboard.views import page
from analytics_mcp.storage.account_rules import ROLES
from analytics_mcp.storage.report_subscriptions import set_weekly_report, subscribed_ids

PATH = "/dashboard/account"
EVERYONE = frozenset(ROLES)
NOTICES = {"on": "Weekly email report turned on.", "off": "Weekly email report turned off."}


async def account_page(request: Request) -> Response:
    try:
        me = await admin_of(request, EVERYONE)
    except Refused as refused:
        return refused.response
    subscribed = await in_transaction(request, lambda conn: subscribed_ids(conn, me.tenant.id))
    return page(
        "settings/account.html",
        csrf=me.csrf,
        email=me.user.email,
        weekly=me.user.id in subscribed,
        reports=schedule_note(services_of(request).settings, me.tenant),
        notice=NOTICES.get(request.query_params.get("done", "")),
    )


async def account_change(request: Request) -> Response:
    try:
        me = await admin_of(request, EVERYONE)
        form = await read_form(request, me)
    except Refused as refused:
        return refused.response
    on = form.get("weekly") == "1"
    await in_transaction(request, lambda conn: set_weekly_report(conn, me.tenant.id, me.user.id, on))
    return RedirectResponse(f"{PATH}?done={'on' if on else 'off'}", status_code=303)


def account_routes(page_middleware: list[Middleware], form_middleware: list[Middleware]) -> list[BaseRoute]:
    return [
        Route(PATH, account_page, methods=["GET"], middleware=page_middleware),
        Route(PATH, account_change, methods=["POST"], middleware=form_middleware),
    ]
