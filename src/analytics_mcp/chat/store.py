"""Conversations and their messages (sync, Connection first, caller owns the transaction), and the
compaction of a long conversation before it is sent back to the model.

A conversation is visible only to the principal that started it (same tenant and same user, or
same API token); anything else looks like a conversation that does not exist. Only finished turns
are stored, so a resumed conversation is always a valid message list for the Messages API.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import orjson
from sqlalchemy import ColumnElement, Connection, insert, select, update
from ulid import ULID

from analytics_mcp.chat.models import Actor, Json, Limits
from analytics_mcp.storage.schema import chat_conversations, chat_messages
from analytics_mcp.timeutil import utcnow_iso

TITLE_CHARS = 200


def _owned_by(actor: Actor) -> ColumnElement[bool]:
    table = chat_conversations.c
    owner = table.user_id == actor.user_id if actor.user_id is not None else table.user_id.is_(None)
    token = table.token_id == actor.token_id if actor.token_id is not None else table.token_id.is_(None)
    return (table.tenant_id == actor.tenant.id) & owner & token


def conversation_exists(conn: Connection, conversation_id: str, actor: Actor) -> bool:
    query = select(chat_conversations.c.id).where(
        chat_conversations.c.id == conversation_id, _owned_by(actor)
    )
    return conn.execute(query).first() is not None


def new_id() -> str:
    return str(ULID())


def create_conversation(conn: Connection, actor: Actor, question: str, conversation_id: str) -> None:
    now = utcnow_iso()
    conn.execute(
        insert(chat_conversations).values(
            id=conversation_id,
            tenant_id=actor.tenant.id,
            user_id=actor.user_id,
            token_id=actor.token_id,
            title=" ".join(question.split())[:TITLE_CHARS],
            created_at=now,
            updated_at=now,
        )
    )


def load_messages(conn: Connection, conversation_id: str, limit: int) -> list[Json]:
    """The newest `limit` messages, oldest first, as Messages API dicts."""
    table = chat_messages.c
    query = (
        select(table.role, table.content)
        .where(table.conversation_id == conversation_id)
        .order_by(table.id.desc())
        .limit(limit)
    )
    rows = list(conn.execute(query))
    return [{"role": row.role, "content": orjson.loads(row.content)} for row in reversed(rows)]


def append_messages(
    conn: Connection, conversation_id: str, request_id: str, messages: Sequence[Json]
) -> None:
    now = utcnow_iso()
    rows = [
        {
            "conversation_id": conversation_id,
            "request_id": request_id,
            "role": message["role"],
            "content": orjson.dumps(message["content"]).decode(),
            "created_at": now,
        }
        for message in messages
    ]
    if rows:
        conn.execute(insert(chat_messages), rows)
    conn.execute(
        update(chat_conversations).where(chat_conversations.c.id == conversation_id).values(updated_at=now)
    )


# -- compaction --------------------------------------------------------------------------------


def is_question(message: Json) -> bool:
    """A turn starts with the user's text (tool results are user messages too)."""
    content = message["content"]
    return message["role"] == "user" and any(block.get("type") == "text" for block in content)


def split_turns(messages: Sequence[Json]) -> list[list[Json]]:
    turns: list[list[Json]] = []
    for message in messages:
        if is_question(message):
            turns.append([message])
        elif turns:  # messages before the first question (cut off by the load limit) are dropped
            turns[-1].append(message)
    return turns


def _shrink_results(turn: list[Json], limit: int) -> list[Json]:
    shrunk = copy.deepcopy(turn)
    for message in shrunk:
        for block in message["content"]:
            content = block.get("content")
            if block.get("type") == "tool_result" and isinstance(content, str) and len(content) > limit:
                block["content"] = content[:limit] + "\n...(cut: older result)"
    return shrunk


def _size(turn: list[Json]) -> int:
    return len(orjson.dumps(turn))


def compact(messages: Sequence[Json], limits: Limits, keep_full: int = 2) -> list[Json]:
    """Whole turns, newest kept; older tool results cut; oldest turns dropped past the budget."""
    turns = split_turns(messages)
    turns = [
        turn if index >= len(turns) - keep_full else _shrink_results(turn, limits.old_result_chars)
        for index, turn in enumerate(turns)
    ]
    total = sum(_size(turn) for turn in turns)
    while len(turns) > 1 and total > limits.history_chars:
        total -= _size(turns.pop(0))
    return [message for turn in turns for message in turn]
