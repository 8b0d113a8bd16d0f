"""For the `split` backend (accounts in SQLite, events in PostgreSQL): every statement must name
only tables of its database's role (storage/roles.py). A statement on the wrong database would
otherwise read an empty table and answer zeros, or write rows no report ever sees."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Engine, event
from sqlalchemy.engine import make_url

from analytics_mcp.storage.roles import ACCOUNT_TABLES, EVENT_TABLES, Role

_NAMED = re.compile(r'\b(?:FROM|JOIN|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)
_ROLE_OF_TABLE = {**dict.fromkeys(ACCOUNT_TABLES, "accounts"), **dict.fromkeys(EVENT_TABLES, "events")}


class WrongDatabase(AssertionError):
    pass


def tables_named(statement: str) -> set[str]:
    return set(_NAMED.findall(statement))


def _database(url: URL) -> tuple[Any, ...]:
    """A database whatever driver names it (the product opens sync and async engines)."""
    return (url.get_backend_name(), url.host, url.port, url.database)


@contextmanager
def role_guard(urls: dict[str, Role]) -> Iterator[list[str]]:
    """Check every statement run on the databases of `urls` (URL -> its role); yields the
    violations found (also raised in the statement's caller)."""
    found: list[str] = []
    roles = {_database(make_url(url)): role for url, role in urls.items()}

    def check(conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        role = roles.get(_database(conn.engine.url))
        if role is None or "_alembic_tmp_" in statement:  # migrations build every table everywhere
            return
        wrong = sorted(t for t in tables_named(statement) if _ROLE_OF_TABLE.get(t, role) != role)
        if wrong:
            found.append(f"{wrong} on the {role} database: {statement[:200]}")
            raise WrongDatabase(found[-1])

    event.listen(Engine, "before_cursor_execute", check)
    try:
        yield found
    finally:
        event.remove(Engine, "before_cursor_execute", check)
