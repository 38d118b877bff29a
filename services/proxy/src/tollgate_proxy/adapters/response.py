"""A provider's answer as the HTTP/1.1 connection (`adapters.http1`) hands it over: headers, then the body.

The connection feeds body chunks in as the socket delivers them; the reader
takes them out with `next_chunk`. When the reader falls behind by more than
`HIGH_WATER` bytes the connection stops reading the socket, and resumes once
the backlog is down to `LOW_WATER`, so a slow client slows the provider down
instead of filling memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from tollgate_proxy.domain.errors import ProxyError, UpstreamFailed


class Flow(Protocol):
    """What a response needs from the connection that feeds it."""

    paused: bool

    def resume(self) -> None: ...

    def abandon(self) -> None: ...


HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class Response:
    """A provider's answer: status and headers once they arrived, the body as it arrives."""

    __slots__ = ("_chunks", "_conn", "_done", "_error", "_size", "_waiter", "headers", "status")

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        """Lower-case names; a repeated header's values joined with `, `."""
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._done = False
        self._error: ProxyError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._conn: Flow | None = None

    async def next_chunk(self) -> bytes | None:
        """The next piece of the body, or None at its end; raises UpstreamFailed/UpstreamTimedOut if it broke."""
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._done:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunk = self._chunks.popleft()
        self._size -= len(chunk)
        conn = self._conn
        if conn is not None and conn.paused and self._size <= LOW_WATER:
            conn.resume()
        return chunk

    async def read(self, limit: int) -> bytes:
        """The body, or its first `limit` bytes (the rest is dropped with the connection)."""
        parts: list[bytes] = []
        size = 0
        while size < limit:
            chunk = await self.next_chunk()
            if chunk is None:
                break
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)[:limit]

    def close(self) -> None:
        """Stop the exchange: an unfinished body is abandoned with its connection, a reader waiting on it ends."""
        conn = self._conn
        if conn is not None:
            self._conn = None
            conn.abandon()
        if not self._done:
            self._fail(UpstreamFailed("the answer was abandoned"))

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # --- fed by the connection ------------------------------------------------

    def _feed(self, chunk: bytes) -> int:
        self._chunks.append(chunk)
        self._size += len(chunk)
        self._wake()
        return self._size

    def _finish(self) -> None:
        self._done = True
        self._conn = None
        self._wake()

    def _fail(self, error: ProxyError) -> None:
        if self._done or self._error is not None:
            return
        self._error = error
        self._conn = None
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
