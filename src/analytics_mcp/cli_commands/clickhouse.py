"""`analytics-mcp clickhouse schema --cluster NAME`: the cluster variant of the ClickHouse schema,
printed for an operator to apply (storage/clickhouse/cluster.py, docs/deploy.md section 4)."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from analytics_mcp.cli_commands.common import group_parser
from analytics_mcp.config import Settings
from analytics_mcp.storage.clickhouse.client import DEFAULT_DATABASE
from analytics_mcp.storage.clickhouse.cluster import cluster_schema

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _identifier(value: str) -> str:
    if not _NAME.match(value):
        raise argparse.ArgumentTypeError("letters, digits and _ only")
    return value


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "clickhouse", "ClickHouse: the schema for a cluster.")
    schema = group.add_parser(
        "schema",
        help="Print the cluster schema (replicated local tables and Distributed tables) to apply.",
    )
    schema.add_argument(
        "--cluster", required=True, type=_identifier, help="The cluster's name (remote_servers)."
    )
    schema.add_argument("--database", default=DEFAULT_DATABASE, type=_identifier, help="Database name.")
    schema.set_defaults(func=clickhouse_schema)


def clickhouse_schema(args: argparse.Namespace, _settings: Settings) -> int:
    for statement in cluster_schema(args.cluster, args.database):
        print(f"{statement};\n")
    return 0
