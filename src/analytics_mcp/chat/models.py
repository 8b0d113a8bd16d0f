"""The chat's small shared types: who is asking, the bounds of one request, its running totals and
the errors that end it (each with a kind for the request log and a message safe to show)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analytics_mcp.storage.accounts import Tenant

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller: its tenant (from the credential, never from the model) and either the signed-in
    dashboard user or the API token. Conversations belong to this pair."""

    tenant: Tenant
    user_id: int | None = None
    token_id: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    max_tool_calls: int = 8  # per request; the model's rounds are bounded by it too
    max_tool_limit: int = 50  # rows per list the model may ask a tool for
    max_result_chars: int = 8_000  # of each tool result sent back to the model
    max_tokens: int = 2_048  # per model call
    deadline_s: float = 180.0  # the whole request, model and tools
    call_timeout_s: float = 60.0  # one model call (read timeout between stream chunks)
    max_retries: int = 1  # the SDK's own retries of a failed model call
    history_chars: int = 60_000  # previous turns sent on resume (JSON characters)
    history_messages: int = 80  # newest messages loaded from a conversation
    old_result_chars: int = 1_500  # tool results of older turns are cut to this on resume


@dataclass(slots=True)
class Stats:
    """What one request used so far; logged even when the request fails half-way."""

    input_tokens: int = 0
    output_tokens: int = 0
    tools: list[str] = field(default_factory=list)

    def add_usage(self, usage: Any) -> None:
        # Cached input counts as input: the credit and cost reports want the whole prompt.
        self.input_tokens += (
            (usage.input_tokens or 0)
            + (getattr(usage, "cache_creation_input_tokens", None) or 0)
            + (getattr(usage, "cache_read_input_tokens", None) or 0)
        )
        self.output_tokens += usage.output_tokens or 0

    def usage(self) -> Json:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


class ChatError(Exception):
    """Ends a chat request with an `error` event; `kind` goes to the request log."""

    kind = "internal"
    message = "Something went wrong while answering. Please try again."

    def __init__(self, message: str | None = None) -> None:
        if message:
            self.message = message
        super().__init__(self.message)


class UpstreamError(ChatError):
    kind = "upstream"
    message = "The AI service is not available right now. Please try again in a moment."


class ToolLimitError(ChatError):
    kind = "tool_limit"


class DeadlineError(ChatError):
    kind = "timeout"
    message = "The answer took too long and was stopped. Try a simpler question."


class ClientGone(Exception):
    """The browser closed the stream: stop working on the answer."""
