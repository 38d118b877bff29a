"""The few ASGI helpers the proxy needs; raw ASGI keeps the request path free of framework layers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tollgate_proxy.domain.errors import BodyTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


class ClientGone(Exception):
    """The client disconnected before the request body was read; there is no one to answer."""


async def send_bytes(send: Send, status: int, body: bytes, headers: Headers) -> None:
    """A complete response in two messages."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(send: Send, status: int, payload: object, headers: Headers | None = None) -> None:
    """A complete JSON response."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send_bytes(send, status, body, [(b"content-type", b"application/json"), *(headers or [])])


async def read_body(receive: Receive, content_length: int | None, limit: int) -> bytes:
    """The whole request body, refused with BodyTooLarge as soon as it is known to exceed `limit`."""
    if content_length is not None and content_length > limit:
        raise BodyTooLarge(limit)
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body: bytes = message.get("body", b"")
    if len(body) > limit:
        raise BodyTooLarge(limit)
    if not message.get("more_body", False):
        return body
    parts = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)
