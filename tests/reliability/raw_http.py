"""A deliberately primitive HTTP/1.1 client for bodies no polite client sends: streamed without a
Content-Length, or with a Content-Length that lies. It keeps sending until the server answers
(or stops listening) and reports how much it had sent by then."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

ANSWER_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RawReply:
    status: int | None  # None: the connection ended (or the timeout passed) without an answer
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    sent: int = 0  # body bytes written before the answer came or the server stopped reading


async def repeated(total: int, chunk: bytes) -> AsyncIterator[bytes]:
    """`total` bytes of `chunk` repeated (the last one cut)."""
    left = total
    while left > 0:
        yield chunk[:left]
        left -= len(chunk)


async def send_raw(
    base_url: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: AsyncIterator[bytes],
    *,
    declared: str | None = None,
    timeout: float = ANSWER_TIMEOUT_S,
) -> RawReply:
    """Send `body` chunked (declared None) or raw after `Content-Length: <declared>`, whatever its
    real size; stop sending as soon as the answer starts."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    framing = f"Content-Length: {declared}" if declared is not None else "Transfer-Encoding: chunked"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    writer.write(("\r\n".join([*lines, framing, "Connection: close"]) + "\r\n\r\n").encode("latin-1"))
    answer = asyncio.create_task(read_reply(reader))
    sent = 0
    try:
        async for chunk in body:
            if answer.done():
                break
            writer.write(chunk if declared is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
            await asyncio.sleep(0)  # let the answer be read as soon as it comes
        else:
            if declared is None:
                writer.write(b"0\r\n\r\n")
                await writer.drain()
    except (ConnectionError, OSError):
        pass  # the server stopped reading: its answer, if any, is already on its way
    try:
        status, reply_headers, reply_body = await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        status, reply_headers, reply_body = None, {}, b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return RawReply(status, reply_headers, reply_body, sent)


async def read_reply(reader: asyncio.StreamReader) -> tuple[int | None, dict[str, str], bytes]:
    """Status, headers and body of one response (Content-Length, chunked or until close)."""
    try:
        status_line = await reader.readline()
        if not status_line:
            return None, {}, b""
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            return status, headers, await reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return status, headers, await _chunked(reader)
        return status, headers, await reader.read()
    except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        return None, {}, b""


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
        parts.append(await reader.readexactly(size))
        await reader.readline()
    return b"".join(parts)
