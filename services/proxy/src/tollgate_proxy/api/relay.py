"""Carrying the provider's answer to the client as it arrives, and reading its usage on the way.

JSON answers pass through chunk by chunk and are parsed for `usage` once
complete. Event streams pass through chunk by chunk too; the SSE parser runs
beside them to read usage, and only when the proxy itself asked for OpenAI's
usage chunk does it re-frame the stream per event to leave that chunk out.
A client that goes away mid-stream closes the upstream response (the provider
stops generating) and the usage is estimated.
"""

from __future__ import annotations

import asyncio
import logging

from tollgate_proxy.api.asgi import Headers, Receive, Send
from tollgate_proxy.domain.dialects import Dialect, stream_error_event
from tollgate_proxy.domain.errors import ProxyError, UpstreamFailed, UpstreamTimedOut
from tollgate_proxy.domain.sse import SseParser
from tollgate_proxy.domain.usage import (
    AnthropicStreamUsage,
    OpenAIStreamUsage,
    Usage,
    estimate_tokens,
    from_anthropic_body,
    from_openai_body,
)
from tollgate_proxy.ports import UpstreamResponse

logger = logging.getLogger(__name__)

_KEPT_RESPONSE_HEADERS = frozenset(
    {"content-type", "x-request-id", "request-id", "cache-control", "openai-processing-ms"}
)


class UpstreamBroke(Exception):
    """The provider broke off a non-streamed answer after its headers were sent: the connection must be cut."""


def response_headers(
    response: UpstreamResponse, request_id: str, *, keep_length: bool, extra: Headers | None = None
) -> Headers:
    """The provider's headers worth passing on, plus our request id and `extra` (rate-limit headers)."""
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
        if name in _KEPT_RESPONSE_HEADERS
    ]
    length = response.headers.get("content-length")
    if keep_length and length is not None and "content-encoding" not in response.headers:
        headers.append((b"content-length", length.encode("latin-1")))
    headers.append((b"x-tollgate-request-id", request_id.encode()))
    if extra:
        headers += extra
    return headers


async def relay_json(
    response: UpstreamResponse,
    send: Send,
    *,
    dialect: Dialect,
    request_id: str,
    request_bytes: int,
    extra_headers: Headers | None = None,
) -> Usage:
    """Pass a non-streamed answer through; read its usage once it is complete."""
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": response_headers(response, request_id, keep_length=True, extra=extra_headers),
        }
    )
    parts: list[bytes] = []
    try:
        # Each chunk goes out when the next arrives, so the last one closes the body without an extra message.
        while (chunk := await response.next_chunk()) is not None:
            if parts:
                await send({"type": "http.response.body", "body": parts[-1], "more_body": True})
            parts.append(chunk)
    except (UpstreamFailed, UpstreamTimedOut) as exc:
        raise UpstreamBroke(exc.message) from None
    await send({"type": "http.response.body", "body": parts[-1] if parts else b"", "more_body": False})
    body = b"".join(parts)
    usage = from_anthropic_body(body) if dialect is Dialect.ANTHROPIC else from_openai_body(body)
    if usage is None:
        usage = Usage(estimate_tokens(request_bytes), estimate_tokens(len(body)), estimated=True)
    return usage


async def relay_stream(
    response: UpstreamResponse,
    receive: Receive,
    send: Send,
    *,
    dialect: Dialect,
    request_id: str,
    request_bytes: int,
    hide_usage_chunk: bool,
    extra_headers: Headers | None = None,
) -> Usage:
    """Pass an event stream through as it arrives, reading usage from it (estimated when it was cut short)."""
    tracker: OpenAIStreamUsage | AnthropicStreamUsage
    if dialect is Dialect.ANTHROPIC:
        tracker = AnthropicStreamUsage()
    else:
        tracker = OpenAIStreamUsage(hide_usage_chunk=hide_usage_chunk)
    observe = tracker.observe
    parser = SseParser()
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": response_headers(response, request_id, keep_length=False, extra=extra_headers),
        }
    )
    client_gone = asyncio.Event()
    watcher = asyncio.create_task(_watch_disconnect(receive, response, client_gone))
    failure: ProxyError | None = None
    try:
        while (chunk := await response.next_chunk()) is not None:
            if hide_usage_chunk:
                kept = b"".join([event.raw for event in parser.feed(chunk) if not observe(event)])
                if kept:
                    await send({"type": "http.response.body", "body": kept, "more_body": True})
            else:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                for event in parser.feed(chunk):
                    observe(event)
        tail = [event.raw for event in parser.close() if not observe(event)]
        if hide_usage_chunk and tail:
            await send({"type": "http.response.body", "body": b"".join(tail), "more_body": True})
    except (UpstreamFailed, UpstreamTimedOut) as exc:
        if not client_gone.is_set():
            failure = exc
    finally:
        watcher.cancel()
    if client_gone.is_set():
        logger.info("request %s: the client left mid-stream", request_id)
    else:
        if failure is not None:
            logger.warning("request %s: the provider broke off the stream (%s)", request_id, failure.message)
        last = stream_error_event(dialect, failure) if failure is not None else b""
        await send({"type": "http.response.body", "body": last, "more_body": False})
    return tracker.result(request_bytes)


async def _watch_disconnect(receive: Receive, response: UpstreamResponse, client_gone: asyncio.Event) -> None:
    # The request body has been read, so the next message can only be the client going away.
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            client_gone.set()
            response.close()  # stops the provider generating tokens nobody will read
            return
