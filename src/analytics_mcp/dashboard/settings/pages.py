"""The settings routes: one page per section (GET) and one POST per action, built from
`sections.SECTIONS`. A change redirects back to its page (303, nothing repeats on reload); a
created secret (API token, share link) is shown on the answer to its POST, once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from analytics_mcp.dashboard.settings.guard import (
    Admin,
    Form,
    Refused,
    admin_of,
    context,
    done,
    error_status,
    in_transaction,
    read_form,
)
from analytics_mcp.dashboard.settings.reports_info import schedule_note
from analytics_mcp.dashboard.settings.sections import DONE, SECTIONS, Action, Reveal, Section
from analytics_mcp.dashboard.state import services_of
from analytics_mcp.dashboard.views import page
from analytics_mcp.storage.account_types import AccountError

PREFIX = "/dashboard/settings"
Endpoint = Callable[[Request], Awaitable[Response]]
HIDDEN_FIELDS = ("csrf", "password")  # never sent back into a form


async def render(
    request: Request, admin: Admin, section: Section, status: int = 200, **extra: Any
) -> Response:
    data = await in_transaction(request, lambda conn: section.load(conn, admin))
    base = f"{request.url.scheme}://{request.url.netloc}"
    reports = schedule_note(services_of(request).settings, admin.tenant)
    names = [(s.name, s.title) for s in SECTIONS]
    ctx = context(admin, section.name, sections=names, base=base, reports=reports, **data, **extra)
    return page(f"settings/{section.name}.html", status, **ctx)


def show(section: Section) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            admin = await admin_of(request)
        except Refused as refused:
            return refused.response
        notice = DONE.get(request.query_params.get("done", ""))
        return await render(request, admin, section, notice=notice)

    return endpoint


def act(section: Section, name: str, action: Action) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            admin = await admin_of(request)
            form = await read_form(request, admin)
        except Refused as refused:
            return refused.response
        try:
            outcome = await in_transaction(request, lambda conn: action(conn, admin, form.checked()))
        except AccountError as exc:
            return await _refused_change(request, admin, section, name, form, exc)
        if isinstance(outcome, Reveal):
            return await render(request, admin, section, reveal=outcome)
        return done(section.name, outcome)

    return endpoint


async def _refused_change(
    request: Request, admin: Admin, section: Section, name: str, form: Form, exc: AccountError
) -> Response:
    errors = {exc.field: [exc.rule]}
    values = {key: value for key, value in form.values.items() if key not in HIDDEN_FIELDS}
    status = error_status(errors)
    return await render(request, admin, section, status, errors=errors, values=values, action=name or "add")


async def settings_home(_request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/{SECTIONS[0].name}", status_code=303)


def settings_routes(page_middleware: list[Middleware], form_middleware: list[Middleware]) -> list[BaseRoute]:
    routes: list[BaseRoute] = [Route(PREFIX, settings_home, middleware=page_middleware)]
    for section in SECTIONS:
        path = f"{PREFIX}/{section.name}"
        routes.append(Route(path, show(section), methods=["GET"], middleware=page_middleware))
        for name, action in section.actions.items():
            action_path = f"{path}/{name}" if name else path
            endpoint = act(section, name, action)
            routes.append(Route(action_path, endpoint, methods=["POST"], middleware=form_middleware))
    return routes
