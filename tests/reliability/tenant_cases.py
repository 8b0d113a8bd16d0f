"""What the tenant matrix sends to each endpoint: the caller's own view of it, and probes aimed at
the other tenant's resources. A declared operation gets its cases from its parameters (each one
either names a tenant resource or is neutral); every other endpoint needs a builder here, and an
endpoint without one fails the matrix with a message saying so."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette

from analytics_mcp.dashboard.security import LOGIN_COOKIE
from analytics_mcp.dashboard.state import dashboard_state
from analytics_mcp.dashboard.views import STATIC_DIR
from analytics_mcp.http_api import csrf
from analytics_mcp.storage.accounts import get_tenant
from analytics_mcp.storage.share_links import create_share_link
from factories import CHROME_WIN
from reliability.app_routes import Endpoint
from reliability.tenant_world import Tenant

# Parameters that name a tenant resource -> the kind of resource (see leak_check.NONEXISTENT).
RESOURCE_FIELDS = {
    "site": "site",
    "goal": "goal",
    "experiment": "experiment",
    "variant": "variant",
    "conversation_id": "conversation",
}
# Parameters that name nothing of a tenant's.
NEUTRAL_FIELDS = frozenset(
    {"period", "from", "to", "filters", "limit", "format", "cursor", "table", "base_url", "start_date"}
    | {"end_date", "message", "name", "status", "slug", "variants", "event"}
    | {"dimensions", "metrics", "sort", "offset"}
    | {"compare", "compare_from", "compare_to"}
    | {"match", "rules", "day"}  # segments
    | {"interval"}  # timeseries buckets
)
# Collections whose path parameter names one of their items.
PATH_COLLECTIONS = {"goals": "goal", "experiments": "experiment", "segments": "segment"}
FILLERS: dict[str, Any] = {  # values for required neutral fields
    "message": "How many visitors did we have?",
    "slug": "zqa-new-experiment",
    "variants": [{"slug": "control"}, {"slug": "other"}],
    "status": "stopped",
    "event": "Outbound Link: Click",
    "dimensions": "source,device",
    "name": "zqa body segment",
    "rules": [{"type": "trait", "trait": "plan", "op": "set"}],
}
MCP_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class NoCaseBuilder(AssertionError):
    pass


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # over the principal's


@dataclass(frozen=True)
class Probe:
    """A request about one of the other tenant's resources, built for any identifier."""

    kind: str
    build: Callable[[str], Call]
    public: bool = False  # the endpoint answers anyone about anyone's site by design
    allowed: frozenset[str] = frozenset()  # marker names a public answer may show


@dataclass
class Cases:
    own: list[Call] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    app: Starlette
    caller: Tenant
    principal: str  # "token" or "session"
    variants: tuple[Mapping[str, str], ...]  # extra parameter sets to try (RELIABILITY_SCALE)


def param_variants(wide: bool) -> tuple[Mapping[str, str], ...]:
    """The default parameters, and with `wide` other periods and an explicit date range."""
    if not wide:
        return ({},)
    today = datetime.now(UTC).date()
    dates = {"from": str(today - timedelta(days=3)), "to": str(today)}
    window = {"start_date": str(today - timedelta(days=3)), "end_date": str(today)}
    return ({}, {"period": "24h"}, {"period": "30d"}, {"period": "12m"}, dates, window)


def path_kinds(endpoint: Endpoint) -> dict[str, str]:
    """Path parameter -> the kind of resource it names, from the collection before it
    (`/goals/{goal}` names a goal, `/experiments/{slug}` an experiment)."""
    op = endpoint.operation
    assert op is not None
    segments = op.path.strip("/").split("/")
    kinds = {}
    for before, segment in itertools.pairwise(segments):
        name = segment.strip("{}")
        if name in op.path_params:
            if before not in PATH_COLLECTIONS:
                raise NoCaseBuilder(
                    f"{endpoint.key}: path parameter {{{name}}} after /{before}/ is unknown to the tenant "
                    "matrix: add /{before}/ to PATH_COLLECTIONS in tests/reliability/tenant_cases.py"
                )
            kinds[name] = PATH_COLLECTIONS[before]
    return kinds


