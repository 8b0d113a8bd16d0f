"""Oversized and malformed bodies on every endpoint that reads one (read from the app, so a new
one is covered): streamed past any limit without a Content-Length, with a Content-Length that
lies, not JSON, JSON of the wrong type or nested 10,000 deep, under the wrong content type, with
NUL characters, and with a huge string in each field. Never a 5xx, never silence; on /api always
the one JSON error shape; and the server stays healthy. A real uvicorn on 127.0.0.1, so bodies
really stream. Run with -s for the figures (`bodies (...): N sent, 0 5xx`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_mcp.chat.models import Limits
from conftest import serving
from reliability.apps import reliability_settings
from reliability.body_cases import JSON, BodyRoute, body_routes
from reliability.raw_http import RawReply, repeated, send_raw
from reliability.scale import scale
from reliability.tenant_cases import NoCaseBuilder
from reliability.tenant_world import Tenant, make_tenant
from reliability.verdicts import Tally, error_shape_problem
from servers import refusing_url

pytestmark = pytest.mark.reliability

MIB = 1024 * 1024
CHUNK = b" " * (64 * 1024)  # JSON whitespace: a body that is only too long, nothing else
DEPTH = 10_000
RESET_TRIES = 3


@dataclass(frozen=True)
class Live:
    base: str
    app: Starlette
    caller: Tenant
    routes: list[BodyRoute]

    async def send(self, route: BodyRoute, body: bytes, **headers: str) -> RawReply:
        return await send_raw(
            self.base,
            route.method,
            route.path,
            {**route.headers, **headers},
            one(body),
            declared=str(len(body)),
        )

    async def healthy(self) -> None:
        async with httpx2.AsyncClient(base_url=self.base, timeout=10) as client:
            assert (await client.get("/api/health")).status_code == 200


async def one(body: bytes) -> AsyncIterator[bytes]:
    yield body


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    with refusing_url() as nowhere:
        async with serving(reliability_settings(tmp_path / "data", nowhere)) as (base, app):
            app.state.chat_limits = Limits(max_retries=0)  # a chat that gets through fails at once
            caller = make_tenant(app.state.services, "zqa")
            yield Live(base, app, caller, body_routes(app, caller))


def report(tally: Tally) -> None:
    print(tally.summary())
    assert not tally.problems, f"{tally.summary()}\n" + "\n".join(tally.problems)


async def streamed(live: Live, route: BodyRoute, total: int) -> tuple[RawReply, int]:
    """The answer to `total` bytes streamed without a length, and how many tries lost it: a server
    that closes a connection with input unread resets it, and the reset can overtake the 413."""
    for lost in range(RESET_TRIES):
        reply = await send_raw(live.base, route.method, route.path, route.headers, repeated(total, CHUNK))
        if reply.status is not None or reply.sent >= total:
            return reply, lost
    return reply, RESET_TRIES


async def test_a_body_streamed_past_the_limit_is_refused_while_it_is_read(live: Live) -> None:
    total = scale(fast=32 * MIB, full=512 * MIB)  # past every route's limit (the largest is 20 MB)
    tally = Tally("streamed, no length")
    resets = 0
    for route in live.routes:
        reply, lost = await streamed(live, route, total)
        resets += lost
        tally.check(route.name, route.endpoint.dialect, reply)
        if reply.status != 413:
            tally.problems.append(f"{route.name}: {reply.status}, not 413, after {reply.sent:,} bytes")
        elif reply.sent >= total:
            tally.problems.append(f"{route.name}: answered only after the whole {total:,} bytes were sent")
    await live.healthy()
    print(f"streamed bodies: {total:,} bytes offered a route, {resets} answers lost to a connection reset")
    report(tally)


async def test_a_lying_content_length_is_refused(live: Live) -> None:
    tally = Tally("lying content-length")
    for route in live.routes:
        good = route.encode(route.base)
        # Far more declared than will ever come: refused on the declaration, not by waiting.
        huge = await send_raw(
            live.base, route.method, route.path, route.headers, one(CHUNK), declared=str(10**12), timeout=10
        )
        tally.check(f"{route.name} declared 10**12", route.endpoint.dialect, huge)
        if huge.status != 413:
            tally.problems.append(f"{route.name} declared 10**12: {huge.status}, not 413")
        # Less declared than sent: the body ends early (the rest is garbage on the connection).
        short = await send_raw(
            live.base, route.method, route.path, route.headers, one(good), declared=str(len(good) // 2)
        )
        tally.check(f"{route.name} declared half", route.endpoint.dialect, short)
        for declared in ("-1", "abc", "1e3", "12, 12", " " + "9" * 30):
            odd = await send_raw(
                live.base, route.method, route.path, route.headers, one(good), declared=declared
            )
            tally.check(f"{route.name} declared {declared!r}", "page", odd)  # uvicorn may refuse it first
    await live.healthy()
    report(tally)


INVALID_JSON = (
    b'{"a": ',
    b'{"a": 1}}',
    b"\xff\xfe\x00garbage",
    b"{'single': 'quotes'}",
    b"NaN",
    b'{"a": 1} x',
)


async def test_a_body_that_is_not_json_is_refused(live: Live) -> None:
    tally = Tally("invalid JSON")
    for route in live.routes:
        for body in INVALID_JSON:
            tally.check(f"{route.name} {body!r}", route.endpoint.dialect, await live.send(route, body))
    await live.healthy()
    report(tally)


def nested(depth: int) -> list[bytes]:
    return [b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth]


async def test_json_of_the_wrong_type_or_nested_10000_deep_is_refused(live: Live) -> None:
    tally = Tally("wrong JSON type, deep nesting")
    depths = (DEPTH,) if scale(fast=0, full=1) == 0 else (DEPTH, 100_000)
    for route in live.routes:
        wrong = [v for v in ([], "a string", 42, 4.2, None, True, {}) if type(v) is not type(route.base)]
        bodies = [orjson.dumps(v) for v in wrong] + [b for depth in depths for b in nested(depth)]
        if not route.form:  # a form's fields are strings whatever they say
            first = route.fields()[0]
            bodies += [route.encode(route.with_field(first, v)) for v in ([], 42, None, {"a": [1]})]
            spoiled = route.encode(route.with_field(first, "x"))
            bodies += [spoiled.replace(b'"x"', deep) for deep in nested(DEPTH)]
        for body in bodies:
            tally.check(f"{route.name} {body[:60]!r}", route.endpoint.dialect, await live.send(route, body))
    await live.healthy()
    report(tally)


NOT_JSON = (
    ("application/x-www-form-urlencoded", b"a=1&b=2"),
    (
        "multipart/form-data; boundary=zz",
        b'--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--zz--\r\n',
    ),
    ("text/xml", b"<event><name>pageview</name></event>"),
    ("application/octet-stream", bytes(range(256))),
)


async def test_a_wrong_content_type_is_never_a_server_error(live: Live) -> None:
    """Bodies that are not JSON under their own content types are refused; a good JSON body under
    a wrong or missing content type may be taken (the tracker posts text/plain) or refused."""
    tally = Tally("wrong content types")
    for route in live.routes:
        dialect = route.endpoint.dialect
        for content_type, body in NOT_JSON if not route.form else ():
            tally.check(
                f"{route.name} {content_type}",
                dialect,
                await live.send(route, body, **{"Content-Type": content_type}),
            )
        good = route.encode(route.base)
        for content_type in ("text/plain", "application/xml", "", JSON if route.form else "text/html"):
            reply = await live.send(route, good, **{"Content-Type": content_type})
            tally.check(f"{route.name} good body as {content_type!r}", dialect, reply, may_succeed=True)
    await live.healthy()
    report(tally)


async def test_nul_characters_are_never_a_server_error(live: Live) -> None:
    """A NUL in any string may be refused (422) or stripped, never a 5xx; a raw NUL byte makes the
    body invalid JSON."""
    tally = Tally("NUL characters")
    for route in live.routes:
        dialect = route.endpoint.dialect
        for field in route.fields():
            value = route.record.get(field, "")
            spoiled = f"a\x00b{value}" if isinstance(value, str) else "\x00"
            reply = await live.send(route, route.encode(route.with_field(field, spoiled)))
            tally.check(f"{route.name} NUL in {field}", dialect, reply, may_succeed=True)
        keyed = route.encode(route.with_field("k\x00ey", "v"))
        tally.check(f"{route.name} NUL in a key", dialect, await live.send(route, keyed), may_succeed=True)
        if not route.form:
            raw = route.encode(route.base).replace(b'"', b'"\x00', 1)
            tally.check(f"{route.name} raw NUL byte", dialect, await live.send(route, raw))
    await live.healthy()
    report(tally)


async def test_a_huge_string_in_any_field_is_refused(live: Live) -> None:
    sizes = (5_000, 100_000) if scale(fast=0, full=1) == 0 else (5_000, 100_000, 1_000_000, 25_000_000)
    tally = Tally("huge strings")
    for route in live.routes:
        for field in route.fields():
            for size in sizes:
                body = route.encode(route.with_field(field, "x" * size))
                reply = await live.send(route, body)
                may_succeed = field in route.unbounded
                tally.check(
                    f"{route.name} {field}={size:,} chars",
                    route.endpoint.dialect,
                    reply,
                    may_succeed=may_succeed,
                )
    await live.healthy()
    report(tally)


async def no_content(_request: Request) -> Response:
    return Response(status_code=204)


def test_an_endpoint_added_without_a_body_template_fails_the_body_tests(app: Starlette) -> None:
    app.router.routes.append(Route("/api/v1/brand-new", no_content, methods=["PUT"]))
    with pytest.raises(NoCaseBuilder, match="PUT /api/v1/brand-new reads a body and has no template"):
        body_routes(app, Tenant("zqa", "", (1,), "", "", "", ""))


def test_the_error_shape_check_accepts_only_the_shape() -> None:
    json_type = {"content-type": "application/json"}
    assert error_shape_problem(json_type, b'{"message": "x", "code": "y", "errors": {"a": ["b"]}}') is None
    assert error_shape_problem(json_type, b'{"message": "x", "errors": {"a": ["b"]}}') is not None
    assert error_shape_problem(json_type, b'{"detail": "x"}') is not None
    assert error_shape_problem(json_type, b'{"message": "x", "code": "y", "trace": "..."}') is not None
    assert error_shape_problem({"content-type": "text/html"}, b'{"message": "x"}') is not None
