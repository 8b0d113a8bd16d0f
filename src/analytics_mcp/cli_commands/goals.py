"""`goals`: conversion goals of a site (a page path or a custom event name)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING

from analytics_mcp.cli_commands.common import CliError, emit, emit_lines, group_parser, transaction
from analytics_mcp.config import Settings
from analytics_mcp.storage import accounts

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "goals", "Add and list a site's conversion goals.")
    add = group.add_parser("add", help="Add a goal; prints it as JSON.")
    add.add_argument("--site", required=True, help="The site's domain.")
    add.add_argument("--name", required=True, help="Display name of the goal.")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--path", help="A page path starting with '/' (a pageview goal).")
    target.add_argument("--event", help="A custom event name (an event goal).")
    add.add_argument(
        "--match",
        choices=("exact", "prefix", "wildcard"),
        help="How --path matches (default exact); '*' is the wildcard.",
    )
    add.set_defaults(func=goals_add)
    listing = group.add_parser("list", help="List a site's goals, one JSON object per line.")
    listing.add_argument("--site", required=True, help="The site's domain.")
    listing.set_defaults(func=goals_list)


def goals_add(args: argparse.Namespace, settings: Settings) -> int:
    if args.match is not None and args.event is not None:
        raise CliError("match", "only applies to --path goals")
    with transaction(settings) as conn:
        goal = accounts.add_goal(
            conn, args.site, args.name, path=args.path, match_type=args.match or "exact", event=args.event
        )
    emit(dataclasses.asdict(goal))
    return 0


def goals_list(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        site = accounts.get_site(conn, args.site)
        if site is None:
            raise CliError("site", "not found")
        emit_lines(dataclasses.asdict(goal) for goal in accounts.list_goals(conn, [site.id]))
    return 0
