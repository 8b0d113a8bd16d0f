"""The ceiling for bench/ingest.py: a bare Starlette endpoint that parses the same JSON body as
POST /api/event and answers 202, storing nothing."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def event(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(b'{"status":"accepted"}', status_code=202, media_type="application/json")


app = Starlette(routes=[Route("/api/event", event, methods=["POST"])])