@dataclass(frozen=True)
class Operation:
    """A declared operation's parameters, sorted into the resources they name and the rest."""

    endpoint: Endpoint
    fields: Mapping[str, bool]  # wire name -> required (path parameters not included)
    kinds: Mapping[str, str]  # parameter (path or not) naming a resource -> its kind
    in_path: frozenset[str]

    @classmethod
    def of(cls, endpoint: Endpoint) -> Operation:
        op = endpoint.operation
        assert op is not None
        if op.params is None and endpoint.takes_body:
            raise NoCaseBuilder(
                f"{endpoint.key} reads a body without a params model: add a builder to BUILDERS"
            )
        in_path = path_kinds(endpoint)
        declared = op.params.model_fields if op.params is not None else {}
        fields = {f.alias or n: f.is_required() for n, f in declared.items() if (f.alias or n) not in in_path}
        unknown = set(fields) - RESOURCE_FIELDS.keys() - NEUTRAL_FIELDS
        if unknown:
            raise NoCaseBuilder(
                f"{endpoint.key}: parameters {sorted(unknown)} are unknown to the tenant matrix: add each "
                "to RESOURCE_FIELDS (names a tenant's resource) or NEUTRAL_FIELDS in "
                "tests/reliability/tenant_cases.py"
            )
        kinds = {**{n: RESOURCE_FIELDS[n] for n in fields if n in RESOURCE_FIELDS}, **in_path}
        return cls(endpoint, fields, kinds, frozenset(in_path))

    def required(self, caller: Tenant) -> dict[str, Any]:
        """The caller's own values for what must be sent (path parameters included)."""
        names = [*self.in_path, *(n for n, needed in self.fields.items() if needed)]
        return {n: caller.identifier(self.kinds[n]) if n in self.kinds else FILLERS[n] for n in names}

    def call(self, values: Mapping[str, Any]) -> Call:
        endpoint = self.endpoint
        path, rest = endpoint.path, dict(values)
        for name in self.in_path:
            path = path.replace("{" + name + "}", str(rest.pop(name)))
        if endpoint.takes_body:
            return Call(endpoint.method, path, json=rest)
        return Call(endpoint.method, path, query={k: str(v) for k, v in rest.items()})


def operation_cases(endpoint: Endpoint, ctx: Context) -> Cases:
    """Cases of a declared operation, from its path and parameters."""
    operation = Operation.of(endpoint)
    required = operation.required(ctx.caller)
    variants = {tuple(sorted((k, v) for k, v in x.items() if k in operation.fields)) for x in ctx.variants}
    cases = Cases()
    for extra in map(dict, sorted(variants)):
        base = {**required, **extra}
        if not endpoint.takes_body:  # reading the caller's own data is safe; writing is not needed
            cases.own.append(operation.call(base))
        for name, kind in operation.kinds.items():
            cases.probes.append(Probe(kind, lambda value, b=base, n=name: operation.call({**b, n: value})))
    return cases


# -- endpoints without a declared operation ------------------------------------------------------


def plain(endpoint: Endpoint, _ctx: Context) -> Cases:
    """No tenant resource in the request: the caller's answer is only scanned."""
    return Cases(own=[Call(endpoint.method, endpoint.path)])


def tracker(_endpoint: Endpoint, _ctx: Context) -> Cases:
    def event(domain: str) -> Call:
        body = {"name": "pageview", "url": f"https://{domain}/", "domain": domain}
        return Call("POST", "/api/event", json=body, headers={"User-Agent": CHROME_WIN})

    return Cases(probes=[Probe("site", event, public=True)])


def batch_events(_endpoint: Endpoint, ctx: Context) -> Cases:
    def events(domain: str) -> Call:
        line = {
            "name": "pageview",
            "url": f"https://{domain}/",
            "domain": domain,
            "timestamp": (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ip": "198.51.100.99",
            "user_agent": CHROME_WIN,
        }
        return Call("POST", "/api/v1/events", json=[line])

    return Cases(probes=[Probe("site", events)])


def profile_import(_endpoint: Endpoint, _ctx: Context) -> Cases:
    def profiles(domain: str) -> Call:
        return Call("POST", "/api/v1/profiles", json=[{"user_id": "zqa-customer", "domain": domain}])

    return Cases(probes=[Probe("site", profiles)])


def ab_track(_endpoint: Endpoint, _ctx: Context) -> Cases:
    def track(variant_id: str) -> Call:
        body = {
            "variant_id": int(variant_id),
            "event_type": "page_view",
            "event_data": {"path": "/"},
            "session_id": "zqa-session",
            "visitor_id": "zqa-visitor",
        }
        return Call("POST", "/api/v1/metrics/track", json=body, headers={"User-Agent": CHROME_WIN})

    return Cases(probes=[Probe("variant_id", track, public=True)])


SNIPPET_NEEDS = frozenset({"site domain", "experiment slug", "variant", "control variant"})


def ab_config(endpoint: Endpoint, ctx: Context) -> Cases:
    def by_site(domain: str) -> Call:
        return Call("GET", endpoint.path, query={"site": domain})

    def by_experiment(slug: str) -> Call:
        return Call("GET", endpoint.path, query={"site": ctx.caller.domain, "experiment": slug})

    return Cases(
        own=[by_site(ctx.caller.domain)],
        probes=[
            Probe("site", by_site, public=True, allowed=SNIPPET_NEEDS),
            Probe("experiment", by_experiment),
        ],
    )


def sign_in(_endpoint: Endpoint, ctx: Context) -> Cases:
    """A wrong password for the other tenant's owner answers as for an email nobody has."""
    if ctx.principal != "token":
        return Cases()  # a sign-in carries no credential: once is enough

    def attempt(email: str) -> Call:
        nonce, token = csrf.new_login_pair(dashboard_state(ctx.app).secret)
        form = {"email": email, "password": "not the password", "csrf": token}
        return Call("POST", "/login", form=form, headers={"Cookie": f"{LOGIN_COOKIE}={nonce}"})

    return Cases(probes=[Probe("email", attempt)])


def sign_out(endpoint: Endpoint, _ctx: Context) -> Cases:
    # Without the CSRF header: the session survives for the rest of the matrix.
    return Cases(own=[Call("POST", endpoint.path, form={}, headers={csrf.HEADER: ""})])


def static_files(endpoint: Endpoint, _ctx: Context) -> Cases:
    files = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file())
    return Cases(own=[Call("GET", endpoint.path.replace("{path}", name)) for name in files])


