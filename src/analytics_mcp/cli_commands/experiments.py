"""`experiments`: a site's A/B experiments (docs/ab-testing.md). `add` prints the experiment as JSON with
its variant ids: the `variant_id` values the tracking snippet sends."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from analytics_mcp.cli_commands.common import CliError, emit, emit_lines, group_parser, transaction
from analytics_mcp.config import Settings
from analytics_mcp.experiments import create_experiment, list_experiments, set_status
from analytics_mcp.storage import accounts

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers


def variant_spec(value: str) -> tuple[str, int]:
    """`slug:weight` (weight defaults to 1)."""
    slug, sep, weight = value.partition(":")
    if not sep:
        return slug.strip(), 1
    try:
        return slug.strip(), int(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: weight must be a whole number (slug:weight)") from None


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "experiments", "Add, list, stop and restart a site's A/B experiments.")
    add = group.add_parser("add", help="Add a running experiment; prints it as JSON with variant ids.")
    add.add_argument("--site", required=True, help="The site's domain.")
    add.add_argument("--slug", required=True, help="Experiment slug, unique in the tenant (hero-test).")
    add.add_argument("--name", help="Display name (default: the slug).")
    add.add_argument(
        "--variant",
        dest="variants",
        action="append",
        type=variant_spec,
        required=True,
        metavar="SLUG:WEIGHT",
        help="A variant and its relative weight, e.g. control:50; repeat (2-20). The one named "
        "control, else the first, is the control.",
    )
    add.set_defaults(func=experiments_add)
    listing = group.add_parser("list", help="List a site's experiments, one JSON object per line.")
    listing.add_argument("--site", required=True, help="The site's domain.")
    listing.set_defaults(func=experiments_list)
    for action, status in (("stop", "stopped"), ("start", "running")):
        cmd = group.add_parser(action, help=f"Set an experiment's status to {status}; prints it.")
        cmd.add_argument("--site", required=True, help="The site's domain.")
        cmd.add_argument("--slug", required=True, help="Experiment slug.")
        cmd.set_defaults(func=experiments_status, status=status)


def experiments_add(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        experiment = create_experiment(conn, args.site, args.slug, args.variants, name=args.name)
    emit(experiment.as_json())
    return 0


def _site(conn: Connection, domain: str) -> accounts.Site:
    site = accounts.get_site(conn, domain)
    if site is None:
        raise CliError("site", "not found")
    return site


def experiments_list(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        site = _site(conn, args.site)
        found = list_experiments(conn, site.tenant_id, [site.id])
    emit_lines(e.as_json() for e in found)
    return 0


def experiments_status(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        site = _site(conn, args.site)
        mine = {e.slug for e in list_experiments(conn, site.tenant_id, [site.id])}
        if args.slug not in mine:
            raise CliError("experiment", "not found")
        experiment = set_status(conn, site.tenant_id, args.slug, args.status)
    emit(experiment.as_json())
    return 0
