"""Checking a dashboard user's email and password, for every door that does: the dashboard's
sign-in form and `POST /api/auth/token`. One throttle per app, so both doors count against the
same windows, and the password is checked outside any write transaction (`login_engine`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette

from analytics_mcp.http_api.login_throttle import LoginThrottle
from analytics_mcp.storage.accounts import User, authenticate_user
from analytics_mcp.storage.db import Database

SQLITE_BUSY_S = 10.0


@dataclass(frozen=True, slots=True)
class SignIn:
    throttle: LoginThrottle
    engines: dict[str, Engine] = field(default_factory=dict)


def sign_in_state(app: Starlette) -> SignIn:
    # One per app: the in-memory throttle holds asyncio locks bound to the serving loop.
    state: SignIn | None = getattr(app.state, "sign_in", None)
    if state is None:
        state = app.state.sign_in = SignIn(LoginThrottle(app.state.services.settings.rate_limit_storage))
    return state


def login_engine(state: SignIn, db: Database) -> Engine:
    """Where passwords are checked. Our SQLite write engine takes the write lock at BEGIN, and an
    argon2 check takes half a second: holding the lock that long per sign-in attempt would stall
    ingestion. A plain pysqlite engine reads without it (a rare rehash locks only for its UPDATE)."""
    if not db.is_sqlite:
        return db.sync
    engine = state.engines.get(db.url)
    if engine is None:
        engine = create_engine(db.sync.url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_S})
        state.engines[db.url] = engine
    return engine


def check_password(app: Starlette, db: Database, email: str, password: str) -> User | None:
    """The user with these credentials, else None. Blocking (argon2): run it in a worker thread."""
    with login_engine(sign_in_state(app), db).connect() as conn:
        user = authenticate_user(conn, email, password)
        conn.commit()  # a password rehash, if argon2's parameters changed
    return user
