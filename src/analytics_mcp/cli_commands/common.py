"""What every CLI command shares: output, a migrated database, argument types, the error type."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

from sqlalchemy import Connection

from analytics_mcp.config import Settings
from analytics_mcp.storage.accounts import Site, Token
from analytics_mcp.storage.clickhouse.client import is_clickhouse_url
from analytics_mcp.storage.db import Database, distinct_databases, open_database, open_databases
from analytics_mcp.storage.migrate import upgrade

EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace, Settings], int]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) so scripts can show it verbatim.
    Subcommand parsers are of the same class (argparse builds them with the parent's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see '{self.prog} --help')\n")


if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[Parser]


class CliError(Exception):
    """Bad input caught by the CLI itself; reported like AccountError (exit 2)."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


def emit(obj: Any) -> None:
    """One JSON document on one line of stdout."""
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def emit_lines(objs: Iterable[Any]) -> None:
    for obj in objs:
        emit(obj)


def token_json(token: Token) -> dict[str, Any]:
    """A token for display: never the hash, and the tenant by slug."""
    return {
        "id": token.id,
        "tenant": token.tenant.slug,
        "name": token.name,
        "scopes": sorted(token.scopes),
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


def site_json(site: Site, tenant_slug: str) -> dict[str, Any]:
    return {
        "id": site.id,
        "tenant": tenant_slug,
        "domain": site.domain,
        "timezone": site.timezone,
        "currency": site.currency,
    }


@contextmanager
def migrated_databases(settings: Settings) -> Iterator[tuple[Database, Database]]:
    """The accounts and the events database (one object unless ANALYTICS_EVENTS_URL names
    another), migrations applied; engines disposed afterwards."""
    accounts, events = open_databases(settings.database_url, settings.events_database_url)
    try:
        for db in distinct_databases(accounts, events):
            upgrade(db.sync)
        yield accounts, events
    finally:
        for db in distinct_databases(accounts, events):
            db.sync.dispose()


@contextmanager
def migrated(settings: Settings) -> Iterator[Database]:
    """The accounts database (storage/roles.py), both databases migrated. With the events in
    ClickHouse only the accounts database (`migrate` and `serve` upgrade ClickHouse's schema)."""
    if is_clickhouse_url(settings.events_database_url):
        accounts = open_database(settings.database_url)
        try:
            upgrade(accounts.sync)
            yield accounts
        finally:
            accounts.sync.dispose()
        return
    with migrated_databases(settings) as (accounts, _events):
        yield accounts


@contextmanager
def transaction(settings: Settings) -> Iterator[Connection]:
    """One transaction on the migrated database: committed on success, rolled back on error."""
    with migrated(settings) as db, db.sync.begin() as conn:
        yield conn


def port_number(value: str) -> int:
    return _bounded_int(value, 1, 65535)


def day_count(value: str) -> int:
    return _bounded_int(value, 1, 3650)


def _bounded_int(value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
    return number


def group_parser(sub: Subparsers, name: str, help_text: str) -> Subparsers:
    """A command group (`tenants`, `sites`, ...) whose action subcommand is required."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")
