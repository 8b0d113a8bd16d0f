"""Who may use the settings pages, and how their forms are read and answered.

Only a signed-in owner or admin of a tenant gets in (a viewer gets 403, no session goes to the
sign-in page); every POST carries the session's CSRF token in its `csrf` field. A rule broken by
an account function (`AccountError`) is shown beside its field; "not found" (another tenant's id
or one that does not exist, the same words either way) is a 404, anything else a 422.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from analytics_mcp.dashboard.state import services_of
from analytics_mcp.dashboard.views import page
from analytics_mcp.field_error import NUL_RULE
from analytics_mcp.http_api import csrf
from analytics_mcp.http_api.auth import MANAGER_ROLES, current_session, session_csrf
from analytics_mcp.storage.account_types import AccountError, Tenant, User
from analytics_mcp.storage.sessions import DashboardSession

T = TypeVar("T")
MAX_FIELD = 2048
MAX_FIELDS = 20
NOT_FOUND = "not found"


class Refused(Exception):
    """Answer this response instead of running the handler (sign in first, 403)."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass(frozen=True)
class Admin:
    """A signed-in owner or admin, with the CSRF token their forms carry."""

    session: DashboardSession
    csrf: str

    @property
    def user(self) -> User:
        return self.session.user

    @property
    def tenant(self) -> Tenant:
        return self.session.tenant


@dataclass
class Form:
    """A posted form's fields (the first value of each) and lists (every value, repeated fields)."""

    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self) -> Form:
        """Itself, once no field is over MAX_FIELD or holds a NUL (no column takes one)."""
        for name, items in self.lists.items():
            for value in items:
                if len(value) > MAX_FIELD:
                    raise AccountError(name, f"must be at most {MAX_FIELD} characters")
                if "\x00" in value:
                    raise AccountError(name, NUL_RULE)
        return self


def forbidden(admin_email: str) -> Response:
    return page("settings/forbidden.html", 403, email=admin_email)


async def admin_of(request: Request, roles: frozenset[str] = MANAGER_ROLES) -> Admin:
    """The signed-in owner or admin (or any of `roles`) of this request, else Refused (sign-in
    redirect or 403)."""
    session = await current_session(request, services_of(request))
    if session is None:
        target = quote(request.url.path, safe="/")
        raise Refused(RedirectResponse(f"/login?next={target}", status_code=303))
    if session.user.role not in roles:
        raise Refused(forbidden(session.user.email))
    return Admin(session, session_csrf(request, session))


async def read_form(request: Request, admin: Admin) -> Form:
    """The posted fields, once the CSRF token is checked (403 otherwise)."""
    form = Form()
    async with request.form(max_files=0, max_fields=MAX_FIELDS) as data:
        for key in data:
            items = [v for v in data.getlist(key) if isinstance(v, str)]
            form.lists[key] = items
            form.values[key] = items[0] if items else ""
    if not csrf.matches(admin.csrf, form.values.get(csrf.FIELD)):
        raise Refused(page("settings/forbidden.html", 403, email=admin.user.email, expired=True))
    return form


async def in_transaction(request: Request, work: Callable[[Connection], T]) -> T:
    """Run account code in one transaction, in a worker thread: a password hash takes half a
    second of CPU, not for the event loop."""

    def run() -> T:
        with services_of(request).db.sync.begin() as conn:
            return work(conn)

    return await run_in_threadpool(run)


def error_status(errors: Mapping[str, list[str]]) -> int:
    return 404 if any(NOT_FOUND in rules for rules in errors.values()) else 422


def done(section: str, code: str) -> Response:
    """After a change: back to the section's page (a reload repeats nothing), saying what was done."""
    return RedirectResponse(f"/dashboard/settings/{section}?done={code}", status_code=303)


def context(admin: Admin, section: str, **extra: Any) -> dict[str, Any]:
    return {
        "csrf": admin.csrf,
        "email": admin.user.email,
        "role": admin.user.role,
        "tenant": admin.tenant,
        "section": section,
        "errors": {},
        "values": {},
        **extra,
    }
