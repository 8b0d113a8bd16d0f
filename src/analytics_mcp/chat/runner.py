"""One chat request, after it was admitted (plan, credits, conversation checked; log row opened):
emit the conversation id, load and compact the history, run the tool loop, store the finished
turn, emit `done`; or end with one `error` event. The log row is closed whatever happens, even
when the client went away (shielded from cancellation).

Logging: request id, tenant, outcome, tool names, tokens and latency only. Question and answer
text never reach a logger: they live in the conversation tables.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from sqlalchemy import Connection

from analytics_mcp.chat import sse
from analytics_mcp.chat.clients import ModelClients
from analytics_mcp.chat.loop import ToolLoop
from analytics_mcp.chat.models import Actor, ChatError, ClientGone, DeadlineError, Limits, Stats
from analytics_mcp.chat.prompt import system_prompt
from analytics_mcp.chat.sse import Emit, Event
from analytics_mcp.chat.store import append_messages, compact, load_messages
from analytics_mcp.chat.toolbox import pinned_tools
from analytics_mcp.chat.usage import Outcome, close_request
from analytics_mcp.engine import tenant_sites
from analytics_mcp.services import Services

if TYPE_CHECKING:
    import anthropic

log = logging.getLogger("analytics_mcp.chat")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChatJob:
    actor: Actor
    question: str
    site: str | None  # a domain of the tenant, already checked
    conversation_id: str
    request_id: str
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class ChatDeps:
    services: Services
    server: MCPServer[Any]
    clients: ModelClients
    limits: Limits = field(default_factory=Limits)

    def llm(self) -> anthropic.AsyncAnthropic:
        return self.clients.get(self.limits)

    async def db(self, fn: Callable[[Connection], T]) -> T:
        async with self.services.db.aio.begin() as conn:
            return await conn.run_sync(fn)


async def run_chat(deps: ChatDeps, job: ChatJob, emit: Emit) -> None:
    stats = Stats()
    kind: str | None = None
    try:
        with anyio.fail_after(deps.limits.deadline_s):
            await answer(deps, job, stats, emit)
    except TimeoutError:
        kind = DeadlineError.kind
        await _last_words(emit, sse.error(DeadlineError.message))
    except ChatError as exc:
        kind = exc.kind
        await _last_words(emit, sse.error(exc.message))
    except ClientGone:
        kind = "cancelled"
    except anyio.get_cancelled_exc_class():
        kind = "cancelled"
        raise
    except Exception:
        kind = ChatError.kind
        log.exception("chat request %s failed", job.request_id)
        await _last_words(emit, sse.error(ChatError.message))
    finally:
        with anyio.CancelScope(shield=True):
            await _finish(deps, job, stats, kind)


async def answer(deps: ChatDeps, job: ChatJob, stats: Stats, emit: Emit) -> None:
    await emit(sse.conversation(job.conversation_id))
    limits, tenant = deps.limits, job.actor.tenant
    history = await deps.db(lambda conn: load_messages(conn, job.conversation_id, limits.history_messages))
    system = system_prompt(tenant, await tenant_sites(deps.services.db, tenant.id), job.site)
    model = deps.services.settings.anthropic_model
    async with pinned_tools(deps.server, job.actor, job.site, limits) as toolbox:
        loop = ToolLoop(deps.llm(), toolbox, model=model, system=system, limits=limits, stats=stats)
        turn = await loop.run(compact(history, limits), job.question, emit)
    await deps.db(lambda conn: append_messages(conn, job.conversation_id, job.request_id, turn))
    await emit(sse.done(stats.usage(), len(stats.tools)))


async def _last_words(emit: Emit, event: Event) -> None:
    with contextlib.suppress(ClientGone):
        await emit(event)


async def _finish(deps: ChatDeps, job: ChatJob, stats: Stats, kind: str | None) -> None:
    latency_ms = round((time.monotonic() - job.started) * 1000)
    status = "success" if kind is None else "error"
    outcome = Outcome(status, kind, job.conversation_id, stats, latency_ms)
    try:
        await deps.db(lambda conn: close_request(conn, job.request_id, outcome))
    except Exception:
        log.exception("chat request %s: could not write the request log", job.request_id)
    log.info(
        "chat request %s tenant=%s status=%s%s tools=%d [%s] tokens=%d/%d latency_ms=%d",
        job.request_id,
        job.actor.tenant.slug,
        status,
        f" kind={kind}" if kind else "",
        len(stats.tools),
        ",".join(stats.tools),
        stats.input_tokens,
        stats.output_tokens,
        latency_ms,
    )