def mcp_endpoint(endpoint: Endpoint, _ctx: Context) -> Cases:
    # The tools themselves are probed through the MCP client (test_tenant_matrix).
    return Cases(own=[Call("POST", endpoint.path, json=MCP_LIST, headers=MCP_HEADERS)])


# OAuth (remote connectors): no request names a tenant's resource; which tenant a token reads is
# bound at consent by the signed-in user (tests/test_oauth.py). Their answers are scanned.
OAUTH_REDIRECT = "http://127.0.0.1:9/callback"


def oauth_form(fields: Mapping[str, str]) -> Callable[[Endpoint, Context], Cases]:
    def cases(endpoint: Endpoint, _ctx: Context) -> Cases:
        return Cases(own=[Call("POST", endpoint.path, form=dict(fields))])

    return cases


def oauth_register(endpoint: Endpoint, _ctx: Context) -> Cases:
    body = {"redirect_uris": [OAUTH_REDIRECT], "client_name": "zqa", "token_endpoint_auth_method": "none"}
    return Cases(own=[Call("POST", endpoint.path, json=body)])


OAUTH_BUILDERS: dict[str, Callable[[Endpoint, Context], Cases]] = {
    **{
        f"{method} {path}": plain
        for method in ("GET", "OPTIONS")
        for path in (
            "/.well-known/oauth-authorization-server",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp/analytics",
        )
    },
    **{f"OPTIONS {path}": plain for path in ("/register", "/token", "/revoke")},
    "GET /authorize": plain,
    "GET /oauth/consent": plain,
    "POST /register": oauth_register,
    "POST /authorize": oauth_form(
        {"client_id": "zqa-unknown", "response_type": "code", "redirect_uri": OAUTH_REDIRECT}
    ),
    "POST /token": oauth_form({"grant_type": "authorization_code", "code": "zqa", "client_id": "zqa"}),
    "POST /revoke": oauth_form({"token": "zqa", "client_id": "zqa"}),
    "POST /oauth/consent": oauth_form({"request": "zqa", "csrf": "zqa", "decision": "approve"}),
}


# The settings area (dashboard/settings) and share links (dashboard/share). Forms carry the
# session's CSRF token (a token principal is sent to sign in). Own calls break a rule or name
# nothing, so they change nothing the rest of the matrix reads; probes name B's site or goal.
SETTINGS = "/dashboard/settings"
SETTINGS_SECTIONS = ("sites", "goals", "tokens", "users", "sharing")
NO_ROW = "01KXXXXXXXXXXXXXXXXXXXXXXX"


def settings_form(fields: Mapping[str, str]) -> Callable[[Endpoint, Context], Cases]:
    def cases(endpoint: Endpoint, ctx: Context) -> Cases:
        form = {"csrf": ctx.caller.session_csrf, **fields}
        return Cases(own=[Call("POST", endpoint.path, form=form)])

    return cases


def settings_probe(kind: str, fields: Mapping[str, str]) -> Callable[[Endpoint, Context], Cases]:
    """A form naming B's `kind` (site, goal) in its field of that name."""

    def cases(endpoint: Endpoint, ctx: Context) -> Cases:
        def build(value: str) -> Call:
            return Call("POST", endpoint.path, form={"csrf": ctx.caller.session_csrf, **fields, kind: value})

        return Cases(probes=[Probe(kind, build)])

    return cases


def share_link(ctx: Context) -> str:
    """A share link of the caller's site (made once per builder call), for the share routes."""
    services = ctx.app.state.services
    secret = "x" * 43  # no such link, when the caller is not stored (a unit test's)
    with services.db.sync.begin() as conn:
        tenant = get_tenant(conn, ctx.caller.slug)
        if tenant is not None:
            _link, secret = create_share_link(conn, tenant.id, ctx.caller.domain, "zqa matrix")
    return f"/share/{secret}"


