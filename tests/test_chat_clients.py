# ruff: noqa: F811  (the fixtures imported from chat_support are redefined as parameters)
"""The chat's Messages API clients belong to the app (chat/clients.py): one chat after another
reuses the client and its connection instead of building a client (a TLS context, ~22 ms of CPU)
and opening a connection for every question."""

from __future__ import annotations

import httpx2
from starlette.applications import Starlette

from chat_support import ask, fake, names, parse_sse, seed, services_of, settings  # noqa: F401
from fake_anthropic import FakeAnthropic, Turn


async def test_chats_of_one_app_reach_the_api_over_one_connection(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic
) -> None:
    token = seed(services_of(app))
    fake.push(Turn(text="One."), Turn(text="Two."), Turn(text="Three."))
    for _ in range(3):
        assert names(parse_sse((await ask(client, token)).text)) == ["conversation", "text", "done"]
    assert len(fake.peers) == 3 and None not in fake.peers
    assert len(set(fake.peers)) == 1, fake.peers  # one client port: one connection for all three
