"""`tenants`, `sites`, `tokens` and `users`: account administration from the shell."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import sys
from typing import TYPE_CHECKING

from analytics_mcp.cli_commands.common import (
    CliError,
    emit,
    emit_lines,
    group_parser,
    site_json,
    token_json,
    transaction,
)
from analytics_mcp.config import Settings
from analytics_mcp.storage import accounts

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers

PASSWORD_ENV = "ANALYTICS_PASSWORD"


def register(sub: Subparsers) -> None:
    _register_tenants(sub)
    _register_sites(sub)
    _register_tokens(sub)
    _register_users(sub)


# -- tenants -----------------------------------------------------------------------------------


def _register_tenants(sub: Subparsers) -> None:
    group = group_parser(sub, "tenants", "Create and list tenants (accounts that own sites).")
    create = group.add_parser("create", help="Create a tenant; prints it as JSON.")
    create.add_argument("slug", help="URL-safe id: a-z, 0-9 and '-', 2-63 chars.")
    create.add_argument("--name", help="Display name (default: the slug).")
    create.add_argument("--plan", default="business", help="free|starter|pro|growth|business|enterprise.")
    create.add_argument("--timezone", default="UTC", help="IANA zone for reports, e.g. Europe/Berlin.")
    create.set_defaults(func=tenants_create)
    listing = group.add_parser("list", help="List tenants, one JSON object per line.")
    listing.set_defaults(func=tenants_list)


def tenants_create(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        tenant = accounts.create_tenant(conn, args.slug, args.name, args.plan, args.timezone)
    emit(dataclasses.asdict(tenant))
    return 0


def tenants_list(_args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        emit_lines(dataclasses.asdict(tenant) for tenant in accounts.list_tenants(conn))
    return 0


# -- sites -------------------------------------------------------------------------------------


def _register_sites(sub: Subparsers) -> None:
    group = group_parser(sub, "sites", "Add and list tracked sites.")
    add = group.add_parser("add", help="Add a site to a tenant; prints it as JSON.")
    add.add_argument("domain", help="The site's domain; a pasted URL is reduced to its host.")
    add.add_argument("--tenant", required=True, help="Slug of the owning tenant.")
    add.add_argument("--timezone", help="IANA zone for this site's reports (default: the tenant's).")
    add.add_argument("--currency", default="EUR", help="Reporting currency, ISO 4217 (default EUR).")
    add.set_defaults(func=sites_add)
    listing = group.add_parser("list", help="List sites, one JSON object per line.")
    listing.add_argument("--tenant", help="Only this tenant's sites.")
    listing.set_defaults(func=sites_list)


def sites_add(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        site = accounts.add_site(conn, args.tenant, args.domain, args.timezone, args.currency)
    emit(site_json(site, args.tenant))
    return 0


def sites_list(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        if args.tenant is None:
            tenants = accounts.list_tenants(conn)
        else:
            tenant = accounts.get_tenant(conn, args.tenant)
            if tenant is None:
                raise CliError("tenant", "not found")
            tenants = [tenant]
        for tenant in tenants:
            emit_lines(site_json(site, tenant.slug) for site in accounts.list_sites(conn, tenant.id))
    return 0


# -- tokens ------------------------------------------------------------------------------------


def _register_tokens(sub: Subparsers) -> None:
    group = group_parser(sub, "tokens", "Create, list and revoke API tokens.")
    create = group.add_parser("create", help="Create a token; prints only the token (shown once).")
    create.add_argument("--tenant", required=True, help="Slug of the tenant the token acts for.")
    create.add_argument("--name", default="default", help="A label to recognise the token by.")
    create.add_argument("--scopes", default="read", help="Comma-separated: read, ingest, admin.")
    create.set_defaults(func=tokens_create)
    listing = group.add_parser("list", help="List a tenant's tokens as JSON lines (no secrets).")
    listing.add_argument("--tenant", required=True, help="Tenant slug.")
    listing.set_defaults(func=tokens_list)
    revoke = group.add_parser("revoke", help="Revoke a token by id; prints it as JSON.")
    revoke.add_argument("token_id", help="The token's id (from `tokens list`).")
    revoke.add_argument("--tenant", help="Only if the token belongs to this tenant.")
    revoke.set_defaults(func=tokens_revoke)


def tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        _token, plaintext = accounts.create_token(conn, args.tenant, args.name, args.scopes)
    print(plaintext, flush=True)
    return 0


def tokens_list(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        emit_lines(token_json(token) for token in accounts.list_tokens(conn, args.tenant))
    return 0


def tokens_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        token = accounts.revoke_token(conn, args.token_id, args.tenant)
    emit(token_json(token))
    return 0


# -- users -------------------------------------------------------------------------------------


def _register_users(sub: Subparsers) -> None:
    group = group_parser(sub, "users", "Create dashboard users.")
    create = group.add_parser(
        "create",
        help="Create a user; prints it as JSON.",
        description=f"Create a user. The password comes from ${PASSWORD_ENV}, else a prompt.",
    )
    create.add_argument("email", help="Login email address.")
    create.add_argument("--tenant", required=True, help="Slug of the user's tenant.")
    create.add_argument("--role", default="owner", help="owner, admin or viewer (default owner).")
    create.set_defaults(func=users_create)


def read_password() -> str:
    """The password from the environment, else asked twice on the terminal."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        raise CliError("password", f"set {PASSWORD_ENV} or run in a terminal to be prompted")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise CliError("password", "the two entries do not match")
    return first


def users_create(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password()
    with transaction(settings) as conn:
        user = accounts.create_user(conn, args.email, args.tenant, password, args.role)
    emit({**dataclasses.asdict(user), "tenant": args.tenant})
    return 0
