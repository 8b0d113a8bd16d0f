"""`segments`: a tenant's customer segments (docs/platform.md): add, list, archive, compute."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

from analytics_mcp.cli_commands.common import CliError, emit, emit_lines, group_parser, transaction
from analytics_mcp.config import Settings
from analytics_mcp.field_error import validation_messages
from analytics_mcp.platform.segment_rules import SegmentDefinition
from analytics_mcp.platform.segments import (
    Segment,
    archive_segment,
    create_segment,
    get_segment,
    list_segments,
)
from analytics_mcp.storage.account_core import require_tenant

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers
    from analytics_mcp.platform.compute import Computed
    from analytics_mcp.services import Services

RULES_HELP = (
    'JSON list of rules, e.g. \'[{"type": "trait", "trait": "plan", "op": "equals", "value": "pro"}, '
    '{"type": "event", "event": "signup", "min_count": 1, "days": 30}]\' (docs/platform.md)'
)


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "segments", "Customer segments: add, list, archive, compute.")
    add = group.add_parser("add", help="Add a segment; prints it as JSON.")
    add.add_argument("--tenant", required=True, help="The tenant's slug.")
    add.add_argument("--name", required=True, help="Display name, unique among active segments.")
    add.add_argument("--match", choices=("all", "any"), default="all", help="Every rule, or at least one.")
    add.add_argument("--rules", required=True, help=RULES_HELP)
    add.set_defaults(func=segments_add)
    listing = group.add_parser("list", help="List segments, one JSON object per line.")
    listing.add_argument("--tenant", required=True, help="The tenant's slug.")
    listing.add_argument("--all", action="store_true", help="Archived segments too.")
    listing.set_defaults(func=segments_list)
    archive = group.add_parser("archive", help="Archive a segment (no longer computed or reported).")
    archive.add_argument("--tenant", required=True, help="The tenant's slug.")
    archive.add_argument("--id", type=int, required=True, help="The segment's id.")
    archive.set_defaults(func=segments_archive)
    compute = group.add_parser("compute", help="Compute segments for a local day now (replaces that day).")
    compute.add_argument("--tenant", required=True, help="The tenant's slug.")
    compute.add_argument("--id", type=int, action="append", help="Only this segment (repeatable).")
    compute.add_argument("--day", type=date.fromisoformat, help="Local day YYYY-MM-DD (default: today).")
    compute.set_defaults(func=segments_compute)


def _shown(segment: Segment) -> dict[str, Any]:
    keys = ("id", "status", "member_count", "last_computed_at", "created_at", "updated_at")
    return {**segment.definition(), **{key: getattr(segment, key) for key in keys}}


def _definition(args: argparse.Namespace) -> SegmentDefinition:
    try:
        rules = orjson.loads(args.rules)
    except orjson.JSONDecodeError as exc:
        raise CliError("rules", f"not valid JSON: {exc.msg}") from None
    try:
        return SegmentDefinition.model_validate({"name": args.name, "match": args.match, "rules": rules})
    except ValidationError as exc:
        field, message = validation_messages(exc)[0]
        raise CliError(field, message) from None


def segments_add(args: argparse.Namespace, settings: Settings) -> int:
    definition = _definition(args)
    with transaction(settings) as conn:
        tenant = require_tenant(conn, args.tenant)
        emit(_shown(create_segment(conn, tenant.id, definition)))
    return 0


def segments_list(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        tenant = require_tenant(conn, args.tenant)
        emit_lines(_shown(s) for s in list_segments(conn, tenant.id, status=None if args.all else "active"))
    return 0


def segments_archive(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        tenant = require_tenant(conn, args.tenant)
        segment = get_segment(conn, tenant.id, args.id)
        if segment is None:
            raise CliError("id", "not found")
        emit(_shown(archive_segment(conn, segment)))
    return 0


def segments_compute(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the services and what they import (the writer, ClickHouse's frames, numpy)
    # cost every other command's process ~0.5 s of start-up it does not use.
    from analytics_mcp.platform.activations_sync import register_activation_sync
    from analytics_mcp.platform.schedule import tenant_today
    from analytics_mcp.services import Services

    services = Services.build(settings)
    with services.db.sync.connect() as conn:
        tenant = require_tenant(conn, args.tenant)
    day = args.day or tenant_today(tenant.timezone)
    register_activation_sync()  # the segment's connectors sync after it, as in `serve`
    done = asyncio.run(_compute(services, tenant.id, day, args.id))
    if args.id and len(done) < len(set(args.id)):
        raise CliError("id", "not an active segment of this tenant")
    emit_lines(
        {"id": c.segment_id, "name": c.name, "day": c.day.isoformat(), "member_count": c.member_count}
        for c in done
    )
    return 0


async def _compute(services: Services, tenant_id: int, day: date, ids: list[int] | None) -> list[Computed]:
    from analytics_mcp.platform.compute import compute_segments  # as above: imports the services

    try:
        return await compute_segments(services, tenant_id, day, ids)
    finally:
        for db in services.sql_databases():
            db.sync.dispose()
            await db.aio.dispose()