def share_reads(_endpoint: Endpoint, ctx: Context) -> Cases:
    """The link reads its own site whatever `site` says: B's domain answers as a missing one."""
    base = share_link(ctx)

    def by_site(domain: str) -> Call:
        return Call("GET", f"{base}/api/v1/stats/pages", query={"site": domain})

    own = [Call("GET", f"{base}/api/v1/stats/overview"), Call("GET", f"{base}/dashboard/api/goals")]
    return Cases(own=own, probes=[Probe("site", by_site)])


def share_page(_endpoint: Endpoint, ctx: Context) -> Cases:
    return Cases(own=[Call("GET", share_link(ctx)), Call("GET", "/share/" + "x" * 43)])


def share_unlock(_endpoint: Endpoint, ctx: Context) -> Cases:
    return Cases(own=[Call("POST", share_link(ctx), form={"password": "zqa wrong", "csrf": "zqa"})])


SETTINGS_BUILDERS: dict[str, Callable[[Endpoint, Context], Cases]] = {
    f"GET {SETTINGS}": plain,
    **{f"GET {SETTINGS}/{section}": plain for section in SETTINGS_SECTIONS},
    f"POST {SETTINGS}/sites": settings_form({"domain": "not a domain"}),
    f"POST {SETTINGS}/goals": settings_probe("site", {"name": "zqa probe", "kind": "path", "path": "/x"}),
    f"POST {SETTINGS}/goals/archive": settings_probe("goal", {"active": "1"}),
    f"POST {SETTINGS}/tokens": settings_form({"name": "zqa probe"}),  # no scope: refused
    f"POST {SETTINGS}/tokens/revoke": settings_form({"token": NO_ROW}),
    f"POST {SETTINGS}/users": settings_form({"email": "zqa@zqa-site.test", "password": "short"}),
    f"POST {SETTINGS}/users/role": settings_form({"user": "999999", "role": "viewer"}),
    f"POST {SETTINGS}/users/remove": settings_form({"user": "999999"}),
    f"POST {SETTINGS}/users/reports": settings_form({"user": "999999", "weekly": "1"}),
    f"POST {SETTINGS}/sharing": settings_probe("site", {"label": "zqa probe"}),
    f"POST {SETTINGS}/sharing/revoke": settings_form({"share": NO_ROW}),
    "GET /dashboard/account": plain,
    "POST /dashboard/account": settings_form({"weekly": "0"}),  # the caller's own opt-out
    "GET /share/{secret}": share_page,
    "POST /share/{secret}": share_unlock,
    "GET /share/{secret}/{rest:path}": share_reads,
}


def auth_token(endpoint: Endpoint, ctx: Context) -> Cases:
    """A JWT for a wrong password: refused (401) whoever's email it names."""
    body = {"email": ctx.caller.identifier("email"), "password": "zqa wrong password"}
    return Cases(own=[Call("POST", endpoint.path, json=body)])


BUILDERS: dict[str, Callable[[Endpoint, Context], Cases]] = {
    **OAUTH_BUILDERS,
    **SETTINGS_BUILDERS,
    "POST /api/event": tracker,
    "OPTIONS /api/event": plain,
    "GET /js/script.js": plain,
    "GET /js/metrics.js": plain,
    "GET /api/health": plain,
    "GET /api/v1/openapi.json": plain,
    "GET /api/analytics/openapi.json": plain,
    "POST /api/auth/token": auth_token,
    "POST /api/v1/events": batch_events,
    "POST /api/v1/profiles": profile_import,
    "POST /api/v1/metrics/track": ab_track,
    "OPTIONS /api/v1/metrics/track": plain,
    "GET /api/v1/metrics/experiment": ab_config,
    "OPTIONS /api/v1/metrics/experiment": plain,
    "* /mcp/analytics": mcp_endpoint,
    "GET /": plain,
    "GET /login": plain,
    "POST /login": sign_in,
    "POST /logout": sign_out,
    "GET /dashboard": plain,
    "GET /dashboard/static/{path}": static_files,
}


def cases_for(endpoint: Endpoint, ctx: Context) -> Cases:
    builder = BUILDERS.get(endpoint.key)
    if builder is not None:
        return builder(endpoint, ctx)
    if endpoint.operation is not None:
        return operation_cases(endpoint, ctx)
    raise NoCaseBuilder(
        f"{endpoint.key} has no tenant-matrix case builder: add one to BUILDERS in "
        "tests/reliability/tenant_cases.py (what the caller may see there, and which of another "
        "tenant's resources a request to it can name)"
    )
