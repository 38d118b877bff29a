"""One keep-alive HTTP/1.1 connection to a provider on an asyncio protocol, feeding its `Response`.

Responses are parsed by httptools (llhttp, the parser uvicorn uses for the
proxy's own side), which also undoes chunked transfer coding. The body is
handed over chunk by chunk as it arrives (`adapters.response`, with its
back-pressure on the socket).

A connection carries one exchange at a time. It goes back to its pool as soon
as the response is complete and the server keeps it alive (the body already
read from the socket stays with the response); any other ending closes it.
`read_timeout` bounds the provider's silence: before the status line and
between two reads of the body (not while the socket is paused for a slow
reader). Failures surface as UpstreamFailed (502) or UpstreamTimedOut (504),
and their messages never carry the URL or a header.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import httptools

from tollgate_proxy.adapters.response import HIGH_WATER, LOW_WATER, Response
from tollgate_proxy.domain.errors import ProxyError, UpstreamFailed, UpstreamTimedOut

__all__ = ["HIGH_WATER", "LOW_WATER", "Connection", "Response"]


class Connection(asyncio.Protocol):
    """One socket to one provider origin; `exchange` sends a request and returns once its headers arrived."""

    def __init__(
        self,
        *,
        read_timeout: float,
        on_idle: Callable[[Connection], None],
        on_closed: Callable[[Connection], None],
    ) -> None:
        self._read_timeout = read_timeout
        self._on_idle = on_idle
        self._on_closed = on_closed
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._response: Response | None = None
        self._headers_arrived: asyncio.Future[None] | None = None
        self._header_names: list[str] = []
        self._header_values: list[str] = []
        self._until_close = False
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.paused = False
        self.closed = False
        self.idle_since = 0.0

    # --- asyncio.Protocol -----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Idempotent: the pool calls it too, since uvloop may call it late."""
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        if self._response is None:
            self._close()  # nothing was asked: a server speaking out of turn is not to be trusted with the next one
            return
        self._last_read = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamFailed(f"the provider sent a malformed answer ({type(exc).__name__})"))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        was_closed = self.closed
        self.closed = True
        self._cancel_timer()
        response = self._response
        if response is not None:
            self._response = None
            if self._until_close and self._headers_arrived is None and exc is None:
                response._finish()  # a body without a length ends with the connection
            else:
                reason = type(exc).__name__ if exc is not None else "ServerDisconnected"
                self._fail_response(response, UpstreamFailed(f"the provider could not be reached ({reason})"))
        if not was_closed:
            self._on_closed(self)

    def pause_writing(self) -> None:
        pass  # request bodies are bounded (max_body_bytes) and already in memory

    def resume_writing(self) -> None:
        pass

    # --- one exchange ---------------------------------------------------------

    async def exchange(self, head: bytes, body: bytes | None) -> Response:
        """Write the request; return its response once the status line and headers are in."""
        transport = self._transport
        if transport is None or self.closed:
            raise UpstreamFailed("the provider could not be reached (ServerDisconnected)")
        response = Response()
        response._conn = self
        self._response = response
        self._header_names.clear()
        self._header_values.clear()
        self._until_close = False
        arrived = self._headers_arrived = self._loop.create_future()
        self._last_read = self._loop.time()
        self._timer = self._loop.call_at(self._last_read + self._read_timeout, self._check_silence)
        transport.write(head + body if body else head)
        try:
            await arrived
        except BaseException:
            response.close()
            raise
        return response

    def resume(self) -> None:
        self.paused = False
        if self._transport is not None and not self.closed:
            self._transport.resume_reading()

    def abandon(self) -> None:
        """The response's reader gave up mid-answer: this connection cannot carry another exchange."""
        self._response = None
        self._close()

    def close(self) -> None:
        self._close()

    @property
    def usable(self) -> bool:
        """Open, not closing, and carrying no exchange."""
        transport = self._transport
        return not self.closed and self._response is None and transport is not None and not transport.is_closing()

    # --- httptools callbacks --------------------------------------------------

    def on_message_begin(self) -> None:
        if self._response is None:
            self._close()  # more than was asked for: do not reuse what follows
            return
        self._header_names.clear()
        self._header_values.clear()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_names.append(name.decode("latin-1").lower())
        self._header_values.append(value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        response = self._response
        status = self._parser.get_status_code()
        if response is None or 100 <= status < 200:
            return  # an interim answer (100 Continue, 103 Early Hints): the real one follows
        headers: dict[str, str] = {}
        for name, value in zip(self._header_names, self._header_values, strict=True):
            held = headers.get(name)
            headers[name] = value if held is None else f"{held}, {value}"
        response.status = status
        response.headers = headers
        self._until_close = (
            "content-length" not in headers and "transfer-encoding" not in headers and status not in (204, 304)
        )
        arrived = self._headers_arrived
        self._headers_arrived = None
        if arrived is not None and not arrived.done():
            arrived.set_result(None)

    def on_body(self, body: bytes) -> None:
        response = self._response
        if response is not None and response._feed(body) > HIGH_WATER and not self.paused:
            self.paused = True
            assert self._transport is not None
            self._transport.pause_reading()

    def on_message_complete(self) -> None:
        response = self._response
        if response is None or self._headers_arrived is not None:
            return  # the end of an interim answer
        self._response = None
        self._cancel_timer()
        keep = self._parser.should_keep_alive()
        response._finish()
        if self.paused:
            self.resume()
        if keep and not self.closed:
            self.idle_since = self._loop.time()
            self._on_idle(self)
        else:
            self._close()

    # --- failures ---------------------------------------------------------------

    def _check_silence(self) -> None:
        self._timer = None
        if self._response is None or self.closed:
            return
        now = self._loop.time()
        if self.paused:
            self._last_read = now  # the reader is behind, not the provider
        elif now - self._last_read >= self._read_timeout:
            self._fail(UpstreamTimedOut("the provider did not answer in time"))
            return
        self._timer = self._loop.call_at(self._last_read + self._read_timeout, self._check_silence)

    def _fail(self, error: ProxyError) -> None:
        response = self._response
        self._response = None
        if response is not None:
            self._fail_response(response, error)
        self._close()

    def _fail_response(self, response: Response, error: ProxyError) -> None:
        arrived = self._headers_arrived
        self._headers_arrived = None
        if arrived is not None and not arrived.done():
            arrived.set_exception(error)
        response._fail(error)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _close(self) -> None:
        self._cancel_timer()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def __repr__(self) -> str:
        return f"<Connection closed={self.closed} busy={self._response is not None}>"
