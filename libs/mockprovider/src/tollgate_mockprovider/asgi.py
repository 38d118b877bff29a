"""The few raw-ASGI pieces the app needs: types, reading a body, sending JSON and server-sent events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_SSE = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


class BodyTooLarge(Exception):
    """The request body passed the size limit."""


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


async def read_body(receive: Receive, limit: int) -> bytes:
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    parts, size = [body], len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        part: bytes = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise BodyTooLarge
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


async def send_json(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_events(
    send: Send, receive: Receive, parts: list[bytes], delay_s: float, headers: list[tuple[bytes, bytes]]
) -> None:
    """Send SSE parts; without a delay in one write, with one the delay passes before each part but the first.

    A paced stream stops early when the client goes away (its body is read, so the next message it can
    receive is `http.disconnect`).
    """
    await send({"type": "http.response.start", "status": 200, "headers": [*_SSE, *headers]})
    if delay_s <= 0:
        await send({"type": "http.response.body", "body": b"".join(parts)})
        return
    gone = asyncio.ensure_future(receive())
    try:
        await send({"type": "http.response.body", "body": parts[0], "more_body": True})
        for part in parts[1:]:
            await asyncio.sleep(delay_s)
            if gone.done():
                return
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        gone.cancel()


async def lifespan(receive: Receive, send: Send) -> None:
    """Nothing to set up or tear down: acknowledge both phases."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
