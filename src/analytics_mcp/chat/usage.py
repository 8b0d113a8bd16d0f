"""The chat request log (`chat_requests`) and AI credits.

One row per chat request, written before the stream starts (status `running`, so concurrent
requests count against the credits at once) and closed when it ends: success or error (with its
kind), tool calls and their names, input/output tokens, latency. Never the question or the answer.

AI credits: a chat request costs 1 credit (`CREDITS_PER_REQUEST`) whatever its tool calls and
tokens; a request that fails on our or the model provider's side (`upstream`, `internal`) is
refunded (credits 0); stopped ones (`tool_limit`, `timeout`, `cancelled`) still count. Usage is
the sum over the tenant's current billing period (its subscription's AI credits), or, without a
subscription, over the calendar month in UTC against the plan's `ai_credits` (-1 = unlimited).

Copilot analytics read it directly: per tenant and `day`, count(status = success / error).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, insert, update
from ulid import ULID

from analytics_mcp.chat.models import Actor, Stats
from analytics_mcp.storage.schema import chat_requests
from analytics_mcp.storage.subscriptions import credit_terms, credits_used
from analytics_mcp.timeutil import to_iso

CREDITS_PER_REQUEST = 1
REFUNDED = frozenset({"upstream", "internal"})
MAX_TOOLS_TEXT = 1000


@dataclass(frozen=True, slots=True)
class Credits:
    used: int
    limit: int  # -1 = unlimited
    renews: date  # first day of the next billing period (or month, without a subscription)
    plan: str  # the subscription's plan name, else the tenant's plan
    monthly: bool  # no subscription: credits renew with the calendar month

    @property
    def exhausted(self) -> bool:
        return self.limit != -1 and self.used + CREDITS_PER_REQUEST > self.limit


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # success | error
    error_kind: str | None
    conversation_id: str | None
    stats: Stats
    latency_ms: int


def utcnow() -> datetime:
    """The clock credits are counted by when no `now` is given (tests pin it to one month)."""
    return datetime.now(UTC)


def credits(
    conn: Connection, actor: Actor, *, excluding: str | None = None, now: datetime | None = None
) -> Credits:
    """The tenant's credits in the current period (storage/subscriptions.py: the subscription's
    billing period, else the calendar month); `excluding` leaves out the request being admitted."""
    today = (now or utcnow()).astimezone(UTC).date()
    terms = credit_terms(conn, actor.tenant.id, actor.tenant.plan, today)
    used = credits_used(conn, actor.tenant.id, terms.first, terms.renews, excluding)
    return Credits(used, terms.limit, terms.renews, terms.plan, terms.monthly)


def open_request(
    conn: Connection, actor: Actor, model: str, conversation_id: str | None, now: datetime | None = None
) -> str:
    moment = (now or utcnow()).astimezone(UTC)
    request_id = str(ULID())
    conn.execute(
        insert(chat_requests).values(
            id=request_id,
            tenant_id=actor.tenant.id,
            user_id=actor.user_id,
            token_id=actor.token_id,
            conversation_id=conversation_id,
            day=moment.date().isoformat(),
            status="running",
            model=model[:100],
            credits=CREDITS_PER_REQUEST,
            created_at=to_iso(moment),
        )
    )
    return request_id


def close_request(conn: Connection, request_id: str, outcome: Outcome) -> None:
    stats = outcome.stats
    conn.execute(
        update(chat_requests)
        .where(chat_requests.c.id == request_id)
        .values(
            status=outcome.status,
            error_kind=outcome.error_kind,
            conversation_id=outcome.conversation_id,
            tool_calls=len(stats.tools),
            tools=",".join(stats.tools)[:MAX_TOOLS_TEXT],
            input_tokens=stats.input_tokens,
            output_tokens=stats.output_tokens,
            latency_ms=outcome.latency_ms,
            credits=0 if outcome.error_kind in REFUNDED else CREDITS_PER_REQUEST,
        )
    )
