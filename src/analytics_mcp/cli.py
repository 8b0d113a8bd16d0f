"""The `analytics-mcp` command line. Output is machine-usable (JSON lines or a single value);
a failure is one line on stderr, `error: <field>: <rule>`, with exit status 2 for bad input
and 1 for anything else - never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pydantic import ValidationError

from analytics_mcp.cli_commands import accounts as account_commands
from analytics_mcp.cli_commands import activations as activation_commands
from analytics_mcp.cli_commands import clickhouse as clickhouse_commands
from analytics_mcp.cli_commands import database as database_commands
from analytics_mcp.cli_commands import events as event_commands
from analytics_mcp.cli_commands import experiments as experiment_commands
from analytics_mcp.cli_commands import goals as goal_commands
from analytics_mcp.cli_commands import plans as plan_commands
from analytics_mcp.cli_commands import reports as report_commands
from analytics_mcp.cli_commands import rollups as rollup_commands
from analytics_mcp.cli_commands import runtime as runtime_commands
from analytics_mcp.cli_commands import segments as segment_commands
from analytics_mcp.cli_commands import spool as spool_commands
from analytics_mcp.cli_commands.common import EXIT_USAGE, CliError, Parser
from analytics_mcp.config import Settings
from analytics_mcp.storage.accounts import AccountError
from analytics_mcp.storage.subscriptions import LimitReached

EXIT_FAILURE = 1


def build_parser() -> Parser:
    parser = Parser(
        prog="analytics-mcp",
        description="Self-hosted, privacy-friendly web analytics. Settings come from ANALYTICS_* "
        "environment variables (ANALYTICS_DB_URL selects the database).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    runtime_commands.register(sub)
    account_commands.register(sub)
    goal_commands.register(sub)
    report_commands.register(sub)
    experiment_commands.register(sub)
    rollup_commands.register(sub)
    spool_commands.register(sub)
    database_commands.register(sub)
    event_commands.register(sub)
    clickhouse_commands.register(sub)
    segment_commands.register(sub)
    plan_commands.register(sub)
    activation_commands.register(sub)
    return parser


def _fail(message: str, code: int) -> int:
    first_line = (message.strip().splitlines() or ["unexpected failure"])[0]
    print(f"error: {first_line}", file=sys.stderr, flush=True)
    return code


def _settings_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in err["loc"]) or "settings"
    return f"ANALYTICS_{field.upper()}: {err['msg']}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error, already reported on stderr
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return int(args.func(args, Settings()))
    except (AccountError, CliError, LimitReached) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except ValidationError as exc:
        return _fail(_settings_error(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:  # the one place that turns any failure into one line
        return _fail(f"{type(exc).__name__}: {exc}", EXIT_FAILURE)


if __name__ == "__main__":
    sys.exit(main())
