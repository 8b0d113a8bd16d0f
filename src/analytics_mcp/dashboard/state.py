"""Per-app dashboard state, built on first use: the secret key and the sign-in throttle."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request

from analytics_mcp.http_api.auth import app_secret
from analytics_mcp.http_api.login_throttle import LoginThrottle
from analytics_mcp.http_api.sign_in import sign_in_state
from analytics_mcp.services import Services


@dataclass(frozen=True, slots=True)
class DashboardState:
    secret: str
    throttle: LoginThrottle  # shared with POST /api/auth/token (http_api/sign_in.py)


def dashboard_state(app: Starlette) -> DashboardState:
    # One per app: the in-memory throttle holds asyncio locks bound to the serving loop.
    state: DashboardState | None = getattr(app.state, "dashboard", None)
    if state is None:
        state = DashboardState(app_secret(app), sign_in_state(app).throttle)
        app.state.dashboard = state
    return state


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
