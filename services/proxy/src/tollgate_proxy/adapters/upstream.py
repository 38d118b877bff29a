"""The hop to the provider: a pool of keep-alive HTTP/1.1 connections (`adapters.http1`) for the life of the process.

Our own small client rather than aiohttp's: on this 2-core box a bare
uvicorn → aiohttp → upstream passthrough spent about 365 µs of CPU per
request, the same passthrough on `adapters.http1` about 176 µs, and the
aiohttp client was the largest single cost of a proxied request. (httpx was
ruled out earlier: it collapses under concurrency as a proxy client.)

What the proxy needs and gets here: connections reused per origin (scheme,
host, port) and capped in total (`max_connections`; a caller waits for a free
one), idle ones dropped after `keepalive_timeout`, TLS with the system's
trust store for `https`, a connect timeout and a read-silence timeout, no
cookies, no redirects (a 3xx goes back to the caller as it is: the key is never
sent on to where it points), no proxy from the environment, and the egress
guard at connect time (`adapters.egress`). A POST is never sent
twice; a GET that meets a keep-alive connection the server had just closed
is retried once on a new one. Failures are UpstreamFailed (502) or
UpstreamTimedOut (504), never carrying the URL or a header.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from urllib.parse import urlsplit

from tollgate_proxy.adapters.egress import Egress
from tollgate_proxy.adapters.http1 import Connection, Response
from tollgate_proxy.domain.errors import UpstreamFailed, UpstreamTimedOut
from tollgate_servicekit.egress import Target as CheckedTarget

logger = logging.getLogger(__name__)

Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_TARGETS = 1024


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL points, parsed once."""

    origin: Origin
    host_header: str
    path: str
    """Path and query, as written on the request line."""
    checked: CheckedTarget | None = None
    """What the egress guard made of the URL; where connections go is resolved from it."""


