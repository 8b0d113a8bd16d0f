"""Every endpoint of the app that reads a body, with a good request to spoil: its credentials,
content type and a valid body. A declared operation's body comes from its parameters; any other
body endpoint needs a template here, and one without fails the body tests saying so."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.applications import Starlette

from analytics_mcp.dashboard.security import LOGIN_COOKIE
from analytics_mcp.dashboard.state import dashboard_state
from analytics_mcp.http_api import csrf
from analytics_mcp.ingest.wire import BatchEvent, TrackerEvent
from analytics_mcp.storage.accounts import get_tenant
from analytics_mcp.storage.share_links import create_share_link
from factories import CHROME_WIN
from reliability.app_routes import Endpoint, endpoints
from reliability.tenant_cases import MCP_HEADERS, NoCaseBuilder, Operation
from reliability.tenant_world import PASSWORD, Tenant, ago

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class BodyRoute:
    endpoint: Endpoint
    method: str
    path: str  # path parameters filled in
    headers: Mapping[str, str]  # credentials and the right content type
    base: Any  # a valid body: a JSON value, or a form's fields
    form: bool = False
    declared: tuple[str, ...] = ()  # every field the endpoint reads (default: the base's)
    unbounded: frozenset[str] = frozenset()  # fields any length of which is valid (JSON-RPC's id)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def encode(self, body: Any) -> bytes:
        return urlencode(body).encode() if self.form else orjson.dumps(body)

    @property
    def record(self) -> dict[str, Any]:
        """The object whose fields are spoiled one by one (a batch's first event)."""
        return self.base[0] if isinstance(self.base, list) else self.base

    def fields(self) -> list[str]:
        return list(self.declared or self.record)

    def with_field(self, name: str, value: Any) -> Any:
        body = copy.deepcopy(self.base)
        (body[0] if isinstance(body, list) else body)[name] = value
        return body


def _json(endpoint: Endpoint, path: str, base: Any, **headers: str) -> BodyRoute:
    return BodyRoute(endpoint, endpoint.method, path, {"Content-Type": JSON, **headers}, base)


def full_event(caller: Tenant) -> dict[str, Any]:
    """A tracker event with every field the tracker format has set (a purchase)."""
    event = {
        "name": "purchase",
        "url": f"https://{caller.domain}/checkout",
        "domain": caller.domain,
        "referrer": "https://example.com/",
        "props": {"plan": "pro"},
        "interactive": True,
        "event_id": "e-1",
        "revenue": {"amount": 9.5, "currency": "EUR"},
        "transaction_id": "t-1",
        "items": [{"item_id": "sku-1", "item_name": "Thing", "price": 9.5}],
        "engagement_ms": 1000,
        "scroll_depth": 50,
        "language": "en",
        "hash": False,
        "user_id": "customer-1",
        "traits": {"plan": "pro"},
    }
    missing = set(TrackerEvent.model_fields) - set(event)
    assert not missing, f"add {sorted(missing)} to full_event in tests/reliability/body_cases.py"
    return event


def tracker(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
    return _json(endpoint, endpoint.path, full_event(caller), **{"User-Agent": CHROME_WIN})


def batch(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
    line = {**full_event(caller), "timestamp": ago(0.1), "ip": "198.51.100.5", "user_agent": CHROME_WIN}
    assert set(BatchEvent.model_fields) <= set(line)
    return _json(endpoint, endpoint.path, [line], Authorization=f"Bearer {caller.token}")


def profiles(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
    line = {"user_id": "customer-1", "traits": {"plan": "pro", "ltv": 10}, "domain": caller.domain}
    return _json(endpoint, endpoint.path, [line], Authorization=f"Bearer {caller.token}")


def segment_compute(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
    # `day` is optional: the generic builder would send `{}`, which no NUL or wrong type can spoil.
    operation = Operation.of(endpoint)
    call = operation.call({**operation.required(caller), "day": "2026-05-02"})
    route = _json(endpoint, call.path, call.json, Authorization=f"Bearer {caller.token}")
    return replace(route, declared=tuple(operation.fields))


def ab_track(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
    base = {
        "variant_id": caller.variant_ids[0],
        "event_type": "click",
        "event_data": {"element_id": "cta"},
        "session_id": "s-1",
        "visitor_id": "v-1",
    }
    return _json(endpoint, endpoint.path, base, **{"User-Agent": CHROME_WIN})


def mcp(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
    params = {"name": "list-sites", "arguments": {"tenant": caller.slug}}
    base = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {caller.token}"}
    return BodyRoute(endpoint, "POST", endpoint.path, headers, base, unbounded=frozenset({"id"}))


def sign_in(endpoint: Endpoint, app: Starlette, caller: Tenant) -> BodyRoute:
    nonce, token = csrf.new_login_pair(dashboard_state(app).secret)
    base = {
        "email": caller.identifier("email"),
        "password": PASSWORD + "-wrong",
        "csrf": token,
        "next": "/dashboard",
    }
    headers = {"Content-Type": FORM, "Cookie": f"{LOGIN_COOKIE}={nonce}"}
    return BodyRoute(endpoint, "POST", endpoint.path, headers, base, form=True)


def sign_out(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
    # The session's cookie without its CSRF token: the body is read, the session survives.
    headers = {"Content-Type": FORM, "Cookie": caller.session()["Cookie"]}
    return BodyRoute(endpoint, "POST", endpoint.path, headers, {"csrf": "not-the-token"}, form=True)


def auth_token(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
    # A wrong password: the body is read and checked, no token is issued.
    base = {"email": caller.identifier("email"), "password": PASSWORD + "-wrong"}
    return _json(endpoint, endpoint.path, base)


REDIRECT = "http://127.0.0.1:9/callback"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636's example S256 challenge


def _form(endpoint: Endpoint, base: dict[str, str], **headers: str) -> BodyRoute:
    return BodyRoute(endpoint, "POST", endpoint.path, {"Content-Type": FORM, **headers}, base, form=True)


def oauth_register(endpoint: Endpoint, _app: Starlette, _caller: Tenant) -> BodyRoute:
    base = {
        "redirect_uris": [REDIRECT],
        "client_name": "connector",
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    }
    return _json(endpoint, endpoint.path, base)


def oauth_authorize(endpoint: Endpoint, _app: Starlette, _caller: Tenant) -> BodyRoute:
    base = {
        "client_id": "unknown-client",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "state": "s-1",
        "scope": "read",
    }
    return _form(endpoint, base)


def oauth_token(endpoint: Endpoint, _app: Starlette, _caller: Tenant) -> BodyRoute:
    base = {
        "grant_type": "authorization_code",
        "code": "not-a-code",
        "redirect_uri": REDIRECT,
        "client_id": "unknown-client",
        "code_verifier": "v" * 43,
    }
    return _form(endpoint, base)


def oauth_revoke(endpoint: Endpoint, _app: Starlette, _caller: Tenant) -> BodyRoute:
    return _form(endpoint, {"token": "not-a-token", "client_id": "unknown-client"})


def oauth_consent(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
    # The session without its CSRF token and an unknown request: the body is read, nothing granted.
    base = {"request": "unknown-request", "csrf": "not-the-token", "decision": "approve"}
    return _form(endpoint, base, Cookie=caller.session()["Cookie"])


def settings_form(fields: dict[str, str]) -> Callable[[Endpoint, Starlette, Tenant], BodyRoute]:
    """A settings form of the owner's session with its CSRF token. The ids name no row, so no
    spoiled copy removes or revokes anything the other cases need."""

    def template(endpoint: Endpoint, _app: Starlette, caller: Tenant) -> BodyRoute:
        base = {"csrf": caller.session_csrf, **fields}
        return _form(endpoint, base, Cookie=caller.session()["Cookie"])

    return template


def share_unlock(endpoint: Endpoint, app: Starlette, caller: Tenant) -> BodyRoute:
    """The password form of a password-protected share link of the caller's site."""
    secret = "x" * 43  # no such link, when the caller is not stored (a unit test's)
    with app.state.services.db.sync.begin() as conn:
        tenant = get_tenant(conn, caller.slug)
        if tenant is not None:
            _link, secret = create_share_link(conn, tenant.id, caller.domain, "body", PASSWORD)
    nonce, token = csrf.new_login_pair(dashboard_state(app).secret)
    base = {"password": PASSWORD + "-wrong", "csrf": token}
    headers = {"Content-Type": FORM, "Cookie": f"{LOGIN_COOKIE}={nonce}"}
    return BodyRoute(endpoint, "POST", f"/share/{secret}", headers, base, form=True)


SETTINGS = "/dashboard/settings"
NO_ROW = "01KXXXXXXXXXXXXXXXXXXXXXXX"
SETTINGS_TEMPLATES: dict[str, Callable[[Endpoint, Starlette, Tenant], BodyRoute]] = {
    f"POST {SETTINGS}/sites": settings_form(
        {"domain": "zqa-body.test", "timezone": "UTC", "currency": "EUR"}
    ),
    f"POST {SETTINGS}/goals": settings_form(
        {
            "site": "zqa-site.test",
            "name": "body",
            "kind": "path",
            "path": "/b",
            "match_type": "exact",
            "event": "",
        }
    ),
    f"POST {SETTINGS}/goals/archive": settings_form({"goal": NO_ROW, "active": "0"}),
    f"POST {SETTINGS}/tokens": settings_form({"name": "body", "scopes": "read"}),
    f"POST {SETTINGS}/tokens/revoke": settings_form({"token": NO_ROW}),
    f"POST {SETTINGS}/users": settings_form(
        {"email": "body@zqa-site.test", "password": PASSWORD, "role": "viewer"}
    ),
    f"POST {SETTINGS}/users/role": settings_form({"user": "999999", "role": "viewer"}),
    f"POST {SETTINGS}/users/remove": settings_form({"user": "999999"}),
    f"POST {SETTINGS}/users/reports": settings_form({"user": "999999", "weekly": "1"}),
    f"POST {SETTINGS}/sharing": settings_form({"site": "zqa-site.test", "label": "body", "password": ""}),
    f"POST {SETTINGS}/sharing/revoke": settings_form({"share": NO_ROW}),
    "POST /dashboard/account": settings_form({"weekly": "0"}),
    "POST /share/{secret}": share_unlock,
}

TEMPLATES: dict[str, Callable[[Endpoint, Starlette, Tenant], BodyRoute]] = {
    "POST /api/event": tracker,
    "POST /api/v1/events": batch,
    "POST /api/v1/profiles": profiles,
    "POST /api/v1/segments/{segment}/compute": segment_compute,
    "POST /api/v1/metrics/track": ab_track,
    "* /mcp/analytics": mcp,
    "POST /login": sign_in,
    "POST /logout": sign_out,
    "POST /api/auth/token": auth_token,
    "POST /register": oauth_register,
    "POST /authorize": oauth_authorize,
    "POST /token": oauth_token,
    "POST /revoke": oauth_revoke,
    "POST /oauth/consent": oauth_consent,
    **SETTINGS_TEMPLATES,
}


def body_route(endpoint: Endpoint, app: Starlette, caller: Tenant) -> BodyRoute:
    template = TEMPLATES.get(endpoint.key)
    if template is not None:
        return template(endpoint, app, caller)
    if endpoint.operation is None:
        raise NoCaseBuilder(
            f"{endpoint.key} reads a body and has no template: add one to TEMPLATES in "
            "tests/reliability/body_cases.py (its credentials, content type and a valid body)"
        )
    operation = Operation.of(endpoint)
    call = operation.call(operation.required(caller))
    route = _json(endpoint, call.path, call.json, Authorization=f"Bearer {caller.token}")
    return replace(route, declared=tuple(operation.fields))


def body_routes(app: Starlette, caller: Tenant) -> list[BodyRoute]:
    """Every body-reading endpoint of `app`, or NoCaseBuilder naming the ones without a template."""
    found, missing = [], []
    for endpoint in (e for e in endpoints(app) if e.takes_body):
        try:
            found.append(body_route(endpoint, app, caller))
        except NoCaseBuilder as exc:
            missing.append(str(exc))
    if missing:
        raise NoCaseBuilder("\n".join(missing))
    return found
