"""Tables of the built-in OAuth authorization server (remote MCP connectors such as claude.ai).

Part of the one schema: `storage.schema` imports this module, so `metadata` always has them.
Every secret (client secret, authorization request id, code, access and refresh token) is a random
256-bit value stored only as its SHA-256, like API tokens and dashboard sessions: a copy of the
database hands out nothing. All three are accounts tables (storage/roles.py).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text

from analytics_mcp.storage.schema import metadata


def _client_id() -> Column[str]:
    """The registered client a row belongs to (removing the client removes its rows)."""
    return Column(
        "client_id",
        String(64),
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


# Clients registered through dynamic client registration (RFC 7591). `info` is the registration
# as the SDK's OAuthClientInformationFull (JSON) without the secret, which is kept only hashed.
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", String(64), nullable=True),  # null: a public client (PKCE only)
    Column("info", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# One row per authorization request: made by /authorize (request_hash: the consent page's key),
# approved on the consent page by a signed-in user (user, tenant, granted scopes, code_hash), and
# used once at /token (used_at). The code lives 60 s; an unanswered request 10 minutes.
oauth_authorizations = Table(
    "oauth_authorizations",
    metadata,
    Column("request_hash", String(64), primary_key=True),
    _client_id(),
    Column("redirect_uri", Text, nullable=False),
    Column("redirect_uri_explicit", Integer, nullable=False),  # 1: sent with the request
    Column("code_challenge", String(128), nullable=False),  # S256 only
    Column("scopes", String(100), nullable=False),  # requested; the granted ones after consent
    Column("resource", Text, nullable=False),  # RFC 8707: the MCP endpoint's URL
    Column("state", Text, nullable=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    Column("code_hash", String(64), nullable=True, unique=True),
    Column("grant_id", String(26), nullable=True),
    Column("expires_ms", BigInteger, nullable=False),
    Column("used_at", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
)

# Access and refresh tokens. A grant (one approval) owns every token issued from it, through each
# refresh: revoking one token, reusing a code or replaying a rotated refresh token revokes the grant.
oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # access | refresh
    Column("grant_id", String(26), nullable=False, index=True),
    _client_id(),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("scopes", String(100), nullable=False),
    Column("resource", Text, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("revoked_at", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
)
