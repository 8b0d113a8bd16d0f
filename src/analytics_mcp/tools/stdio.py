"""The same tools over stdio, for Claude Desktop and other local clients (`analytics-mcp mcp`).

The credential is `ANALYTICS_TOKEN` (an API token with the read scope), verified once at startup;
every call then acts for that token's tenant, re-checks, read-only, that the token was not
revoked, and counts against the token's rate limit (`tools.gate`). stdout carries nothing but
JSON-RPC: setup runs with stdout redirected to stderr, and logging goes to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn

import anyio
from mcp.server.mcpserver import MCPServer

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Token, verify_token
from analytics_mcp.tools.access import READ_SCOPE, acting_for
from analytics_mcp.tools.http import token_scopes
from analytics_mcp.tools.server import build_mcp_server

TOKEN_ENV = "ANALYTICS_TOKEN"
EXIT_USAGE = 2
HOW_TO = "create one with: analytics-mcp tokens create --tenant <slug>"


def fail(message: str) -> NoReturn:
    print(f"analytics-mcp mcp: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def check_token(services: Services, plaintext: str) -> Token:
    """The live token with the read scope; exits with status 2 otherwise."""
    with services.db.sync.begin() as conn:  # verify_token may touch last_used_at
        token = verify_token(conn, plaintext)
    if token is None:
        fail(f"{TOKEN_ENV} is not a valid API token (unknown or revoked); {HOW_TO}")
    if READ_SCOPE not in token_scopes(token):
        fail(f"the API token in {TOKEN_ENV} lacks the '{READ_SCOPE}' scope; {HOW_TO}")
    return token


def logs_to_stderr() -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


async def serve(server: MCPServer[Services], services: Services, token: Token) -> None:
    try:
        with acting_for(token.tenant.id, token.id):
            await server.run_stdio_async()
    finally:
        await services.db.dispose()


def run_stdio(settings: Settings) -> None:
    plaintext = os.environ.get(TOKEN_ENV, "").strip()
    if not plaintext:
        fail(f"set {TOKEN_ENV} to an API token with the '{READ_SCOPE}' scope; {HOW_TO}")
    with contextlib.redirect_stdout(sys.stderr):
        services = Services.build(settings)
        try:
            token = check_token(services, plaintext)
            server = build_mcp_server(services, standalone=True)
        except BaseException:
            services.db.sync.dispose()
            raise
    logs_to_stderr()
    anyio.run(serve, server, services, token)


if __name__ == "__main__":
    run_stdio(Settings())
