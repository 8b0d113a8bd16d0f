"""Per-app dashboard state, built on first use: the secret key and the sign-in throttle."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.requests import Request

from analytics_mcp.dashboard.throttle import LoginThrottle
from analytics_mcp.http_api.auth import app_secret
from analytics_mcp.services import Services
from analytics_mcp.storage.db import Database

SQLITE_BUSY_S = 10.0


@dataclass(frozen=True, slots=True)
class DashboardState:
    secret: str
    throttle: LoginThrottle
    login_engines: dict[str, Engine] = field(default_factory=dict)


def login_engine(state: DashboardState, db: Database) -> Engine:
    """Where passwords are checked. Our SQLite write engine takes the write lock at BEGIN, and an
    argon2 check takes half a second: holding the lock that long per sign-in attempt would stall
    ingestion. A plain pysqlite engine reads without it (a rare rehash locks only for its UPDATE)."""
    if not db.is_sqlite:
        return db.sync
    engine = state.login_engines.get(db.url)
    if engine is None:
        engine = create_engine(db.sync.url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_S})
        state.login_engines[db.url] = engine
    return engine


def dashboard_state(app: Starlette) -> DashboardState:
    # One per app: the in-memory throttle holds asyncio locks bound to the serving loop.
    state: DashboardState | None = getattr(app.state, "dashboard", None)
    if state is None:
        settings = app.state.services.settings
        state = DashboardState(app_secret(app), LoginThrottle(settings.rate_limit_storage))
        app.state.dashboard = state
    return state


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