def parse_target(url: str) -> Target:
    """The origin, Host header and request target of an `http(s)://` URL (UpstreamFailed if it is not one)."""
    parts = urlsplit(url)
    default_port = _DEFAULT_PORTS.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        port = None
        default_port = None
    if default_port is None or not parts.hostname:
        raise UpstreamFailed("the provider's base URL is not an http(s) URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(c in path for c in " \r\n\t"):
        raise UpstreamFailed("the provider's base URL is not an http(s) URL")
    host_header = parts.netloc.rpartition("@")[2]  # never forward user info
    return Target((parts.scheme, parts.hostname, port or default_port), host_header, path)


def request_head(method: str, target: Target, headers: Mapping[str, str], body: bytes | None) -> bytes:
    """The request line and headers; a header that could split the request is refused."""
    lines = [f"{method} {target.path} HTTP/1.1\r\nhost: {target.host_header}\r\n"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise UpstreamFailed("a header for the provider is malformed")
        lines.append(f"{name}: {value}\r\n")
    if body is not None:
        lines.append(f"content-length: {len(body)}\r\n")
    lines.append("\r\n")
    try:
        return "".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        raise UpstreamFailed("a header for the provider is not latin-1") from None


class Upstream:
    """Sends requests to providers; responses stream back as they arrive."""

    def __init__(
        self,
        *,
        read_timeout: float,
        connect_timeout: float,
        max_connections: int,
        keepalive_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        egress: Egress | None = None,
    ) -> None:
        """`egress` defaults to the guard with an empty allow-list: only public https providers."""
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._max = max_connections
        self._keepalive = keepalive_timeout
        self._ssl = ssl_context
        self._egress = egress if egress is not None else Egress()
        self._targets: dict[str, Target] = {}
        self._idle: dict[Origin, list[Connection]] = {}
        self._connections: set[Connection] = set()
        self._opening = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._running = False

    async def start(self) -> None:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        self._running = True

    async def close(self) -> None:
        self._running = False
        self._idle.clear()
        for conn in list(self._connections):
            conn.close()
        await asyncio.sleep(0)  # let the transports report their closing

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        """Send the request; the response's headers have arrived, its body has not."""
        if not self._running:
            raise UpstreamFailed("the proxy is shutting down")
        target = self._target(url)
        head = request_head(method, target, headers, body)
        retry = method == "GET"
        while True:
            conn, reused = await self._acquire(target)
            try:
                return await conn.exchange(head, body)
            except UpstreamFailed as exc:
                if retry and reused:
                    retry = False
                    continue
                logger.warning("upstream request failed: %s", exc.message)
                raise
            except UpstreamTimedOut:
                logger.warning("upstream request timed out")
                raise

    def _target(self, url: str) -> Target:
        target = self._targets.get(url)
        if target is None:
            checked = self._egress.check(url)  # UpstreamRefused (the URL is not cached then)
            target = replace(parse_target(url), checked=checked)
            if len(self._targets) >= _MAX_TARGETS:
                self._targets.clear()
            self._targets[url] = target
        return target

    # --- the pool ----------------------------------------------------------------

    async def _acquire(self, target: Target) -> tuple[Connection, bool]:
        """A connection to the target's origin: an idle one (reused=True) or a new one, within `max_connections`."""
        loop = asyncio.get_running_loop()
        while True:
            idle = self._idle.get(target.origin)
            now = loop.time()
            while idle:
                conn = idle.pop()  # the most recently used: the least likely to have been closed by the server
                if conn.usable and now - conn.idle_since < self._keepalive:
                    return conn, True
                conn.close()
            if len(self._connections) + self._opening < self._max:
                return await self._connect(target), False
            if not self._close_oldest_idle():
                waiter = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except asyncio.CancelledError:
                    if waiter.done() and not waiter.cancelled():
                        self._wake()  # pass on the place this caller was woken for
                    raise
                finally:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
            else:
                await asyncio.sleep(0)  # its closing frees a place

    async def _connect(self, target: Target) -> Connection:
        scheme, host, port = target.origin
        checked = target.checked
        assert checked is not None  # set by _target
        tls = self._ssl if scheme == "https" else None
        on_idle = partial(self._idle_again, target.origin)
        factory = partial(Connection, read_timeout=self._read_timeout, on_idle=on_idle, on_closed=self._gone)
        self._opening += 1
        try:
            async with asyncio.timeout(self._connect_timeout):
                addresses = await self._egress.addresses(checked)  # UpstreamRefused
                transport, conn = await _open(factory, addresses, port, tls, host)
        except TimeoutError:
            logger.warning("upstream connection timed out")
            raise UpstreamTimedOut("the provider did not answer in time") from None
        except OSError as exc:  # ssl.SSLError is an OSError
            logger.warning("upstream connection failed: %s", type(exc).__name__)
            raise UpstreamFailed(f"the provider could not be reached ({type(exc).__name__})") from None
        finally:
            self._opening -= 1
            self._wake()
        if conn.closed:
            raise UpstreamFailed("the provider could not be reached (ServerDisconnected)")
        conn.connection_made(transport)  # uvloop may only call it after create_connection has returned
        self._connections.add(conn)
        return conn

    def _idle_again(self, origin: Origin, conn: Connection) -> None:
        if not self._running:
            conn.close()
            return
        self._idle.setdefault(origin, []).append(conn)
        self._wake()

    def _gone(self, conn: Connection) -> None:
        if conn in self._connections:
            self._connections.discard(conn)
            self._wake()

    def _close_oldest_idle(self) -> bool:
        oldest: tuple[float, Origin] | None = None
        for origin, idle in self._idle.items():
            if idle and (oldest is None or idle[0].idle_since < oldest[0]):
                oldest = (idle[0].idle_since, origin)
        if oldest is None:
            return False
        self._idle[oldest[1]].pop(0).close()
        return True

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
                return


async def _open(
    factory: Callable[[], Connection], addresses: list[str], port: int, tls: ssl.SSLContext | None, host: str
) -> tuple[asyncio.BaseTransport, Connection]:
    """A connection to the first of the checked addresses that accepts one; TLS verifies `host`, the original name."""
    loop = asyncio.get_running_loop()
    failure: OSError | None = None
    for address in addresses:
        try:
            return await loop.create_connection(
                factory, address, port, ssl=tls, server_hostname=host if tls is not None else None
            )
        except OSError as exc:
            failure = exc
    raise failure or OSError("no address to connect to")
