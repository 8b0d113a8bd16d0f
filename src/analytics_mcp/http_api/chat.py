"""`POST /api/v1/chat`: ask the AI chat; the answer streams back as Server-Sent Events (see
`chat.sse` for the events). `GET /api/v1/chat/status`: whether the chat is available to the
caller, and this month's AI credits.

Everything that can refuse the request is checked before the stream starts, so it is an ordinary
JSON error: body (422), authentication and scope (401/403, by the framework), plan below pro
(403), chat not configured (503), site or conversation not the caller's (404, as if it did not
exist), AI credits used up (429). After that, failures are an `error` event.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Connection
from starlette.responses import Response

from analytics_mcp import engine
from analytics_mcp.chat import Actor, ChatDeps, ChatJob, Limits, run_chat
from analytics_mcp.chat.sse import EventStreamResponse
from analytics_mcp.chat.store import conversation_exists, create_conversation, new_id
from analytics_mcp.chat.usage import Credits, credits, open_request
from analytics_mcp.http_api.errors import CREDITS_EXHAUSTED, PLAN_REQUIRED, ApiError
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.storage.account_rules import FEATURE_PLANS, plan_allows
from analytics_mcp.storage.accounts import Tenant

TAGS = ("chat",)
routes = RouteTable()
MAX_MESSAGE = 4000
NOT_CONFIGURED = (
    "The AI chat is not configured on this server. To enable it, set ANTHROPIC_API_KEY (and "
    "optionally ANTHROPIC_MODEL and ANTHROPIC_BASE_URL) in the server's environment and restart it."
)
Json = dict[str, Any]


def _obj(**properties: Json) -> Json:
    return {"type": "object", "required": list(properties), "properties": properties}


_STRING, _INT, _ANY_OBJECT = {"type": "string"}, {"type": "integer", "minimum": 0}, {"type": "object"}
# The data of each event of `chat.sse`, as JSON.
EVENT_DATA: dict[str, Json] = {
    "conversation": _obj(conversation_id=_STRING),
    "text": _obj(delta=_STRING),
    "tool_call": _obj(id=_STRING, name=_STRING, arguments=_ANY_OBJECT),
    "tool_result": _obj(
        id=_STRING, name=_STRING, is_error={"type": "boolean"}, data={"type": ["object", "null"]}
    ),
    "done": _obj(usage=_obj(input_tokens=_INT, output_tokens=_INT), tool_calls=_INT),
    "error": _obj(message=_STRING),
}
SSE_EVENT: Json = {
    "description": "One Server-Sent Event: its name, and its data as one line of JSON.",
    "oneOf": [
        _obj(
            event={"const": name},
            data={"type": "string", "contentMediaType": "application/json", "contentSchema": data},
        )
        for name, data in EVENT_DATA.items()
    ],
}
SSE_CONTENT = {
    "text/event-stream": {
        "schema": SSE_EVENT,
        "description": "A stream of events (the schema is one event's): conversation first, then "
        "text, tool_call and tool_result, then done or, instead, error.",
    }
}


class ChatBody(BaseModel):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE, description="The question")
    conversation_id: str | None = Field(
        None, min_length=1, max_length=26, description="Continue this conversation (null: a new one)"
    )
    site: str | None = Field(None, max_length=253, description="One of your sites' domains (default: all)")

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class CreditsData(BaseModel):
    used: int
    limit: int = Field(description="-1 means unlimited")
    renews_on: str = Field(description="First day of the next billing period (UTC)")


class ChatStatus(BaseModel):
    enabled: bool = Field(description="The caller can use the chat now")
    reason: str | None = Field(description="Why not, when enabled is false")
    model: str | None
    credits: CreditsData


def actor_of(ctx: ApiContext) -> Actor:
    """The caller: the signed-in dashboard user (the session principal sets
    `request.state.dashboard_user`; its token id is synthetic, never stored) or the API token."""
    user = getattr(ctx.request.state, "dashboard_user", None)
    if user is not None:
        return Actor(ctx.tenant, user_id=user.id)
    return Actor(ctx.tenant, token_id=ctx.token.id)


def plan_error(tenant: Tenant) -> ApiError | None:
    if plan_allows(tenant.plan, "chat"):
        return None
    lowest = FEATURE_PLANS["chat"]
    message = f"The AI chat needs the {lowest} plan or above; this account is on the {tenant.plan} plan."
    return ApiError(403, message, code=PLAN_REQUIRED)


def credits_error(state: Credits) -> ApiError:
    renews = datetime.combine(state.renews, time(), tzinfo=UTC)
    wait = max(1, int((renews - datetime.now(UTC)).total_seconds()))
    message = (
        f"{'This month' if state.monthly else 'This billing period'}'s AI credits are used up "
        f"({state.used} of {state.limit} on the {state.plan} plan). "
        f"They renew on {state.renews.isoformat()}."
    )
    return ApiError(429, message, headers={"Retry-After": str(wait)}, code=CREDITS_EXHAUSTED)


def chat_deps(ctx: ApiContext) -> ChatDeps:
    state = ctx.request.app.state
    limits = getattr(state, "chat_limits", None) or Limits()  # tests may tighten the bounds
    return ChatDeps(ctx.services, state.mcp_server, state.model_clients, limits)


async def checked_site(ctx: ApiContext, site: str | None) -> str | None:
    """The tenant's domain named by `site` (another tenant's is "site: not found", a 404)."""
    if site is None:
        return None
    query = await engine.query_for_tenant(ctx.services.db, ctx.tenant, site=site)
    return query.sites[0].domain


def admit(conn: Connection, actor: Actor, body: ChatBody, model: str) -> tuple[str, str]:
    """(conversation id, request id), in one transaction: the conversation is the caller's, a
    credit is left, and the log row that spends it is written. The row is written first: on
    SQLite that takes the write lock, so concurrent requests cannot both spend the last credit."""
    conversation_id = body.conversation_id or new_id()
    request_id = open_request(conn, actor, model, conversation_id)
    if body.conversation_id is not None and not conversation_exists(conn, body.conversation_id, actor):
        raise ApiError(404, "Conversation not found.")
    state = credits(conn, actor, excluding=request_id)
    if state.exhausted:
        raise credits_error(state)
    if body.conversation_id is None:
        create_conversation(conn, actor, body.message, conversation_id)
    return conversation_id, request_id


@routes.route(
    "/chat",
    method="POST",
    params=ChatBody,
    content=SSE_CONTENT,
    errors=(404, 503),
    tags=TAGS,
    summary="Ask the AI chat (streamed answer)",
)
async def chat(ctx: ApiContext, body: ChatBody) -> Response:
    """Answers a question about your analytics with the MCP tools, streamed as Server-Sent Events.
    Costs one AI credit."""
    actor = actor_of(ctx)
    refusal = plan_error(actor.tenant)
    if refusal is not None:
        raise refusal
    settings = ctx.services.settings
    if not settings.anthropic_api_key:
        raise ApiError(503, NOT_CONFIGURED)
    site = await checked_site(ctx, body.site)
    model = settings.anthropic_model
    conversation_id, request_id = await ctx.db(lambda conn: admit(conn, actor, body, model))
    job = ChatJob(actor, body.message, site, conversation_id, request_id)
    deps = chat_deps(ctx)
    return EventStreamResponse(lambda emit: run_chat(deps, job, emit))


@routes.route("/chat/status", response=ChatStatus, tags=TAGS, summary="Is the AI chat available?")
async def chat_status(ctx: ApiContext) -> ChatStatus:
    """Whether the caller can use the chat (plan, server configuration, credits), and why not."""
    actor = actor_of(ctx)
    settings = ctx.services.settings
    state = await ctx.db(lambda conn: credits(conn, actor))
    refusal = plan_error(actor.tenant)
    if refusal is None and not settings.anthropic_api_key:
        refusal = ApiError(503, NOT_CONFIGURED)
    if refusal is None and state.exhausted:
        refusal = credits_error(state)
    return ChatStatus(
        enabled=refusal is None,
        reason=refusal.message if refusal else None,
        model=settings.anthropic_model if settings.anthropic_api_key else None,
        credits=CreditsData(used=state.used, limit=state.limit, renews_on=state.renews.isoformat()),
    )
