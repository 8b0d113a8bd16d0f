"""`activations`: connectors that sync a segment's members to an outside tool (webhook, klaviyo)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
from typing import TYPE_CHECKING, Any

from analytics_mcp.cli_commands.common import emit, emit_lines, group_parser, transaction
from analytics_mcp.config import Settings
from analytics_mcp.platform.activations import Activation, add_activation, list_activations, remove_activation
from analytics_mcp.platform.connectors import CONNECTOR_TYPES
from analytics_mcp.storage.account_core import require_tenant

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers
    from analytics_mcp.platform.activations_sync import SyncResult


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "activations", "Add, list, remove and sync segment connectors.")
    add = group.add_parser(
        "add", help="Attach a connector to a segment; prints it as JSON (the secret once)."
    )
    add.add_argument("--tenant", required=True)
    add.add_argument("--segment", required=True, type=int, help="The segment's id.")
    add.add_argument("--type", required=True, choices=CONNECTOR_TYPES)
    add.add_argument(
        "--url", help="webhook: the receiver's https URL; klaviyo: API base URL (default Klaviyo's)."
    )
    add.add_argument(
        "--secret",
        help="webhook: the signing secret (default: generated and printed once); "
        "klaviyo: the private API key.",
    )
    add.add_argument("--list-id", help="klaviyo: the list added members join.")
    add.set_defaults(func=activations_add)
    listing = group.add_parser("list", help="List the tenant's connectors, one JSON object per line.")
    listing.add_argument("--tenant", required=True)
    listing.set_defaults(func=activations_list)
    remove = group.add_parser("remove", help="Remove a connector (its logs go with it).")
    remove.add_argument("--tenant", required=True)
    remove.add_argument("--id", required=True, type=int)
    remove.set_defaults(func=activations_remove)
    sync = group.add_parser("sync", help="Sync now: one connector (--id) or a segment's (--segment).")
    sync.add_argument("--tenant", required=True)
    which = sync.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int)
    which.add_argument("--segment", type=int)
    sync.set_defaults(func=activations_sync)


def activation_json(activation: Activation) -> dict[str, Any]:
    """Everything but the secret."""
    shown = dataclasses.asdict(activation)
    shown.pop("secret")
    return shown


def activations_add(args: argparse.Namespace, settings: Settings) -> int:
    secret = args.secret or (secrets.token_urlsafe(32) if args.type == "webhook" else "")
    with transaction(settings) as conn:
        tenant = require_tenant(conn, args.tenant)
        activation = add_activation(
            conn,
            tenant.id,
            args.segment,
            args.type,
            url=args.url,
            secret=secret,
            list_id=args.list_id,
            allow_http=settings.allow_private_webhooks,
        )
    shown = activation_json(activation)
    if args.secret is None and args.type == "webhook":
        shown["secret"] = secret  # generated: shown this once
    emit(shown)
    return 0


def activations_list(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        found = list_activations(conn, require_tenant(conn, args.tenant).id)
    emit_lines(activation_json(activation) for activation in found)
    return 0


def activations_remove(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        remove_activation(conn, require_tenant(conn, args.tenant).id, args.id)
    emit({"removed": args.id})
    return 0


async def _sync(settings: Settings, tenant_id: int, args: argparse.Namespace) -> list[SyncResult]:
    # Imported here: the services and what they import (the writer, ClickHouse's frames, numpy)
    # cost every other command's process ~0.5 s of start-up it does not use.
    from analytics_mcp.platform.activations_sync import sync_activation, sync_segment
    from analytics_mcp.services import Services

    services = Services.build(settings)
    try:
        if args.id is not None:
            return [await sync_activation(services, tenant_id, args.id)]
        return await sync_segment(services, tenant_id, args.segment)
    finally:
        await services.close()


def activations_sync(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        tenant_id = require_tenant(conn, args.tenant).id
    results = asyncio.run(_sync(settings, tenant_id, args))
    emit_lines(dataclasses.asdict(result) for result in results)
    return 0 if all(result.status != "error" for result in results) else 1
